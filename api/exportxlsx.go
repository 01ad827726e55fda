package api

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/bremen/regmo/domain"
)

// dimensionLabel says in German what a dimension is, for the header comments.
var dimensionLabel = map[string]string{
	"idnr":  "IDNr (die Identifikationsnummer als zusätzliches Merkmal speichern, § 2 Nr. 1 IDNrG; Frist 31.12.2028)",
	"noots": "NOOTS (Anschluss an das National-Once-Only-Technical-System; testing = Prüfung in der Referenzumgebung, live = Echtbetrieb)",
	"dsc":   "DSC (Lieferung an das Datenschutzcockpit; erst danach darf ein Register die IDNr in Übermittlungen nutzen)",
}

// columnHelp is the German comment on a column's header cell: what a Referent:in editing
// the workbook needs to know about it.
func columnHelp(name string) string {
	switch name {
	case "ressort":
		return "Kürzel des Ressorts, z. B. SF oder SIS. Pflichtfeld. Ressort und key bestimmen den Eintrag: eine Zeile mit denen eines vorhandenen Eintrags ändert ihn, sonst entsteht ein neuer."
	case "key":
		return "Schlüssel des Eintrags, eindeutig im Ressort. Pflichtfeld: 1 bis 64 Zeichen a-z, 0-9 und -, am Anfang ein Buchstabe oder eine Ziffer. Nicht ändern – ein anderer Schlüssel legt einen neuen Eintrag an."
	case "name":
		return "Bezeichnung. Pflichtfeld, höchstens 200 Zeichen."
	case "description":
		return "Beschreibung, freiwillig, höchstens 4.000 Zeichen."
	case "idnrg_anlage_nr":
		return "Nummer des Registers in der Anlage zu § 1 IDNrG (1 bis 50); leer, wenn es keines der Anlage ist."
	case "legal_basis":
		return "Rechtsgrundlage, z. B. § 139b AO; höchstens 500 Zeichen."
	case "fachverfahren":
		return "Das Fachverfahren (die Software), in dem das Register geführt wird."
	case "contact":
		return "E-Mail-Adresse der Ansprechperson."
	case "leika_keys":
		return "LeiKa-Schlüssel (14 Ziffern), mehrere durch | getrennt, z. B. 99050012104000. Die Spalte ist als Text formatiert, damit Excel lange Schlüssel nicht als Zahl kürzt."
	case "url":
		return "Adresse des Onlinedienstes; beginnt mit https://."
	case "nachweise_from":
		return "Register, aus denen der Onlinedienst Nachweise bezieht, als RESSORT/schlüssel, mehrere durch | getrennt, z. B. SIS/melderegister. Jedes muss in regmo vorhanden sein oder auf dem Blatt Register stehen."
	}
	dim, field, _ := strings.Cut(name, "_")
	label := dimensionLabel[dim]
	switch field {
	case "stage":
		return "Stufe für " + label + ": not_started (nicht begonnen), planned (geplant), in_progress (in Arbeit), testing (im Test), live (in Betrieb) oder not_applicable (nicht anwendbar; Begründung in " + dim + "_note). Auswahl aus der Liste; leer heißt not_started."
	case "target_date":
		return "Zieldatum für " + label + " als Datum (TT.MM.JJJJ), leer, wenn keines. Liegt es zurück und ist die Stufe weder live noch not_applicable, ist der Eintrag überfällig."
	case "note":
		return "Anmerkung zu " + label + "; bei not_applicable die schriftliche Begründung."
	case "evidence_url":
		return "Beleg für " + label + " als Adresse (https://…), z. B. ein Prüfprotokoll."
	}
	return ""
}

// columnWidth is a width (in characters) that shows a column's usual content.
func columnWidth(name string) float64 {
	switch {
	case name == "ressort", name == "idnrg_anlage_nr":
		return 10
	case name == "key", name == "legal_basis", name == "fachverfahren", name == "leika_keys":
		return 24
	case name == "name", name == "url", name == "contact", name == "nachweise_from":
		return 36
	case name == "description":
		return 48
	case strings.HasSuffix(name, "_stage"):
		return 16
	case strings.HasSuffix(name, "_target_date"):
		return 14
	}
	return 30
}

// xlsxSheetWriter streams one sheet of the export.
type xlsxSheetWriter struct {
	sw   *excelize.StreamWriter
	cols []csvColumn
	row  int
	vals []any
}

// writeXLSXExport writes one workbook with a sheet per kind, in the import's columns. The
// rows are streamed to excelize (which keeps a large sheet in a temporary file); the
// workbook goes out once complete, so a failure before that is still answered as a problem.
func writeXLSXExport(w io.Writer, kinds []domain.Kind, export func(func(domain.Entry) error) error) error {
	f := excelize.NewFile()
	defer f.Close()
	header, err := f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true},
		Fill:      excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{"#DDE4EE"}},
		Alignment: &excelize.Alignment{Vertical: "top", WrapText: true}})
	if err != nil {
		return fmt.Errorf("xlsx: style: %w", err)
	}
	// Text columns are formatted as text (@), so that what a person types stays as typed:
	// a LeiKa key is not turned into 9,905E+13, a key 0123 keeps its zero.
	text, err := f.NewStyle(&excelize.Style{NumFmt: 49})
	if err != nil {
		return fmt.Errorf("xlsx: style: %w", err)
	}
	date, err := f.NewStyle(&excelize.Style{CustomNumFmt: ptr("dd.mm.yyyy")})
	if err != nil {
		return fmt.Errorf("xlsx: style: %w", err)
	}
	sheets := map[domain.Kind]*xlsxSheetWriter{}
	for i, kind := range kinds {
		name := sheetName(kind)
		if i == 0 {
			err = f.SetSheetName("Sheet1", name)
		} else {
			_, err = f.NewSheet(name)
		}
		if err != nil {
			return fmt.Errorf("xlsx: sheet: %w", err)
		}
		s, err := newXLSXSheet(f, name, kind, header, text, date)
		if err != nil {
			return err
		}
		sheets[kind] = s
	}
	err = export(func(e domain.Entry) error {
		s := sheets[e.Kind]
		if s == nil {
			return nil
		}
		return s.write(e, date)
	})
	if err != nil {
		return err
	}
	for _, kind := range kinds {
		if err := sheets[kind].finish(f, sheetName(kind)); err != nil {
			return err
		}
	}
	if _, err := f.WriteTo(w); err != nil {
		return fmt.Errorf("xlsx: write: %w", err)
	}
	return nil
}

