package main

import (
	"math"
	"slices"
	"strings"
	"testing"
)

const wrkOutput = `Running 5s test @ http://127.0.0.1:8080/v1/registers?limit=100
  2 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   104.61ms   45.12ms 400.00ms   70.00%
    Req/Sec   300.00     50.00   400.00     70.00%
  Latency Distribution
     50%  104.60ms
     75%  130.00ms
     90%  160.00ms
     99%    1.20s
  2835 requests in 5.00s, 30.00MB read
  Socket errors: connect 0, read 0, write 0, timeout 3
  Non-2xx or 3xx responses: 12
Requests/sec:    567.00
Transfer/sec:      6.00MB
`

func TestParseWrk(t *testing.T) {
	res, err := parseWrk(wrkOutput)
	if err != nil {
		t.Fatal(err)
	}
	near := func(a, b float64) bool { return math.Abs(a-b) < 1e-9 }
	if !near(res.rps, 567) || !near(res.p50, 0.1046) || !near(res.p99, 1.2) {
		t.Errorf("parseWrk = %+v, want 567 req/s, p50 0.1046 s, p99 1.2 s", res)
	}
	if want := "12 non-2xx, socket errors: connect 0, read 0, write 0, timeout 3"; res.errors != want {
		t.Errorf("errors = %q, want %q", res.errors, want)
	}
	if _, err := parseWrk("unable to connect to 127.0.0.1:1 Connection refused"); err == nil {
		t.Error("parseWrk accepted output without Requests/sec")
	}
}

func TestBenchLine(t *testing.T) {
	m := benchLine.FindStringSubmatch("BenchmarkImport/import-2   \t       1\t5422026999 ns/op\t     18443 rows/s")
	if m == nil || m[1] != "BenchmarkImport/import" || m[2] != "1" {
		t.Fatalf("benchLine = %q", m)
	}
	rep := &report{goResults: map[string][]map[string]float64{
		"BenchmarkDecide": {{"ns/op": 300}, {"ns/op": 280}, {"ns/op": 290}},
	}}
	if got, ok := rep.metric("BenchmarkDecide", "ns/op"); !ok || got != 290 {
		t.Errorf("median = %v, %v; want 290", got, ok)
	}
	if _, ok := rep.metric("BenchmarkImport/import", "ns/op"); ok {
		t.Error("a benchmark that did not run has a figure")
	}
}

func TestRowsWithoutGoBenchmarks(t *testing.T) {
	rep := &report{cfg: config{goBench: true, conns: []int{1, 16, 64}}, goResults: map[string][]map[string]float64{}}
	rows := rep.rows()
	if len(rows) != 8 {
		t.Fatalf("%d rows, want 8 (report, CSV import, XLSX import, re-import, row-level security get and list, web overview, decision)", len(rows))
	}
	for _, r := range rows {
		if r[1] != notAvailable {
			t.Errorf("row %q says %q, want %q", r[0], r[1], notAvailable)
		}
	}
}

func TestRowsOfScopedRead(t *testing.T) {
	rep := &report{cfg: config{goBench: true}, goResults: map[string][]map[string]float64{
		"BenchmarkScopedRead/get/unscoped":    {{"ns/op": 100_000}},
		"BenchmarkScopedRead/get/pipeline":    {{"ns/op": 120_000}},
		"BenchmarkScopedRead/get/transaction": {{"ns/op": 300_000}},
	}}
	var got []string
	for _, r := range rep.rows() {
		if strings.HasPrefix(r[0], "Row-level security, GET") || strings.HasPrefix(r[0], "↳ for comparison: BEGIN") {
			got = append(got, r[3])
		}
	}
	if want := []string{"1.20×", "3.00×"}; !slices.Equal(got, want) {
		t.Errorf("ratios %v, want %v", got, want)
	}
}

