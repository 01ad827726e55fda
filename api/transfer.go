package api

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/labstack/echo/v4"

	"github.com/bremen/regmo/api/oapi"
	"github.com/bremen/regmo/api/param"
	"github.com/bremen/regmo/api/render"
	"github.com/bremen/regmo/domain"
	"github.com/bremen/regmo/domain/transfer"
)

// streamed reports whether an operation reads its body as a stream, item by item, instead of
// having it read, checked and decoded whole by the request path (an import may be 64 MiB):
// openapi.yaml marks it x-regmo-streamed, and the generated request object carries the body
// unread as Body.
func streamed(op *openapi3.Operation) bool {
	v, _ := op.Extensions["x-regmo-streamed"].(bool)
	return v
}

type mediaKey struct{}

// streamMedia is what the request path learnt of a streamed body's media type.
type streamMedia struct{ csv, xlsx bool }

// handOver prepares the body of a streamed operation: content type checked, size bounded.
func handOver(c echo.Context, m *matchedRoute) error {
	req := c.Request()
	if err := checkContentType(req, m.route.Operation.RequestBody.Value); err != nil {
		return err
	}
	mediaType, _, _ := mime.ParseMediaType(req.Header.Get(echo.HeaderContentType))
	if req.ContentLength > transfer.MaxImportBytes {
		return newProblem(http.StatusRequestEntityTooLarge, "too-large", "Request too large",
			fmt.Sprintf("The import body exceeds %d bytes; split it.", transfer.MaxImportBytes))
	}
	ctx := context.WithValue(req.Context(), mediaKey{}, streamMedia{csv: mediaType == mediaCSV, xlsx: mediaType == mediaXLSX})
	req = req.WithContext(ctx)
	req.Body = http.MaxBytesReader(c.Response(), req.Body, transfer.MaxImportBytes)
	c.SetRequest(req)
	return nil
}

func (h *handler) ImportInventory(ctx context.Context, req oapi.ImportInventoryRequestObject) (oapi.ImportInventoryResponseObject, error) {
	in, ok := ctx.Value(mediaKey{}).(streamMedia)
	if !ok || req.Body == nil {
		return nil, errors.New("api: import body was not handed over")
	}
	p := req.Params
	var src transfer.ImportSource
	var wb *xlsxImport
	switch {
	case in.xlsx && p.Kind != nil:
		return nil, &param.Error{Name: "kind", Message: "applies to CSV imports only; a workbook names its kinds by its sheets Register and Onlinedienste"}
	case in.xlsx:
		var err error
		if wb, err = newXLSXImport(req.Body); err != nil {
			return nil, err
		}
		defer wb.Close()
		src = wb
	case in.csv && p.Kind == nil:
		return nil, &param.Error{Name: "kind", Message: "is required for a CSV import (registers or onlinedienste)"}
	case in.csv:
		src = newCSVImport(req.Body, transferKind(string(*p.Kind)))
	case p.Kind != nil:
		return nil, &param.Error{Name: "kind", Message: "applies to CSV imports only; a JSON import names its lists"}
	default:
		j, err := newJSONImport(req.Body)
		if err != nil {
			return nil, err
		}
		src = j
	}
	opt := transfer.ImportOptions{DryRun: deref(p.DryRun)}
	replace := p.Mode != nil && *p.Mode == oapi.Replace
	switch {
	case replace && p.Ressort == nil:
		return nil, &param.Error{Name: "ressort", Message: "is required with mode=replace"}
	case replace:
		opt.Replace = *p.Ressort
	case p.Ressort != nil:
		return nil, &param.Error{Name: "ressort", Message: "applies only with mode=replace"}
	}
	res, err := h.transfer.Import(ctx, actor(ctx), writeScope(ctx), src, opt)
	var verr *transfer.ImportError
	if (in.csv || in.xlsx) && errors.As(err, &verr) {
		for i := range verr.Errors {
			verr.Errors[i].Field = csvField(verr.Errors[i].Field)
		}
		if wb != nil {
			wb.annotate(verr)
		}
	}
	if err != nil {
		return nil, err
	}
	out := oapi.ImportInventory200JSONResponse{DryRun: res.DryRun, Created: res.Created, Updated: res.Updated,
		Unchanged: res.Unchanged, Deleted: res.Deleted, Items: make([]oapi.ImportedItem, len(res.Items))}
	for i, it := range res.Items {
		item := oapi.ImportedItem{Kind: oapi.ImportedItemKind(it.Kind), Ressort: it.Ressort, Key: it.Key,
			Action: oapi.ImportedItemAction(it.Action)}
		if it.Index >= 0 {
			item.Index = &it.Index
		}
		if it.Line > 0 {
			item.Line = &it.Line
		}
		if it.Sheet != "" {
			item.Sheet = &it.Sheet
		}
		out.Items[i] = item
	}
	return out, nil
}

