package api_test

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bremen/regmo/api/oapi"
	"github.com/bremen/regmo/domain"
)

// modelEntry is the test's own record of an entry, from which it computes every report.
type modelEntry struct {
	kind, ressort, key, name string
	anlage                   int // 0: none
	stage, target            map[string]string
	nachweise                []string
}

func (e *modelEntry) ready(dim string) bool {
	return e.stage[dim] == "live" || e.stage[dim] == "not_applicable"
}

func (e *modelEntry) body() string {
	dims := map[string]any{}
	for _, d := range dimensionNames {
		dim := map[string]any{"stage": e.stage[d], "note": "Begründung"}
		if e.target[d] != "" {
			dim["target_date"] = e.target[d]
		}
		dims[d] = dim
	}
	m := map[string]any{"name": e.name, "readiness": dims}
	if e.anlage > 0 {
		m["idnrg_anlage_nr"] = e.anlage
	}
	if len(e.nachweise) > 0 {
		m["nachweise_from"] = e.nachweise
	}
	data, _ := json.Marshal(m)
	return string(data)
}

func (e *modelEntry) path() string {
	list := "registers"
	if e.kind == "onlinedienst" {
		list = "onlinedienste"
	}
	return fmt.Sprintf("/v1/ressorts/%s/%s/%s", e.ressort, list, e.key)
}

var dimensionNames = []string{"idnr", "noots", "dsc"}

