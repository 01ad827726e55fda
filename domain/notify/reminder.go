package notify

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/bremen/regmo/domain"
)

// ReminderItem is one not-ready dimension of one entry that a reminder names.
type ReminderItem struct {
	Ressort    string
	Key        string
	Name       string
	Kind       domain.Kind
	Dimension  domain.Dimension
	Stage      domain.Stage
	TargetDate string
	// DaysAhead is 30, 7 or 1; zero for an item that became overdue.
	DaysAhead int
}

// Overdue reports whether the item became overdue (and is not one ahead of its date).
func (it ReminderItem) Overdue() bool { return it.DaysAhead == 0 }

// ReminderItems picks what the reminder of the day names: the not-ready dimensions whose
// target date lies 30, 7 or 1 day(s) ahead, and those that became overdue since the day of
// the last reminder (a dimension with target date T becomes overdue on T+1, so T ≥ since).
// Ready and overdue are the domain's own rules, applied to the entries as they are when the
// e-mail goes out: a date moved or a stage reached since is not named.
func ReminderItems(entries []domain.Entry, day, since string) []ReminderItem {
	ahead := map[string]int{}
	for _, n := range ReminderDays {
		ahead[addDays(day, n)] = n
	}
	var items []ReminderItem
	for _, e := range entries {
		for _, d := range domain.Dimensions {
			st := e.Readiness.Of(d)
			it := ReminderItem{Ressort: e.Ressort, Key: e.Key, Name: e.Name, Kind: e.Kind, Dimension: d,
				Stage: st.Stage, TargetDate: st.TargetDate}
			switch n, ok := ahead[st.TargetDate]; {
			case ok && !st.Ready():
				it.DaysAhead = n
			case st.Overdue(day) && st.TargetDate >= since:
			default:
				continue
			}
			items = append(items, it)
		}
	}
	// Overdue first, then the nearest date; within one date by Ressort, key and dimension.
	slices.SortStableFunc(items, func(a, b ReminderItem) int {
		if a.Overdue() != b.Overdue() {
			if a.Overdue() {
				return -1
			}
			return 1
		}
		return strings.Compare(a.TargetDate+a.Ressort+"\x00"+a.Key+string(a.Kind), b.TargetDate+b.Ressort+"\x00"+b.Key+string(b.Kind))
	})
	return items
}

// EntryURL is the web interface's page of an entry.
func EntryURL(base string, r, key string, kind domain.Kind) string {
	return strings.TrimRight(base, "/") + "/ressorts/" + url.PathEscape(r) + "/" + url.PathEscape(string(kind)) + "/" + url.PathEscape(key)
}

var dimensionNames = map[domain.Dimension]string{
	domain.DimensionIDNr:  "IDNr",
	domain.DimensionNOOTS: "NOOTS",
	domain.DimensionDSC:   "Datenschutzcockpit",
}

var stageNames = map[domain.Stage]string{
	domain.StageNotStarted:    "nicht begonnen",
	domain.StagePlanned:       "geplant",
	domain.StageInProgress:    "in Arbeit",
	domain.StageTesting:       "im Test",
	domain.StageLive:          "in Betrieb",
	domain.StageNotApplicable: "entfällt",
}

var kindNames = map[domain.Kind]string{domain.KindRegister: "Register", domain.KindOnlinedienst: "Onlinedienst"}

// germanDate writes YYYY-MM-DD as DD.MM.YYYY.
func germanDate(day string) string {
	t, err := time.Parse(time.DateOnly, day)
	if err != nil {
		return day
	}
	return t.Format("02.01.2006")
}

// ReminderMessage writes the German reminder e-mail.
func ReminderMessage(base, to, displayName, day string, items []ReminderItem) Message {
	var b strings.Builder
	greeting := "Guten Tag"
	if displayName != "" {
		greeting += " " + displayName
	}
	fmt.Fprintf(&b, "%s,\n\nfür die Einträge Ihrer Ressorts stehen Fristen an (Stand %s, 07:00 Uhr):\n", greeting, germanDate(day))
	var overdue, ahead []ReminderItem
	for _, it := range items {
		if it.Overdue() {
			overdue = append(overdue, it)
		} else {
			ahead = append(ahead, it)
		}
	}
	line := func(it ReminderItem, when string) {
		fmt.Fprintf(&b, "\n- %s %s/%s „%s“, %s (Stufe: %s): %s\n  %s\n", kindNames[it.Kind], it.Ressort, it.Key, it.Name,
			dimensionNames[it.Dimension], stageNames[it.Stage], when, EntryURL(base, it.Ressort, it.Key, it.Kind))
	}
	if len(overdue) > 0 {
		b.WriteString("\nNeu überfällig:\n")
		for _, it := range overdue {
			line(it, "Zieldatum "+germanDate(it.TargetDate)+" überschritten")
		}
	}
	if len(ahead) > 0 {
		b.WriteString("\nZieldatum rückt näher:\n")
		for _, it := range ahead {
			when := fmt.Sprintf("Zieldatum %s, in %d Tagen", germanDate(it.TargetDate), it.DaysAhead)
			if it.DaysAhead == 1 {
				when = "Zieldatum " + germanDate(it.TargetDate) + ", morgen"
			}
			line(it, when)
		}
	}
	fmt.Fprintf(&b, "\nBitte aktualisieren Sie die Stufe oder das Zieldatum im Eintrag.\n\n"+
		"Diese Erinnerung schickt regmo einmal am Tag, wenn es etwas zu sagen gibt. Abbestellen können Sie sie auf\n"+
		"Ihrer Seite in regmo:\n%s%s\n", strings.TrimRight(base, "/"), AccountPath)
	return Message{To: to, Subject: fmt.Sprintf("regmo: %d Frist(en) in Ihren Ressorts", len(items)), Body: b.String()}
}
