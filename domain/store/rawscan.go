package store

import (
	"encoding/binary"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
)

// rowScanner scans a row of entries into its destinations (entryRow.nativeFields). The
// types most columns have (text, bigint, integer, date, timestamptz) it decodes from the
// bytes pgx received, as pgx's own plans would; pgx builds those plans anew for every query,
// which for GET one's 26 columns cost more than the decoding. The row's text (and its dates,
// as YYYY-MM-DD) is copied into one string that its fields share: one allocation instead of
// one per field, and the fields of an entry live and die together. Any other type, format or
// NULL goes through the connection's type map, as before (TestRawScanAgrees).
type rowScanner struct {
	cols []entryColumn
	dest []any
}

// span is where a column's text lies in the row's string; start -1 for a column that is not
// text.
type span struct{ start, end int }

var _ pgx.RowScanner = (*rowScanner)(nil)

// ScanRow implements pgx.RowScanner.
func (s *rowScanner) ScanRow(rows pgx.Rows) error {
	return s.scan(rows.FieldDescriptions(), rows.RawValues(), rows.Conn().TypeMap())
}

// scan decodes one row's values as they came from PostgreSQL (described by fields), with m
// for the types it does not decode itself.
func (s *rowScanner) scan(fields []pgconn.FieldDescription, raws [][]byte, m *pgtype.Map) error {
	if len(fields) != len(s.dest) || len(raws) != len(s.dest) {
		return fmt.Errorf("store: scan: %d columns, want %d", len(fields), len(s.dest))
	}
	// On the stack for every table of entries (29 columns at most).
	var room [32]span
	spans := room[:0]
	if len(s.dest) > len(room) {
		spans = make([]span, 0, len(s.dest))
	}
	spans = spans[:len(s.dest)]
	// One allocation for the row's text: room for every value's bytes, and a date's ten.
	var text strings.Builder
	size := 0
	for i, raw := range raws {
		size += len(raw)
		if _, ok := s.dest[i].(dateText); ok {
			size += len(time.DateOnly)
		}
	}
	text.Grow(size)
	for i, f := range fields {
		spans[i] = span{start: -1}
		start := text.Len()
		if rawText(f.DataTypeOID, f.Format, raws[i], s.dest[i], &text) {
			spans[i] = span{start: start, end: text.Len()}
			continue
		}
		if decodeRaw(f.DataTypeOID, f.Format, raws[i], s.dest[i]) {
			continue
		}
		if err := m.Scan(f.DataTypeOID, f.Format, raws[i], s.dest[i]); err != nil {
			return fmt.Errorf("store: scan %s: %w", s.cols[i].name, err)
		}
	}
	all := text.String()
	for i, sp := range spans {
		if sp.start < 0 {
			continue
		}
		switch d := s.dest[i].(type) {
		case *string:
			*d = all[sp.start:sp.end]
		case dateText:
			*d.s = all[sp.start:sp.end]
		}
	}
	return nil
}

// rawText writes the text of a text column (or of a date, as YYYY-MM-DD) to text; false if
// raw is none of these, or NULL.
func rawText(oid uint32, format int16, raw []byte, dest any, text *strings.Builder) bool {
	if raw == nil {
		return false
	}
	switch dest.(type) {
	case *string:
		// Text arrives as its bytes in either format, and so does any type in text format
		// (a domain over text: pgx asks text for the types it does not know).
		if format == pgtype.TextFormatCode || oid == pgtype.TextOID || oid == pgtype.VarcharOID {
			text.Write(raw)
			return true
		}
	case dateText:
		if format != pgtype.BinaryFormatCode || oid != pgtype.DateOID || len(raw) != 4 {
			return false
		}
		// ±infinity (the extremes of int32) stay pgx's.
		if days := int32(binary.BigEndian.Uint32(raw)); days != math.MaxInt32 && days != math.MinInt32 {
			var date [16]byte
			text.Write(time.Date(2000, time.January, 1+int(days), 0, 0, 0, 0, time.UTC).AppendFormat(date[:0], time.DateOnly))
			return true
		}
	}
	return false
}

// microsecFromUnixEpochToY2K is where PostgreSQL's timestamps count from, in Unix time.
const microsecFromUnixEpochToY2K = 946_684_800 * 1_000_000

// decodeRaw decodes raw (a column of type oid in format) into dest if it is a number, a
// time or a NULL date; false leaves it to pgx.
func decodeRaw(oid uint32, format int16, raw []byte, dest any) bool {
	switch d := dest.(type) {
	case *int64:
		if format == pgtype.BinaryFormatCode && oid == pgtype.Int8OID && len(raw) == 8 {
			*d = int64(binary.BigEndian.Uint64(raw))
			return true
		}
	case **int:
		if format == pgtype.BinaryFormatCode && oid == pgtype.Int4OID {
			switch len(raw) {
			case 0:
				if raw == nil {
					*d = nil
					return true
				}
			case 4:
				n := int(int32(binary.BigEndian.Uint32(raw)))
				*d = &n
				return true
			}
		}
	case dateText:
		if raw == nil && format == pgtype.BinaryFormatCode && oid == pgtype.DateOID {
			*d.s = ""
			return true
		}
	case *time.Time:
		if format == pgtype.BinaryFormatCode && oid == pgtype.TimestamptzOID && len(raw) == 8 {
			us := int64(binary.BigEndian.Uint64(raw))
			// ±infinity (the extremes of int64) stay pgx's to refuse; PostgreSQL holds no
			// other value this far from 2000.
			const limit = 1 << 60
			if us > -limit && us < limit {
				*d = time.Unix(microsecFromUnixEpochToY2K/1_000_000+us/1_000_000, us%1_000_000*1_000)
				return true
			}
		}
	}
	return false
}
