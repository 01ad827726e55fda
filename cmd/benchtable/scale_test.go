package main

import (
	"bytes"
	"os"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParseSizes(t *testing.T) {
	got, err := parseSizes("6M, 100k,1000000,100000")
	if err != nil {
		t.Fatal(err)
	}
	if want := []int{100_000, 1_000_000, 6_000_000}; !slices.Equal(got, want) {
		t.Errorf("parseSizes = %v, want %v", got, want)
	}
	for _, bad := range []string{"", "0", "-5", "ten", "1G"} {
		if _, err := parseSizes(bad); err == nil {
			t.Errorf("parseSizes(%q) accepted", bad)
		}
	}
}

func TestReplaceSection(t *testing.T) {
	const head = "# Benchmarks\n\ntable\n"
	sec := growthHeading + "\n\nnew\n"
	if got := replaceSection(head, growthHeading, sec); got != head+"\n"+sec {
		t.Errorf("appended:\n%q", got)
	}
	old := head + "\n" + growthHeading + "\n\nold\n"
	if got := replaceSection(old, growthHeading, sec); got != head+"\n"+sec {
		t.Errorf("replaced at the end:\n%q", got)
	}
	withTail := old + "\n## Later\n\nkept\n"
	if got, want := replaceSection(withTail, growthHeading, sec), head+"\n"+sec+"\n## Later\n\nkept\n"; got != want {
		t.Errorf("replaced in the middle:\n%q\nwant\n%q", got, want)
	}
	if got := section(withTail, growthHeading); got != growthHeading+"\n\nold\n" {
		t.Errorf("section = %q", got)
	}
	if got := section(head, growthHeading); got != "" {
		t.Errorf("section of a file without it = %q", got)
	}
	if got := replaceSection("", growthHeading, sec); got != sec {
		t.Errorf("into an empty file: %q", got)
	}
}

func TestGrowthSection(t *testing.T) {
	cfg := config{reports: 5, duration: 5 * time.Second, warmup: 2 * time.Second,
		out: "/x/BENCHMARKS.md", png: "/x/BENCHMARKS-scale.png"}
	md := growthSection(cfg, []scalePoint{{entries: 100_000, report: 0.02, asOf: 0.03,
		get: httpResult{rps: 9000, p99: 0.01}, list: httpResult{rps: 1500, p99: 0.05},
		rss: 40 << 20, peakRSS: 50 << 20, dbSize: 2 << 30, seed: 3 * time.Second,
		events: 166_667, snapshots: 1500 * time.Millisecond, sinceSnapshot: 1_234}},
		time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC), time.Minute, 64, "a machine", "abc1234")
	for _, want := range []string{growthHeading + "\n", "| 100,000 | 166,667 | 20.0 ms | 30.0 ms (1,234 since the snapshot) | 9,000 req/s · p99 10.0 ms | 1,500 req/s · p99 50.0 ms | 40 MiB (50 MiB) | 2.0 GiB | 3s | 1.5s |",
		"![growth](BENCHMARKS-scale.png)"} {
		if !strings.Contains(md, want) {
			t.Errorf("section lacks %q:\n%s", want, md)
		}
	}
}

func TestShortCount(t *testing.T) {
	for n, want := range map[int]string{100_000: "100 k", 1_000_000: "1 M", 6_000_000: "6 M", 2_500_000: "2.5 M", 10_000: "10 k", 1_234: "1234", 50: "50"} {
		if got := shortCount(n); got != want {
			t.Errorf("shortCount(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestWriteGrowthPNG(t *testing.T) {
	path := t.TempDir() + "/growth.png"
	points := []scalePoint{
		{entries: 100_000, report: 0.02, asOf: 0.03, get: httpResult{rps: 9000}, list: httpResult{rps: 1500}, rss: 40 << 20, peakRSS: 50 << 20},
		{entries: 1_000_000, report: 0.2, asOf: 0.3, get: httpResult{rps: 8800}, list: httpResult{rps: 1450}, rss: 41 << 20, peakRSS: 52 << 20},
	}
	if err := writeGrowthPNG(path, points); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(data, []byte("\x89PNG\r\n\x1a\n")) {
		t.Errorf("%s is not a PNG", path)
	}
}
