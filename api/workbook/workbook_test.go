package workbook

import "testing"

func TestUnescape(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain", "plain"},
		{"a_x000D_b", "a\rb"},
		{"_x005F_x000D_", "_x000D_"}, // an escaped underscore keeps the text that follows
		{"_x00zz_", "_x00zz_"},
		{"end_x", "end_x"},
	}
	for _, tt := range tests {
		if got := unescape(tt.in); got != tt.want {
			t.Errorf("unescape(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestColumn(t *testing.T) {
	tests := []struct {
		ref  string
		want int
		ok   bool
	}{
		{"A1", 1, true}, {"Z9", 26, true}, {"AA10", 27, true}, {"xfd1", 16384, true},
		{"XFE1", 0, false}, {"BDWGN2", 0, false}, {"A", 0, false}, {"1A", 0, false}, {"", 0, false},
	}
	for _, tt := range tests {
		got, ok := column(tt.ref)
		if got != tt.want || ok != tt.ok {
			t.Errorf("column(%q) = %d, %v; want %d, %v", tt.ref, got, ok, tt.want, tt.ok)
		}
	}
	for col, want := range map[int]string{1: "A", 26: "Z", 27: "AA", 16384: "XFD"} {
		if got := ColumnName(col); got != want {
			t.Errorf("ColumnName(%d) = %s, want %s", col, got, want)
		}
	}
}