func TestRowsOfJSONSQLCeiling(t *testing.T) {
	cell := func(server string, rps float64) httpCell {
		return httpCell{request: "GET one register", server: server, conns: 64, runs: []httpResult{{rps: rps, p50: 0.001, p99: 0.002}}}
	}
	pair := func(regmo, jsonSQL float64) httpPair {
		return httpPair{request: "GET one register", conns: 64, regmo: httpResult{rps: regmo}, jsonSQL: httpResult{rps: jsonSQL}}
	}
	rep := &report{cfg: config{conns: []int{64}}, http: []httpCell{
		cell("regmo", 16_000), cell("baseline", 20_000), cell(lookupName, 15_000),
	}, pairs: []httpPair{
		pair(15_000, 20_000), pair(16_800, 20_000), pair(17_000, 19_000), pair(16_000, 18_000),
		pair(10_000, 10_000), // another request's pair does not count
	}}
	rep.pairs[4].request = "GET list page of 100"
	rows := rep.rows()
	if len(rows) != 3 {
		t.Fatalf("got %d rows, want 3 (plain ceiling, token lookup, JSON-SQL)", len(rows))
	}
	js := rows[2]
	if want := "86 % (median of 4 pairs, 75–89 %)"; js[3] != want {
		t.Errorf("got ratio %q, want %q", js[3], want)
	}
	if !strings.Contains(js[0], "JSON-SQL") || js[4] != "≥ 80 %" || js[5] != "✓" {
		t.Errorf("got JSON-SQL row %q, want its label, target ≥ 80 %% and ✓", js)
	}
	// The rates are the pairs' medians: regmo 16,400, the ceiling 19,500 (98 % of 20,000).
	if want := "16,400 req/s"; !strings.HasPrefix(js[1], want) {
		t.Errorf("got regmo %q, want it to start with %q", js[1], want)
	}
	if want := "19,500 req/s"; !strings.HasPrefix(js[2], want) || !strings.Contains(js[2], "98 % of the plain ceiling") {
		t.Errorf("got ceiling %q, want %q and 98 %% of the plain ceiling", js[2], want)
	}
}

func TestPairRatio(t *testing.T) {
	pair := func(regmo, jsonSQL float64) httpPair {
		return httpPair{regmo: httpResult{rps: regmo}, jsonSQL: httpResult{rps: jsonSQL}}
	}
	tests := []struct {
		name        string
		pairs       []httpPair
		med, lo, hi float64
		n           int
	}{
		{"no pairs", nil, 0, 0, 0, 0},
		{"one pair", []httpPair{pair(80, 100)}, 0.8, 0.8, 0.8, 1},
		{"odd count: the middle ratio", []httpPair{pair(90, 100), pair(70, 100), pair(80, 100)}, 0.8, 0.7, 0.9, 3},
		{"even count: the mean of the middle two", []httpPair{pair(70, 100), pair(90, 100), pair(76, 100), pair(84, 100)}, 0.8, 0.7, 0.9, 4},
		// The median of the ratios, not the ratio of the medians (which would be 90/100 here).
		{"ratios taken within each pair", []httpPair{pair(50, 100), pair(90, 100), pair(100, 200)}, 0.5, 0.5, 0.9, 3},
		{"a pair without a ceiling rate has no ratio", []httpPair{pair(80, 100), pair(80, 0)}, 0.8, 0.8, 0.8, 1},
	}
	near := func(a, b float64) bool { return math.Abs(a-b) < 1e-9 }
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			med, lo, hi, n := pairRatio(tt.pairs)
			if !near(med, tt.med) || !near(lo, tt.lo) || !near(hi, tt.hi) || n != tt.n {
				t.Errorf("got median %v, range %v–%v, %d pairs; want median %v, range %v–%v, %d pairs", med, lo, hi, n, tt.med, tt.lo, tt.hi, tt.n)
			}
		})
	}
}

const pprofTop = `File: regmo
Build ID: 8ae2027cdeb49b5eed4ed86a0addb04ac6245b94
Type: cpu
Time: 2026-12-01 13:21:32 UTC
Duration: 10s, Total samples = 10.65s (106.46%)
Showing nodes accounting for 0.03s, 0.28% of 10.65s total
Dropped 604 nodes (cum <= 0.05s)
Showing top 2 nodes out of 264
      flat  flat%   sum%        cum   cum%
     0.02s  0.19%  0.19%      9.52s 89.39%  net/http.(*conn).serve
     0.01s 0.094%  0.28%      6.83s 64.13%  net/http.serverHandler.ServeHTTP
`

func TestParsePprofTop(t *testing.T) {
	total, lines := parsePprofTop(pprofTop)
	if want := "10.65s CPU (106.46% of one core)"; total != want {
		t.Errorf("got total %q, want %q", total, want)
	}
	want := []string{
		"     0.02s  0.19%  0.19%      9.52s 89.39%  net/http.(*conn).serve",
		"     0.01s 0.094%  0.28%      6.83s 64.13%  net/http.serverHandler.ServeHTTP",
	}
	if !slices.Equal(lines, want) {
		t.Errorf("got lines %q, want %q", lines, want)
	}
}
