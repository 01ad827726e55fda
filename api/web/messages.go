package web

import (
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// The domain and the CSV reader word their refusals in English for API clients; the pages
// are for people who read German. germanMessage rewords the messages known here; one not
// known (a rule added later) is shown as it is rather than hidden.

var germanMessages = map[string]string{
	"is required": "bitte angeben",
	"must be a calendar date written YYYY-MM-DD":            "muss ein Kalenderdatum sein",
	"must be an e-mail address":                             "muss eine E-Mail-Adresse sein",
	"must be valid UTF-8 without NUL characters":            "darf nur gültigen Text enthalten (UTF-8, ohne NUL-Zeichen)",
	"must be an absolute http or https URL":                 "muss eine vollständige Adresse sein, die mit http:// oder https:// beginnt",
	"must be an absolute https URL":                         "muss eine vollständige Adresse sein, die mit https:// beginnt",
	"must be a LeiKa key of 14 digits":                      "muss ein LeiKa-Schlüssel aus 14 Ziffern sein",
	"must name a register as RESSORT/key":                   "muss ein Register als RESSORT/schlüssel nennen, z. B. SIS/melderegister",
	"must not list the same value twice":                    "darf keinen Wert zweimal enthalten",
	"must give the reason when the stage is not_applicable": "bei „nicht anwendbar“ ist eine Begründung nötig",
	"must be one of not_started, planned, in_progress, testing, live, not_applicable": "muss eine der Stufen not_started (nicht begonnen), planned (geplant), " +
		"in_progress (in Arbeit), testing (im Test), live oder not_applicable (nicht anwendbar) sein",
	"is a field of Onlinedienste, not of registers": "gibt es nur bei Onlinediensten, nicht bei Registern",
	"is a field of registers, not of Onlinedienste": "gibt es nur bei Registern, nicht bei Onlinediensten",
	"must be 1 to 64 characters a-z, 0-9 and -, starting with a letter or digit": "1 bis 64 Zeichen aus a–z, 0–9 und „-“, " +
		"beginnend mit einem Buchstaben oder einer Ziffer",
	"must be 2 to 64 of a-z, 0-9, '.', '_' and '-'":                  "2 bis 64 Zeichen aus a–z, 0–9, „.“, „_“ und „-“",
	"must be 2 to 16 of A-Z, 0-9 and '-'":                            "2 bis 16 Zeichen aus A–Z, 0–9 und „-“",
	"must be clean text of at most 200 characters":                   "höchstens 200 Zeichen gültiger Text",
	"must be one of ressortverantwortliche, ozg-koordination, admin": "muss admin, ozg-koordination oder ressortverantwortliche sein",
	"is required for the role ressortverantwortliche and must be a Ressort code": "die Rolle ressortverantwortliche braucht das Kürzel " +
		"eines Ressorts, z. B. ressortverantwortliche SIS",
	"must be a whole number between 1 and 50": "muss eine ganze Zahl von 1 bis 50 sein",
	"is given twice":                                                   "steht zweimal in der Kopfzeile",
	"is a required column":                                             "fehlt: die Spalte ist Pflicht",
	"is not a column of registers imports":                             "ist keine Spalte für Register",
	"is not a column of onlinedienste imports":                         "ist keine Spalte für Onlinedienste",
	"is not valid UTF-8 text; save the file as UTF-8":                  "ist kein gültiger Text; speichern Sie die Datei als UTF-8",
	"a column name is not valid UTF-8 text; save the file as UTF-8":    "ein Spaltenname ist kein gültiger Text; speichern Sie die Datei als UTF-8",
	"the file is empty; the first line must name the columns":          "die Datei ist leer; die erste Zeile muss die Spalten nennen",
	"must be left out: the role admin is global":                       "die Rolle admin gilt für alle Ressorts und steht ohne Kürzel",
	"must be left out: the role ozg-koordination is global":            "die Rolle ozg-koordination gilt für alle Ressorts und steht ohne Kürzel",
	"the row cannot be read: bare \" in non-quoted-field":              "die Zeile ist nicht lesbar: ein Anführungszeichen steht in einem Feld ohne Anführungszeichen",
	"the row cannot be read: extraneous or missing \" in quoted-field": "die Zeile ist nicht lesbar: ein Anführungszeichen fehlt oder ist zu viel",
}

var germanPatterns = []struct {
	re   *regexp.Regexp
	repl string
}{
	{regexp.MustCompile(`^must be at most (\d+) characters long$`), "höchstens $1 Zeichen"},
	{regexp.MustCompile(`^must list at most (\d+) values$`), "höchstens $1 Werte"},
	{regexp.MustCompile(`^has (\d+) values; at most (\d+) are allowed$`), "hat $1 Werte; höchstens $2 sind erlaubt"},
	{regexp.MustCompile(`^must be at most (\S+)$`), "höchstens $1"},
	{regexp.MustCompile(`^must be at least (\S+)$`), "mindestens $1"},
	{regexp.MustCompile(`^register (\S+) does not exist$`), "das Register $1 gibt es nicht"},
	{regexp.MustCompile(`^Onlinedienst (\S+) does not exist$`), "den Onlinedienst $1 gibt es nicht"},
	{regexp.MustCompile(`^register (\S+) is deleted by this import$`), "das Register $1 löscht dieser Import"},
	{regexp.MustCompile(`^Ressort (\S+) does not exist$`), "das Ressort $1 gibt es nicht"},
	{regexp.MustCompile(`^token (\d+) does not exist$`), "das Token $1 gibt es nicht"},
	{regexp.MustCompile(`^user (\S+) does not exist$`), "den Nutzer $1 gibt es nicht"},
	{regexp.MustCompile(`^user (\S+) is deactivated$`), "der Nutzer $1 ist deaktiviert"},
	{regexp.MustCompile(`^names the same (register|Onlinedienst) as item (\d+)$`), "steht mehr als einmal in der Datei"},
	{regexp.MustCompile(`^the row has (\d+) fields, the header (\d+)$`), "die Zeile hat $1 Felder, die Kopfzeile $2"},
	{regexp.MustCompile(`^the row is longer than (\d+) bytes; no valid row is that long$`), "die Zeile ist länger als $1 Bytes; so lang ist keine gültige Zeile"},
	{regexp.MustCompile(`^the header has (\d+) columns; at most (\d+) are allowed$`), "die Kopfzeile hat $1 Spalten; höchstens $2 sind erlaubt"},
	{regexp.MustCompile(`^the header line is longer than (\d+) bytes; it names the columns, at most (\d+)$`),
		"die Kopfzeile ist länger als $1 Bytes; sie nennt nur die Spalten, höchstens $2"},
	{regexp.MustCompile(`^The import holds more than (\d+) items; split it\.$`), "Die Datei hat mehr als $1 Einträge; teilen Sie sie auf."},
	{regexp.MustCompile(`^is invalid \((\S+)\)$`), "ist ungültig ($1)"},
}

// germanMessage rewords a message of the domain or the CSV reader in German.
func germanMessage(msg string) string {
	if g, ok := germanMessages[msg]; ok {
		return g
	}
	for _, p := range germanPatterns {
		if p.re.MatchString(msg) {
			return p.re.ReplaceAllString(msg, p.repl)
		}
	}
	return msg
}

// csvColumn names the column of an import file a field of the domain comes from:
// readiness.noots.stage is noots_stage, nachweise_from[2] is nachweise_from.
func csvColumn(field string) string {
	if i := strings.Index(field, "["); i > 0 {
		field = field[:i]
	}
	if rest, ok := strings.CutPrefix(field, "readiness."); ok {
		return strings.Replace(rest, ".", "_", 1)
	}
	return field
}

// sentence starts a message with a capital letter, for a message that stands alone.
func sentence(s string) string {
	r, size := utf8.DecodeRuneInString(s)
	if size == 0 {
		return s
	}
	return string(unicode.ToUpper(r)) + s[size:] + "."
}
