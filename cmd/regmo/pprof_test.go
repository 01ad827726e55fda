package main

import (
	"io"
	"log/slog"
	"strings"
	"testing"
)

// TestServePprofLoopbackOnly: the profiles listener serves on a loopback address only, since
// a profile shows the program's internals.
func TestServePprofLoopbackOnly(t *testing.T) {
	tests := []struct {
		addr string
		ok   bool
	}{
		{"127.0.0.1:0", true},
		{"localhost:0", true},
		{"[::1]:0", true},
		{"0.0.0.0:0", false},
		{":0", false},
		{"10.0.0.1:6060", false},
		{"example.org:6060", false},
		{"127.0.0.1", false},
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	for _, tt := range tests {
		t.Run(tt.addr, func(t *testing.T) {
			stop, err := servePprof(tt.addr, log)
			if stop != nil {
				stop()
			}
			if got := err == nil; got != tt.ok {
				t.Errorf("servePprof(%q): got error %v, want ok %v", tt.addr, err, tt.ok)
			}
			if err != nil && !strings.Contains(err.Error(), "REGMO_PPROF_ADDR") {
				t.Errorf("got error %q, want it to name REGMO_PPROF_ADDR", err)
			}
		})
	}
}
