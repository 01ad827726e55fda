package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// TestAnalyseHA: regmo's 503 and HAProxy's own 503 are expected while there is no primary;
// a 500, a regmo 503 after the failover window and an HAProxy 502 are not; the service is
// back at the first 2xx PATCH sent after the node was gone.
func TestAnalyseHA(t *testing.T) {
	t0 := time.Date(2026, 3, 15, 12, 0, 0, 0, time.UTC)
	ms := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Millisecond) }
	cfg := config{recoveryLimit: 5 * time.Second, hangLimit: 10 * time.Second}
	fo := failover{oldLeader: "pg1", newLeader: "pg2", killedAt: ms(1000), deadAt: ms(1050), newLeaderAt: ms(9000)}
	imp := importReport{killedAt: ms(20000)}
	database := []sample{{at: ms(900), end: ms(901), ok: true}, {at: ms(1100), end: ms(1101)}, {at: ms(8900), end: ms(9000), ok: true}}
	results := []result{
		{op: opPatch, status: 200, start: ms(1010), end: ms(1020)}, // still the old primary
		{op: opGet, status: 503, problem: true, start: ms(2000), end: ms(2010)},
		{op: opGet, status: 503, problem: true, proxy: true, start: ms(3000), end: ms(3001)},
		{op: opPatch, status: 500, problem: true, start: ms(4000), end: ms(4010)},
		{op: opGet, status: 200, start: ms(9100), end: ms(9110)},
		{op: opPatch, status: 200, start: ms(9200), end: ms(9250)},
		{op: opGet, status: 502, problem: true, proxy: true, start: ms(20001), end: ms(20002)},
		{op: opGet, status: 503, problem: true, start: ms(30000), end: ms(30001)},
	}
	a := analyseHA(cfg, results, database, fo, imp)
	if a.writeBack != 8250*time.Millisecond || a.anyBack != 8110*time.Millisecond {
		t.Errorf("write back %s, any back %s; want 8.25s, 8.11s", a.writeBack, a.anyBack)
	}
	if a.bad5xx != 1 || a.outside503 != 1 || a.proxyOutside != 0 || a.proxyOther != 1 {
		t.Errorf("bad5xx %d, outside503 %d, proxyOutside %d, proxyOther %d; want 1, 1, 0, 1", a.bad5xx, a.outside503, a.proxyOutside, a.proxyOther)
	}
	if a.classes[phaseFailover]["HAProxy"] != 1 || a.classes[phaseRegmoKill]["HAProxy"] != 1 || a.classes[phaseFailover]["5xx"] != 2 {
		t.Errorf("classes = %v", a.classes)
	}
}

func TestImportAllOrNothing(t *testing.T) {
	for _, c := range []struct {
		entries, versions int64
		want              bool
	}{{0, 0, true}, {100, 100, true}, {40, 40, false}, {100, 0, false}} {
		r := importReport{rows: 100, entries: c.entries, versions: c.versions}
		if got := r.allOrNothing(); got != c.want {
			t.Errorf("%d entries, %d versions: allOrNothing = %v", c.entries, c.versions, got)
		}
	}
}

// TestHAProxyConfig checks the configuration with haproxy -c where HAProxy is installed.
func TestHAProxyConfig(t *testing.T) {
	bin, err := exec.LookPath("haproxy")
	if err != nil {
		if bin = "/usr/sbin/haproxy"; !fileExists(bin) {
			t.Skip("haproxy is not installed")
		}
	}
	dir := t.TempDir()
	for s := range proxyProblems {
		if err := os.WriteFile(filepath.Join(dir, "haproxy-"+strconv.Itoa(s)+".http"), []byte(errorfile(s)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cfg := filepath.Join(dir, "haproxy.cfg")
	if err := os.WriteFile(cfg, []byte(haproxyConfig(18080, []string{"127.0.0.1:18081", "127.0.0.1:18082"}, dir)), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(bin, "-c", "-f", cfg).CombinedOutput(); err != nil {
		t.Fatalf("haproxy -c: %v\n%s", err, out)
	}
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }
