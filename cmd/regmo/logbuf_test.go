package main

import (
	"bytes"
	"strings"
	"sync"
	"testing"
	"time"
)

// lockedBuffer is a bytes.Buffer the test may read while the log buffer's timer writes.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
	n  int // writes
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.n++
	return l.b.Write(p)
}

func (l *lockedBuffer) read() (string, int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String(), l.n
}

// TestLogBufferWritesWithinInterval: a line reaches the writer by the timer, without Close.
func TestLogBufferWritesWithinInterval(t *testing.T) {
	var out lockedBuffer
	const every = 50 * time.Millisecond
	b := newLogBuffer(&out, 1<<10, every)
	defer b.Close()
	start := time.Now()
	if _, err := b.Write([]byte("eins\n")); err != nil {
		t.Fatal(err)
	}
	// The timer's first tick is one interval away; a loaded machine may be late, but not by
	// seconds.
	for {
		if got, _ := out.read(); got == "eins\n" {
			break
		}
		if time.Since(start) > 20*every {
			got, _ := out.read()
			t.Fatalf("after %v: got %q written, want %q", time.Since(start), got, "eins\n")
		}
		time.Sleep(every / 10)
	}
	t.Logf("written after %v (interval %v)", time.Since(start), every)
}

func TestLogBuffer(t *testing.T) {
	tests := []struct {
		name   string
		lines  []string
		close  bool
		want   string // written before Close, or after it when close
		writes int    // the writer's calls
	}{
		{name: "buffered until the timer", lines: []string{"a\n", "b\n"}, want: "", writes: 0},
		{name: "close writes the rest", lines: []string{"a\n", "b\n"}, close: true, want: "a\nb\n", writes: 1},
		{name: "a full buffer writes what it holds", lines: []string{"123456\n", "abcdef\n"}, want: "123456\n", writes: 1},
		{name: "a line larger than the buffer goes through", lines: []string{"a\n", strings.Repeat("x", 20) + "\n"}, want: "a\n" + strings.Repeat("x", 20) + "\n", writes: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out lockedBuffer
			b := newLogBuffer(&out, 10, time.Hour)
			for _, l := range tt.lines {
				if n, err := b.Write([]byte(l)); err != nil || n != len(l) {
					t.Fatalf("write %q: got %d, %v, want %d, nil", l, n, err, len(l))
				}
			}
			if tt.close {
				if err := b.Close(); err != nil {
					t.Fatal(err)
				}
			} else {
				defer b.Close()
			}
			if got, n := out.read(); got != tt.want || n != tt.writes {
				t.Errorf("got %q in %d writes, want %q in %d", got, n, tt.want, tt.writes)
			}
		})
	}
}

// TestLogBufferAfterClose: what serve logs after the buffer's Close (its deferred closes)
// is written at once.
func TestLogBufferAfterClose(t *testing.T) {
	var out lockedBuffer
	b := newLogBuffer(&out, 1<<10, time.Hour)
	if _, err := b.Write([]byte("vorher\n")); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Write([]byte("danach\n")); err != nil {
		t.Fatal(err)
	}
	if got, _ := out.read(); got != "vorher\ndanach\n" {
		t.Errorf("got %q, want %q", got, "vorher\ndanach\n")
	}
	if err := b.Close(); err != nil {
		t.Errorf("second Close: got %v, want nil", err)
	}
}