func newXLSXSheet(f *excelize.File, name string, kind domain.Kind, header, text, date int) (*xlsxSheetWriter, error) {
	sw, err := f.NewStreamWriter(name)
	if err != nil {
		return nil, fmt.Errorf("xlsx: stream: %w", err)
	}
	cols := csvColumns(kind)
	s := &xlsxSheetWriter{sw: sw, cols: cols, row: 1, vals: make([]any, len(cols))}
	// Column formats, widths and the frozen header go before the first row (StreamWriter).
	for i, col := range cols {
		style := text
		switch {
		case strings.HasSuffix(col.name, "_target_date"):
			style = date
		case col.name == "idnrg_anlage_nr":
			style = 0
		}
		if style != 0 {
			if err := sw.SetColStyle(i+1, i+1, style); err != nil {
				return nil, fmt.Errorf("xlsx: column style: %w", err)
			}
		}
		if err := sw.SetColWidth(i+1, i+1, columnWidth(col.name)); err != nil {
			return nil, fmt.Errorf("xlsx: column width: %w", err)
		}
	}
	if err := sw.SetPanes(&excelize.Panes{Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft"}); err != nil {
		return nil, fmt.Errorf("xlsx: freeze: %w", err)
	}
	head := make([]any, len(cols))
	for i, col := range cols {
		head[i] = excelize.Cell{StyleID: header, Value: col.name}
	}
	if err := sw.SetRow("A1", head, excelize.RowOpts{Height: 30}); err != nil {
		return nil, fmt.Errorf("xlsx: header: %w", err)
	}
	return s, nil
}

// write adds an entry's row: text neutralised as in the CSV, the Anlage number a number,
// target dates date cells.
func (s *xlsxSheetWriter) write(e domain.Entry, dateStyle int) error {
	s.row++
	for i, col := range s.cols {
		v := col.get(e)
		switch {
		case v == "":
			s.vals[i] = nil
		case col.name == "idnrg_anlage_nr":
			n, err := strconv.Atoi(v)
			if err != nil {
				s.vals[i] = neutralize(v)
			} else {
				s.vals[i] = n
			}
		case strings.HasSuffix(col.name, "_target_date"):
			if d, err := time.Parse(time.DateOnly, v); err == nil {
				s.vals[i] = excelize.Cell{StyleID: dateStyle, Value: d}
			} else {
				s.vals[i] = neutralize(v)
			}
		default:
			s.vals[i] = neutralize(v)
		}
	}
	cell, _ := excelize.CoordinatesToCellName(1, s.row)
	if err := s.sw.SetRow(cell, s.vals); err != nil {
		return fmt.Errorf("xlsx: row %d: %w", s.row, err)
	}
	return nil
}

// finish adds what belongs to the sheet as a whole: the comments on the header, the
// drop-down of the stages, the autofilter; then ends the stream.
func (s *xlsxSheetWriter) finish(f *excelize.File, name string) error {
	last, _ := excelize.CoordinatesToCellName(len(s.cols), s.row)
	for i, col := range s.cols {
		ref, _ := excelize.CoordinatesToCellName(i+1, 1)
		if err := f.AddComment(name, excelize.Comment{Cell: ref, Author: "regmo", Width: 300, Height: 120,
			Paragraph: []excelize.RichTextRun{{Text: col.name + ": ", Font: &excelize.Font{Bold: true}}, {Text: columnHelp(col.name)}}}); err != nil {
			return fmt.Errorf("xlsx: comment: %w", err)
		}
		if !strings.HasSuffix(col.name, "_stage") {
			continue
		}
		letter, _ := excelize.ColumnNumberToName(i + 1)
		dv := excelize.NewDataValidation(true)
		dv.Sqref = fmt.Sprintf("%s2:%s%d", letter, letter, excelize.TotalRows)
		stages := make([]string, len(domain.Stages))
		for j, st := range domain.Stages {
			stages[j] = string(st)
		}
		if err := dv.SetDropList(stages); err != nil {
			return fmt.Errorf("xlsx: stage list: %w", err)
		}
		dv.SetError(excelize.DataValidationErrorStyleStop, "Unbekannte Stufe", "Bitte eine der sechs Stufen aus der Liste wählen: "+strings.Join(stages, ", ")+".")
		if err := f.AddDataValidation(name, dv); err != nil {
			return fmt.Errorf("xlsx: stage list: %w", err)
		}
	}
	if err := f.AutoFilter(name, "A1:"+last, nil); err != nil {
		return fmt.Errorf("xlsx: autofilter: %w", err)
	}
	if err := s.sw.Flush(); err != nil {
		return fmt.Errorf("xlsx: flush: %w", err)
	}
	return nil
}

func ptr[T any](v T) *T { return &v }
