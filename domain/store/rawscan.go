package store

import (
	"encoding/binary"
	"fmt"
	"math"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
)

// rowScanner scans a row of entries into its destinations (entryRow.nativeFields). The
// types most columns have (text, bigint, integer, date, timestamptz) it decodes from the bytes pgx
// received, as pgx's own plans would; pgx builds those plans anew for every query, which for
// GET one's 26 columns cost more than the decoding. Any other type, format or NULL goes
// through the connection's type map, as before (TestRawScanAgrees).
type rowScanner struct {
	cols []entryColumn
	dest []any
}

var _ pgx.RowScanner = (*rowScanner)(nil)

// ScanRow implements pgx.RowScanner.
func (s *rowScanner) ScanRow(rows pgx.Rows) error {
	fields, raws := rows.FieldDescriptions(), rows.RawValues()
	if len(fields) != len(s.dest) || len(raws) != len(s.dest) {
		return fmt.Errorf("store: scan: %d columns, want %d", len(fields), len(s.dest))
	}
	for i, f := range fields {
		if decodeRaw(f.DataTypeOID, f.Format, raws[i], s.dest[i]) {
			continue
		}
		if err := rows.Conn().TypeMap().Scan(f.DataTypeOID, f.Format, raws[i], s.dest[i]); err != nil {
			return fmt.Errorf("store: scan %s: %w", s.cols[i].name, err)
		}
	}
	return nil
}

// microsecFromUnixEpochToY2K is where PostgreSQL's timestamps count from, in Unix time.
const microsecFromUnixEpochToY2K = 946_684_800 * 1_000_000

// decodeRaw decodes raw (a column of type oid in format) into dest if it is one of the plain
// cases; false leaves it to pgx.
func decodeRaw(oid uint32, format int16, raw []byte, dest any) bool {
	switch d := dest.(type) {
	case *string:
		// Text arrives as its bytes in either format, and so does any type in text format
		// (a domain over text: pgx asks text for the types it does not know).
		if raw != nil && (format == pgtype.TextFormatCode || oid == pgtype.TextOID || oid == pgtype.VarcharOID) {
			*d = string(raw)
			return true
		}
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
		if format == pgtype.BinaryFormatCode && oid == pgtype.DateOID {
			if raw == nil {
				*d.s = ""
				return true
			}
			if len(raw) != 4 {
				return false
			}
			// ±infinity (the extremes of int32) stay pgx's.
			if days := int32(binary.BigEndian.Uint32(raw)); days != math.MaxInt32 && days != math.MinInt32 {
				*d.s = time.Date(2000, time.January, 1+int(days), 0, 0, 0, 0, time.UTC).Format(time.DateOnly)
				return true
			}
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