func clone(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// TestReportsAgainstBruteForce builds a random inventory through the API, changes part of
// it a few days later, and checks the overdue, blocked, consistency, Anlage-coverage and
// progress reports against counts computed here from the test's own record, for a
// coordinator and for a Ressortverantwortliche/r.
func TestReportsAgainstBruteForce(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 42))
	day := func(d, h int) time.Time { return time.Date(2026, 3, d, h, 0, 0, 0, time.UTC) }
	clk := &clock{t: day(1, 9)}
	ts := newTestServerAt(t, clk.now)
	ressorts := []string{"SF", "SIS", "SWHT", "ZGF"}
	stages := []string{"not_started", "planned", "in_progress", "testing", "live", "not_applicable"}
	dates := []string{"", "2026-01-31", "2026-03-14", "2026-03-15", "2026-03-16", "2026-12-31"} // today: 2026-03-15
	randomDims := func() (map[string]string, map[string]string) {
		st, tg := map[string]string{}, map[string]string{}
		for _, d := range dimensionNames {
			st[d], tg[d] = stages[rng.IntN(len(stages))], dates[rng.IntN(len(dates))]
		}
		return st, tg
	}
	var entries []*modelEntry
	var registers []*modelEntry
	for i := range 50 {
		e := &modelEntry{kind: "register", ressort: ressorts[rng.IntN(len(ressorts))], key: fmt.Sprintf("r%02d", i),
			name: fmt.Sprintf("Register %d", i)}
		if rng.IntN(3) > 0 {
			e.anlage = 1 + rng.IntN(8) // a few numbers, several registers each
		}
		e.stage, e.target = randomDims()
		if i%10 == 0 {
			// Chance alone would rarely break the coupling rule.
			e.stage["idnr"], e.stage["noots"], e.stage["dsc"] = "live", "live", "planned"
		}
		entries, registers = append(entries, e), append(registers, e)
	}
	for i := range 30 {
		e := &modelEntry{kind: "onlinedienst", ressort: ressorts[rng.IntN(len(ressorts))], key: fmt.Sprintf("o%02d", i),
			name: fmt.Sprintf("Onlinedienst %d", i)}
		e.stage, e.target = randomDims()
		for _, r := range rng.Perm(len(registers))[:rng.IntN(4)] {
			e.nachweise = append(e.nachweise, registers[r].ressort+"/"+registers[r].key)
		}
		entries = append(entries, e)
	}
	for _, e := range entries {
		if rec := ts.do(request{method: "PUT", path: e.path(), body: e.body()}); rec.Code != 201 {
			t.Fatalf("PUT %s: %d %s", e.path(), rec.Code, rec.Body)
		}
	}
	before := map[*modelEntry]map[string]string{}
	for _, e := range entries {
		before[e] = clone(e.stage)
	}
	// On 5 March a third of the entries move in one or more dimensions.
	clk.set(day(5, 9))
	type change struct {
		e        *modelEntry
		dim      string
		from, to string
	}
	var changes []change
	for _, e := range entries {
		if rng.IntN(3) != 0 {
			continue
		}
		patch := map[string]any{}
		for _, d := range dimensionNames {
			if rng.IntN(2) == 0 {
				continue
			}
			to := stages[rng.IntN(len(stages))]
			patch[d] = map[string]any{"stage": to}
			if to != e.stage[d] {
				changes = append(changes, change{e, d, e.stage[d], to})
			}
			e.stage[d] = to
		}
		body, _ := json.Marshal(map[string]any{"readiness": patch})
		if rec := ts.do(request{method: "PATCH", path: e.path(), body: string(body)}); rec.Code != 200 {
			t.Fatalf("PATCH %s: %d %s", e.path(), rec.Code, rec.Body)
		}
	}
	clk.set(day(15, 11))

	sis := ts.user("sis", domain.Binding{Role: domain.RoleRessortverantwortliche, Ressort: "SIS"})
	for _, viewer := range []struct {
		name, token string
		reads       func(ressort string) bool
	}{
		{"coordinator", "", func(string) bool { return true }},
		{"SIS", sis, func(r string) bool { return r == "SIS" }},
	} {
		t.Run(viewer.name, func(t *testing.T) {
			get := func(path string) []byte {
				rec := ts.do(request{method: "GET", path: path, token: viewer.token})
				if rec.Code != 200 {
					t.Fatalf("GET %s: %d %s", path, rec.Code, rec.Body)
				}
				return rec.Body.Bytes()
			}
			var readable []*modelEntry
			for _, e := range entries {
				if viewer.reads(e.ressort) {
					readable = append(readable, e)
				}
			}

			t.Run("overdue", func(t *testing.T) {
				var want []string
				for _, e := range readable {
					for _, d := range dimensionNames {
						if e.target[d] != "" && e.target[d] < "2026-03-15" && !e.ready(d) {
							target, _ := time.Parse(time.DateOnly, e.target[d])
							days := int(time.Date(2026, 3, 15, 0, 0, 0, 0, time.UTC).Sub(target).Hours() / 24)
							want = append(want, fmt.Sprintf("%s/%s %s %s %s %d", e.ressort, e.key, d, e.stage[d], e.target[d], days))
						}
					}
				}
				var report oapi.OverdueReport
				mustUnmarshal(t, get("/v1/reports/overdue"), &report)
				var got []string
				for i, it := range report.Items {
					got = append(got, fmt.Sprintf("%s/%s %s %s %s %d", it.Ressort, it.Key, it.Dimension, it.Stage, it.TargetDate, it.DaysOverdue))
					if i > 0 && it.DaysOverdue > report.Items[i-1].DaysOverdue {
						t.Errorf("item %d is %d days overdue after one with %d: want most overdue first", i, it.DaysOverdue, report.Items[i-1].DaysOverdue)
					}
				}
				sameSet(t, got, want)
				csv := string(get("/v1/reports/overdue?format=csv"))
				if rows := strings.Count(strings.TrimRight(csv, "\r\n"), "\r\n"); rows != len(want) {
					t.Errorf("CSV has %d data rows, want %d", rows, len(want))
				}
			})

			t.Run("consistency", func(t *testing.T) {
				var want []string
				for _, e := range readable {
					if e.kind == "register" && e.stage["idnr"] == "live" && e.stage["noots"] == "live" && !e.ready("dsc") {
						want = append(want, "idnr-transfer-requires-dsc "+e.ressort+"/"+e.key)
					}
				}
				var report oapi.ConsistencyReport
				mustUnmarshal(t, get("/v1/reports/consistency"), &report)
				var got []string
				for _, f := range report.Findings {
					got = append(got, f.Rule+" "+f.Ressort+"/"+f.Key)
				}
				sameSet(t, got, want)
			})

			t.Run("anlage-coverage", func(t *testing.T) {
				var report oapi.AnlageCoverageReport
				mustUnmarshal(t, get("/v1/reports/anlage-coverage"), &report)
				if len(report.Items) != 50 {
					t.Fatalf("got %d Anlage items, want 50", len(report.Items))
				}
				for _, it := range report.Items {
					var want, got []string
					for _, e := range readable {
						if e.kind == "register" && e.anlage == it.Nr {
							want = append(want, fmt.Sprintf("%s/%s %s %s %s", e.ressort, e.key, e.stage["idnr"], e.stage["noots"], e.stage["dsc"]))
						}
					}
					for _, r := range it.Registers {
						got = append(got, fmt.Sprintf("%s/%s %s %s %s", r.Ressort, r.Key, r.Idnr, r.Noots, r.Dsc))
					}
					sameSet(t, got, want)
					if it.Gap != (len(want) == 0) {
						t.Errorf("Anlage %d: gap %v, want %v", it.Nr, it.Gap, len(want) == 0)
					}
				}
			})

			t.Run("blocked", func(t *testing.T) {
				byRef := map[string]*modelEntry{}
				for _, r := range registers {
					byRef[r.ressort+"/"+r.key] = r
				}
				var want []string
				for _, e := range readable {
					if e.kind != "onlinedienst" {
						continue
					}
					var blockers []string
					for _, ref := range e.nachweise {
						if r := byRef[ref]; !r.ready("noots") {
							blockers = append(blockers, fmt.Sprintf("%s %s %s", ref, r.name, r.stage["noots"]))
						}
					}
					if len(blockers) > 0 {
						slices.Sort(blockers)
						want = append(want, e.ressort+"/"+e.key+" <- "+strings.Join(blockers, "; "))
					}
				}
				var report oapi.BlockedReport
				mustUnmarshal(t, get("/v1/reports/blocked"), &report)
				var got []string
				for _, it := range report.Items {
					var blockers []string
					for _, b := range it.BlockedBy {
						blockers = append(blockers, fmt.Sprintf("%s/%s %s %s", b.Ressort, b.Key, b.Name, b.NootsStage))
					}
					slices.Sort(blockers)
					got = append(got, it.Ressort+"/"+it.Key+" <- "+strings.Join(blockers, "; "))
				}
				sameSet(t, got, want)
			})

			t.Run("progress", func(t *testing.T) {
				var want []string
				for _, c := range changes {
					if viewer.reads(c.e.ressort) {
						want = append(want, fmt.Sprintf("%s/%s %s %s>%s", c.e.ressort, c.e.key, c.dim, c.from, c.to))
					}
				}
				var report oapi.ProgressReport
				mustUnmarshal(t, get("/v1/reports/progress?from=2026-03-02&to=2026-03-10"), &report)
				var got []string
				for _, c := range report.Changes {
					got = append(got, fmt.Sprintf("%s/%s %s %s>%s", c.Ressort, c.Key, c.Dimension, c.From, c.To))
				}
				sameSet(t, got, want)
				type lineKey struct{ ressort, kind, dim string }
				type counts struct{ countFrom, readyFrom, countTo, readyTo int64 }
				wantLines := map[lineKey]counts{}
				for _, e := range readable {
					for _, d := range dimensionNames {
						k := lineKey{e.ressort, e.kind, d}
						c := wantLines[k]
						c.countFrom++
						c.countTo++
						if s := before[e][d]; s == "live" || s == "not_applicable" {
							c.readyFrom++
						}
						if e.ready(d) {
							c.readyTo++
						}
						wantLines[k] = c
					}
				}
				for _, l := range report.Ready {
					k := lineKey{l.Ressort, string(l.Kind), string(l.Dimension)}
					if got := (counts{l.CountFrom, l.ReadyFrom, l.CountTo, l.ReadyTo}); got != wantLines[k] {
						t.Errorf("progress line %v: got %+v, want %+v", k, got, wantLines[k])
					}
					delete(wantLines, k)
				}
				for k, c := range wantLines {
					t.Errorf("progress has no line for %v, want %+v", k, c)
				}
			})
		})
	}
}

func mustUnmarshal(t *testing.T, data []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatalf("decode %T: %v", v, err)
	}
}

// sameSet compares two lists regardless of order, showing what is missing and what extra.
func sameSet(t *testing.T, got, want []string) {
	t.Helper()
	if len(want) == 0 && strings.HasPrefix(t.Name(), "TestReportsAgainstBruteForce/coordinator/") && !strings.Contains(t.Name(), "anlage") {
		t.Fatalf("the random inventory gives the coordinator nothing to compare; the test would prove nothing")
	}
	g, w := slices.Clone(got), slices.Clone(want)
	slices.Sort(g)
	slices.Sort(w)
	if slices.Equal(g, w) {
		return
	}
	var missing, extra []string
	for _, x := range w {
		if !slices.Contains(g, x) {
			missing = append(missing, x)
		}
	}
	for _, x := range g {
		if !slices.Contains(w, x) {
			extra = append(extra, x)
		}
	}
	t.Errorf("got %d items, want %d; missing %q; unexpected %q", len(got), len(want), missing, extra)
}
