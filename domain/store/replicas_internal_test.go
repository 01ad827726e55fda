package store

import (
	"testing"
	"time"
)

func TestCommittedUpTo(t *testing.T) {
	tests := []struct {
		name          string
		insert, flush string
		want          string
	}{
		{"all flushed", "0/3000158", "0/3000158", "0/3000158"},
		{"a commit not yet flushed (synchronous_commit off)", "0/30001F0", "0/3000158", "0/30001F0"},
		{"idle at the start of a segment", "0/3000028", "0/3000000", "0/3000000"},
		{"idle at the start of a page", "0/3002018", "0/3002000", "0/3002000"},
		{"a record after the page's header", "0/3002050", "0/3002000", "0/3002050"},
		{"high half", "16/B374D848", "16/B374D848", "16/B374D848"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ins, err := parseLSN(tt.insert)
			if err != nil {
				t.Fatal(err)
			}
			fl, err := parseLSN(tt.flush)
			if err != nil {
				t.Fatal(err)
			}
			want, err := parseLSN(tt.want)
			if err != nil {
				t.Fatal(err)
			}
			if got := committedUpTo(ins, fl); got != want {
				t.Errorf("committedUpTo(%s, %s) = %X, want %s", tt.insert, tt.flush, uint64(got), tt.want)
			}
		})
	}
	for _, bad := range []string{"", "3000158", "x/1", "1/100000000"} {
		if _, err := parseLSN(bad); err == nil {
			t.Errorf("parseLSN(%q) succeeded", bad)
		}
	}
}

// TestPick routes without a database: each replica's state is set as a probe would.
func TestPick(t *testing.T) {
	now := time.Date(2026, 3, 15, 11, 0, 0, 0, time.UTC)
	rs := &Replicas{maxLag: 5 * time.Second, now: func() time.Time { return now }, writers: map[string]*writeMark{}}
	a, b, c := &replica{name: "a"}, &replica{name: "b"}, &replica{name: "c"}
	rs.nodes = []*replica{a, b, c}
	a.state.Store(&replicaState{at: now, ok: true, replay: 100})
	b.state.Store(&replicaState{at: now, ok: true, lag: time.Second, replay: 200})
	c.state.Store(&replicaState{at: now, reason: "does not answer"})

	seen := map[string]int{}
	for range 10 {
		n := rs.pick("bob")
		if n == nil {
			t.Fatal("pick = primary, want a usable replica")
		}
		seen[n.name]++
	}
	if seen["a"] != 5 || seen["b"] != 5 {
		t.Errorf("10 reads went to %v, want 5 to a and 5 to b (round robin, never c)", seen)
	}

	done := rs.Writing("alice")
	if n := rs.pick("alice"); n != nil {
		t.Errorf("while alice writes, her read goes to %s, want the primary", n.name)
	}
	done()
	if n := rs.pick("alice"); n != nil {
		t.Errorf("before the WAL position after her write is known, alice's read goes to %s, want the primary", n.name)
	}
	rs.writers["alice"].bound = 150 // as measure would set it
	for range 4 {
		if n := rs.pick("alice"); n != b {
			t.Errorf("alice's read goes to %v, want b, the only replica past her write", n)
		}
	}
	now = now.Add(4500 * time.Millisecond) // b's lag and the time since its probe pass the limit
	if n := rs.pick("alice"); n != nil {
		t.Errorf("alice's read goes to %s, want the primary", n.name)
	}
	now = now.Add(time.Second) // alice's write is older than the limit: every usable replica has it
	a.state.Store(&replicaState{at: now, ok: true, replay: 100})
	if n := rs.pick("alice"); n != a {
		t.Errorf("alice's read long after her write goes to %v, want a", n)
	}
	if _, ok := rs.writers["alice"]; ok {
		t.Error("alice's write is still remembered past the limit")
	}
}
