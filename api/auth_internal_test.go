package api

import (
	"fmt"
	"testing"
	"time"

	"github.com/bremen/regmo/domain"
)

// Only a global role without a Ressort is global; a Ressort-bound role (or an unknown one)
// without a Ressort grants nothing.
func TestDecideFailsClosedWithoutRessort(t *testing.T) {
	p := newPolicy(t)
	tests := []struct {
		name    string
		binding domain.Binding
		op      string
		want    bool
		wantAll bool
	}{
		{"ressortverantwortliche without Ressort", domain.Binding{Role: domain.RoleRessortverantwortliche}, "listRegisters", false, false},
		{"ressortverantwortliche without Ressort, in a path", domain.Binding{Role: domain.RoleRessortverantwortliche}, "putRegister", false, false},
		{"unknown role without Ressort", domain.Binding{Role: "superuser"}, "listRegisters", false, false},
		{"ozg-koordination", domain.Binding{Role: domain.RoleOZGKoordination}, "listRegisters", true, true},
		{"ressortverantwortliche of SF", domain.Binding{Role: domain.RoleRessortverantwortliche, Ressort: "SF"}, "listRegisters", true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ressort := ""
			if tt.op == "putRegister" {
				ressort = "SF"
			}
			ok, all, _, err := p.decide(domain.Caller{User: "x", Bindings: []domain.Binding{tt.binding}}, tt.op, ressort)
			if err != nil {
				t.Fatal(err)
			}
			if ok != tt.want || all != tt.wantAll {
				t.Errorf("got allowed %v, all Ressorts %v; want %v, %v", ok, all, tt.want, tt.wantAll)
			}
		})
	}
}

func TestThrottle(t *testing.T) {
	start := time.Date(2026, 3, 15, 11, 0, 0, 0, time.UTC)
	th := newThrottle(3, time.Minute)
	steps := []struct {
		addr        string
		at          time.Duration
		wantBlocked bool
	}{
		{"a", 0, false}, {"a", time.Second, false}, {"a", 2 * time.Second, false},
		{"a", 3 * time.Second, true},  // the fourth failure in the window
		{"b", 4 * time.Second, false}, // another address counts on its own
		{"a", 59 * time.Second, true},
		{"a", 60 * time.Second, false}, // a new window
	}
	for i, s := range steps {
		if _, blocked := th.fail(s.addr, start.Add(s.at)); blocked != s.wantBlocked {
			t.Errorf("step %d (%s at %v): got blocked %v, want %v", i, s.addr, s.at, blocked, s.wantBlocked)
		}
	}
}

// A flood of failures from ever new addresses within one window must not grow the
// throttle beyond its bound; the newest addresses are still counted.
func TestThrottleIsBounded(t *testing.T) {
	start := time.Date(2026, 3, 15, 11, 0, 0, 0, time.UTC)
	th := newThrottle(3, time.Minute)
	const flood = maxThrottled + maxThrottled/2
	for i := range flood {
		th.fail(fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255), start.Add(time.Duration(i)*time.Microsecond))
	}
	if got := len(th.entries); got > maxThrottled {
		t.Errorf("got %d addresses remembered, want at most %d", got, maxThrottled)
	}
	now := start.Add(time.Second)
	for i := range 4 {
		_, blocked := th.fail("192.0.2.1", now)
		if want := i == 3; blocked != want {
			t.Errorf("failure %d after the flood: got blocked %v, want %v", i+1, blocked, want)
		}
	}
}
