package store

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/bremen/regmo/migrations/testdb"
)

// TestRawScanAgrees keeps rowScanner's own decoding equal to pgx's: each value is scanned by
// both into the same type of destination, and both must give the same.
func TestRawScanAgrees(t *testing.T) {
	ctx := context.Background()
	conn := rawConn(t)
	tests := []struct {
		expr string
		dest func() any
	}{
		{`'Register 1 des Ressorts SF'::text`, func() any { return new(string) }},
		{`''::text`, func() any { return new(string) }},
		{`'§ 1 IDNrG äöü'::varchar`, func() any { return new(string) }},
		{`'planned'::stage`, func() any { return new(string) }},
		{`42::bigint`, func() any { return new(int64) }},
		{`(-9223372036854775807)::bigint`, func() any { return new(int64) }},
		{`7::integer`, func() any { return new(*int) }},
		{`(-2147483648)::integer`, func() any { return new(*int) }},
		{`NULL::integer`, func() any { return new(*int) }},
		{`'2026-01-02'::date`, func() any { return dateText{new(string)} }},
		{`'1999-12-31'::date`, func() any { return dateText{new(string)} }},
		{`'0001-01-01'::date`, func() any { return dateText{new(string)} }},
		{`NULL::date`, func() any { return dateText{new(string)} }},
		{`'2026-12-01 15:42:45.218841+00'::timestamptz`, func() any { return new(time.Time) }},
		{`'1999-12-31 23:59:59.999999+00'::timestamptz`, func() any { return new(time.Time) }},
		{`'1969-07-20 20:17:40.5+00'::timestamptz`, func() any { return new(time.Time) }},
		{`'0001-01-01 00:00:00+00'::timestamptz`, func() any { return new(time.Time) }},
		{`'2026-03-29 02:30:00 Europe/Berlin'::timestamptz`, func() any { return new(time.Time) }},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			want, got := tt.dest(), tt.dest()
			if err := conn.QueryRow(ctx, `SELECT `+tt.expr).Scan(want); err != nil {
				t.Fatal(err)
			}
			s := &rowScanner{cols: []entryColumn{{name: "c"}}, dest: []any{got}}
			if err := conn.QueryRow(ctx, `SELECT `+tt.expr).Scan(s); err != nil {
				t.Fatal(err)
			}
			if g, w := show(got), show(want); g != w {
				t.Errorf("got %s, want %s", g, w)
			}
		})
	}
}

// show prints a destination's value, the instant of a time in UTC.
func show(dest any) string {
	switch d := dest.(type) {
	case *time.Time:
		return d.UTC().Format(time.RFC3339Nano)
	case *string:
		return fmt.Sprintf("%q", *d)
	case dateText:
		return fmt.Sprintf("%q", *d.s)
	case *int64:
		return fmt.Sprint(*d)
	case **int:
		if *d == nil {
			return "nil"
		}
		return fmt.Sprint(**d)
	}
	return fmt.Sprintf("%#v", dest)
}

// TestRawScanSharesOneString: the text of a row's columns, read into one string, lands in
// each column's own destination, around the columns that are not text.
func TestRawScanSharesOneString(t *testing.T) {
	ctx := context.Background()
	conn := rawConn(t)
	var a, b, empty, date, null string
	var n int64
	var anlage *int
	s := &rowScanner{cols: make([]entryColumn, 7), dest: []any{&a, &n, dateText{&date}, &b, dateText{&null}, &empty, &anlage}}
	if err := conn.QueryRow(ctx, `SELECT 'Grundsteuer'::text, 42::bigint, DATE '2026-01-02', 'planned'::stage,
		NULL::date, ''::text, 7::integer`).Scan(s); err != nil {
		t.Fatal(err)
	}
	got := fmt.Sprintf("%q %d %q %q %q %q %d", a, n, date, b, null, empty, *anlage)
	if want := `"Grundsteuer" 42 "2026-01-02" "planned" "" "" 7`; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

// rawConn is a pgx connection to a fresh test database, closed when the test ends.
func rawConn(t *testing.T) *pgx.Conn {
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, testdb.DSN(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close(ctx) })
	return conn
}
