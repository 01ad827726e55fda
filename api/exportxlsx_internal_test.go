package api

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/bremen/regmo/domain"
	"github.com/bremen/regmo/domain/transfer"
)

// TestXLSXExportLayout checks what a person sees of the export workbook: comments on the
// header, the stage drop-down, date cells, the autofilter and the frozen header.
func TestXLSXExportLayout(t *testing.T) {
	n := 7
	entries := []domain.Entry{
		{Kind: domain.KindRegister, Ressort: "SF", Key: "grundsteuer", Content: domain.Content{Name: "=Grundsteuer", AnlageNr: &n,
			Readiness: domain.Readiness{NOOTS: domain.Status{Stage: domain.StagePlanned, TargetDate: "2027-06-30"}}}},
		{Kind: domain.KindOnlinedienst, Ressort: "SF", Key: "wohngeld", Content: domain.Content{Name: "Wohngeld", LeikaKeys: []string{"99050012104000"}}},
	}
	var buf bytes.Buffer
	err := writeXLSXExport(&buf, []domain.Kind{domain.KindRegister, domain.KindOnlinedienst}, func(yield func(domain.Entry) error) error {
		for _, e := range entries {
			if err := yield(e); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	f, err := excelize.OpenReader(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if got, want := f.GetSheetList(), []string{"Register", "Onlinedienste"}; len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("sheets = %v, want %v", got, want)
	}
	comments, err := f.GetComments("Register")
	if err != nil || len(comments) != len(csvColumns(domain.KindRegister)) {
		t.Errorf("comments on Register: %d (%v), want %d", len(comments), err, len(csvColumns(domain.KindRegister)))
	}
	dvs, err := f.GetDataValidations("Register")
	if err != nil || len(dvs) != 3 {
		t.Errorf("data validations: %d (%v), want 3 (one per stage column)", len(dvs), err)
	}
	// The cell of a column in row 2, found by the column's place in csvColumns.
	cell := func(kind domain.Kind, column string) string {
		for i, c := range csvColumns(kind) {
			if c.name == column {
				name, err := excelize.CoordinatesToCellName(i+1, 2)
				if err != nil {
					t.Fatal(err)
				}
				return name
			}
		}
		t.Fatalf("%s has no column %s", kind, column)
		return ""
	}
	for _, c := range []struct{ column, want string }{{"name", "'=Grundsteuer"}, {"idnrg_anlage_nr", "7"}, {"noots_target_date", "30.06.2027"}, {"noots_stage", "planned"}} {
		if got, _ := f.GetCellValue("Register", cell(domain.KindRegister, c.column)); got != c.want {
			t.Errorf("Register %s = %q, want %q", c.column, got, c.want)
		}
	}
	if got, _ := f.GetCellValue("Onlinedienste", cell(domain.KindOnlinedienst, "leika_keys")); got != "99050012104000" {
		t.Errorf("leika_keys = %q, want 99050012104000", got)
	}
	panes, err := f.GetPanes("Register")
	if err != nil || !panes.Freeze || panes.YSplit != 1 {
		t.Errorf("panes = %+v (%v), want the header frozen", panes, err)
	}

	x, err := newXLSXImport(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	var got []transfer.ImportItem
	for {
		it, err := x.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, it)
	}
	if len(got) != 2 {
		t.Fatalf("read %d items, want 2", len(got))
	}
	r := got[0]
	if r.Content.Name != "=Grundsteuer" || r.Content.AnlageNr == nil || *r.Content.AnlageNr != 7 ||
		r.Content.Readiness.NOOTS.TargetDate != "2027-06-30" || r.Line != 2 || r.Sheet != "Register" || len(r.Problems) > 0 {
		t.Errorf("register read back as %+v", r)
	}
	if od := got[1]; len(od.Content.LeikaKeys) != 1 || od.Content.LeikaKeys[0] != "99050012104000" || od.Sheet != "Onlinedienste" {
		t.Errorf("Onlinedienst read back as %+v", od)
	}
}