// csvField names the column of a field: readiness.idnr.stage is idnr_stage, leika_keys[2]
// is leika_keys.
func csvField(field string) string {
	field, _, _ = strings.Cut(field, "[")
	if rest, ok := strings.CutPrefix(field, "readiness."); ok {
		return strings.Replace(rest, ".", "_", 1)
	}
	return field
}

func transferKind(k string) domain.Kind {
	if k == "onlinedienste" {
		return domain.KindOnlinedienst
	}
	return domain.KindRegister
}

func (h *handler) ExportInventory(ctx context.Context, req oapi.ExportInventoryRequestObject) (oapi.ExportInventoryResponseObject, error) {
	p := req.Params
	kinds := []domain.Kind{domain.KindRegister, domain.KindOnlinedienst}
	if p.Kind != nil {
		kinds = []domain.Kind{transferKind(string(*p.Kind))}
	}
	var ressorts []string
	if p.Ressort != nil {
		ressorts = *p.Ressort
	}
	sc := readScope(ctx)
	export := func(yield func(domain.Entry) error) error {
		return h.transfer.For(actor(ctx)).Export(ctx, sc, ressorts, kinds, yield)
	}
	name := "regmo-export-" + h.inventory.Today()
	csv, dialect, err := csvDialect(ctx, (*string)(p.Format), (*string)(p.Dialect))
	if err != nil {
		return nil, err
	}
	if csv {
		if p.Kind == nil {
			return nil, &param.Error{Name: "kind", Message: "is required for a CSV export (registers or onlinedienste)"}
		}
		return exportResponse{contentType: "text/csv; charset=utf-8", filename: name + ".csv",
			write: func(w io.Writer) error { return writeCSVExportTo(w, kinds[0], dialect, export) }}, nil
	}
	if p.Format != nil && *p.Format == oapi.ExportInventoryParamsFormatXlsx {
		return exportResponse{contentType: mediaXLSX, filename: name + ".xlsx",
			write: func(w io.Writer) error { return writeXLSXExport(w, kinds, export) }}, nil
	}
	return exportResponse{contentType: "application/json", filename: name + ".json",
		write: func(w io.Writer) error { return writeJSONExport(w, kinds, export) }}, nil
}

func writeCSVExportTo(w io.Writer, kind domain.Kind, d render.Dialect, export func(func(domain.Entry) error) error) error {
	x, err := newCSVExport(w, kind, d)
	if err != nil {
		return err
	}
	if err := export(x.write); err != nil {
		return err
	}
	return x.flush()
}

// writeJSONExport writes {"registers": [...], "onlinedienste": [...]}, one item per line.
// Every kind asked for has its list, empty or not, so the shape does not depend on the data.
func writeJSONExport(w io.Writer, kinds []domain.Kind, export func(func(domain.Entry) error) error) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	written := map[domain.Kind]bool{}
	current := domain.Kind("")
	open := func(k domain.Kind) error {
		sep := "{"
		if len(written) > 0 {
			sep = ","
		}
		written[k] = true
		_, err := fmt.Fprintf(w, "%s\n%q: [", sep, importMemberName(k))
		return err
	}
	err := export(func(e domain.Entry) error {
		sep := ","
		if e.Kind != current {
			if current != "" {
				if _, err := io.WriteString(w, "]"); err != nil {
					return err
				}
			}
			if err := open(e.Kind); err != nil {
				return err
			}
			current, sep = e.Kind, ""
		}
		if _, err := io.WriteString(w, sep); err != nil {
			return err
		}
		return enc.Encode(transferItem{Ressort: e.Ressort, Key: e.Key, Content: e.Content})
	})
	if err != nil {
		return err
	}
	if current != "" {
		if _, err := io.WriteString(w, "]"); err != nil {
			return err
		}
	}
	for _, k := range kinds {
		if !written[k] {
			if err := open(k); err != nil {
				return err
			}
			if _, err := io.WriteString(w, "]"); err != nil {
				return err
			}
		}
	}
	_, err = io.WriteString(w, "}\n")
	return err
}

// exportResponse streams an export. The status line goes out with the first bytes, so an
// error before them (the database away) is still answered as a problem.
type exportResponse struct {
	contentType, filename string
	write                 func(io.Writer) error
}

func (r exportResponse) VisitExportInventoryResponse(w http.ResponseWriter) error {
	lw := &lazyHeader{w: w, set: func(h http.Header) {
		h.Set("Content-Type", r.contentType)
		h.Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s"`, r.filename))
	}}
	bw := bufio.NewWriterSize(lw, 64<<10)
	if err := r.write(bw); err != nil {
		return err
	}
	return bw.Flush()
}

// lazyHeader writes the status and headers just before the first byte of the body.
type lazyHeader struct {
	w       http.ResponseWriter
	set     func(http.Header)
	started bool
}

func (l *lazyHeader) Write(p []byte) (int, error) {
	if !l.started {
		l.started = true
		l.set(l.w.Header())
		l.w.WriteHeader(http.StatusOK)
	}
	return l.w.Write(p)
}
