package api

import "testing"

func TestCellConversions(t *testing.T) {
	dates := []struct {
		serial   float64
		date1904 bool
		want     string
	}{
		{46387, false, "2026-12-31"},
		{46387.75, false, "2026-12-31"}, // a time of day is dropped
		{61, false, "1900-03-01"},
		{59, false, "1900-02-28"},
		{1, false, "1900-01-01"},
		{44926, true, "2027-01-01"},
	}
	for _, tt := range dates {
		if got := excelDate(tt.serial, tt.date1904); got != tt.want {
			t.Errorf("excelDate(%v, %v) = %s, want %s", tt.serial, tt.date1904, got, tt.want)
		}
	}
	for in, want := range map[string]string{"5": "5", "5.0": "5", "9.9050012104E+13": "99050012104000", "0.5": "0.5", "abc": "abc"} {
		if got := numberText(in); got != want {
			t.Errorf("numberText(%q) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[string]string{"30.06.2027": "2027-06-30", "1.7.2027": "2027-07-01", "2027-06-30": "2027-06-30",
		"30.06.27": "30.06.27", "a.b.cdef": "a.b.cdef", "": ""} {
		if got := isoDate(in); got != want {
			t.Errorf("isoDate(%q) = %q, want %q", in, got, want)
		}
	}
}
