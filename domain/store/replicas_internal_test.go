package store

import "testing"

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
