package api

import (
	"bufio"
	"context"

	"github.com/bremen/regmo/api/param"
	"github.com/bremen/regmo/api/render"
)

// headerSeparator tells from the header line whether a CSV file separates its fields with
// ';' (what German Excel writes) or ','. Column names contain neither, so the one the header
// uses more, outside quotes, is the separator; a header of one column is read with ','.
func headerSeparator(br *bufio.Reader) byte {
	head, _ := br.Peek(maxHeaderBytes)
	quoted := false
	commas, semicolons := 0, 0
	for _, ch := range head {
		if ch == '"' {
			quoted = !quoted
			continue
		}
		if quoted {
			continue
		}
		switch ch {
		case ',':
			commas++
		case ';':
			semicolons++
		case '\n', '\r':
			if semicolons > commas {
				return ';'
			}
			return ','
		}
	}
	if semicolons > commas {
		return ';'
	}
	return ','
}

// csvDialect is the dialect a CSV download is written in. dialect=excel-de selects CSV when
// the format is not named, and contradicts any other format.
func csvDialect(ctx context.Context, format, dialect *string) (csv bool, d render.Dialect, err error) {
	if dialect == nil {
		return wantsCSV(ctx, format), render.RFC4180, nil
	}
	if format != nil && *format != "csv" {
		return false, d, &param.Error{Name: "dialect", Message: "applies to CSV only; leave it out or ask for format=csv"}
	}
	return true, render.ExcelDE, nil
}
