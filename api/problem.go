package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/bremen/regmo/api/oapi"
	"github.com/bremen/regmo/api/param"
	"github.com/bremen/regmo/domain"
	"github.com/bremen/regmo/domain/access"
	"github.com/bremen/regmo/domain/store"
	"github.com/bremen/regmo/domain/transfer"
)

// problemTypeBase prefixes the type URI of every problem regmo reports.
const problemTypeBase = "https://regmo.bremen.de/problems/"

// problem is an error that already knows its HTTP answer. The request path uses it for
// problems found before the domain is reached (syntax, content type, size, authentication).
type problem struct {
	status int
	body   oapi.Problem
	header http.Header // extra response headers, e.g. WWW-Authenticate
}

func (p *problem) Error() string { return p.body.Title + ": " + p.body.Detail }

// newProblem builds a problem; slug names its type.
func newProblem(status int, slug, title, detail string, fields ...oapi.FieldError) *problem {
	p := &problem{status: status, body: oapi.Problem{
		Type:   problemTypeBase + slug,
		Title:  title,
		Status: status,
		Detail: detail,
	}}
	if len(fields) > 0 {
		p.body.Errors = &fields
	}
	return p
}

// problemFor turns any error into its HTTP status and problem body. It is the one place
// where errors meet status codes; what it does not recognise is a 500 that reveals nothing.
func problemFor(err error) *problem {
	var (
		p          *problem
		verr       *domain.ValidationError
		perr       *param.Error
		nf         *domain.NotFoundError
		referenced *domain.ReferencedError
		httpErr    *echo.HTTPError
		importErr  *transfer.ImportError
		badImport  *transfer.BadImportError
		tooLarge   *transfer.ImportTooLargeError
		foreign    *store.ForbiddenRessortsError
	)
	switch {
	case errors.As(err, &p):
		return p
	case errors.As(err, &importErr):
		return importProblem(importErr)
	case errors.As(err, &badImport):
		var fields []oapi.FieldError
		if badImport.Field != "" || badImport.Index >= 0 {
			fe := oapi.FieldError{Field: badImport.Field, Message: "cannot be read"}
			if badImport.Index >= 0 {
				fe.Index = &badImport.Index
			}
			fields = append(fields, fe)
		}
		return newProblem(http.StatusBadRequest, "bad-import", "Unreadable import", badImport.Detail, fields...)
	case errors.As(err, &tooLarge):
		return newProblem(http.StatusRequestEntityTooLarge, "too-large", "Request too large", tooLarge.Detail)
	case errors.As(err, &foreign):
		return newProblem(http.StatusForbidden, "forbidden", "Forbidden",
			fmt.Sprintf("The request names entries of %s, which your roles do not allow you to change; nothing was written.", strings.Join(foreign.Ressorts, ", ")))
	case errors.As(err, &verr):
		return newProblem(http.StatusUnprocessableEntity, "validation-failed", "Invalid input",
			"The request breaks rules of the inventory; errors lists every broken field.", fieldErrors(verr.Fields)...)
	case errors.As(err, &perr):
		return newProblem(http.StatusBadRequest, "bad-parameter", "Invalid parameter",
			fmt.Sprintf("Parameter %s %s.", perr.Name, perr.Message), oapi.FieldError{Field: perr.Name, Message: perr.Message})
	case errors.Is(err, store.ErrCursor):
		return problemFor(&param.Error{Name: "cursor", Message: "is not a cursor of this listing; pass next_cursor from the previous page with the same filters"})
	case errors.Is(err, store.ErrLimit):
		return problemFor(&param.Error{Name: "limit", Message: fmt.Sprintf("must be between 1 and %d", domain.MaxLimit)})
	case errors.As(err, &nf):
		return newProblem(http.StatusNotFound, "not-found", "Not found", nf.Detail+".")
	case errors.Is(err, domain.ErrPrecondition):
		return newProblem(http.StatusPreconditionFailed, "precondition-failed", "Precondition failed",
			"If-Match does not name the current version of the entry (or the entry does not exist); read it again and retry with its ETag.")
	case errors.As(err, &referenced):
		p := newProblem(http.StatusConflict, "still-referenced", "Register still in use",
			"The register is named in nachweise_from of "+referenced.Describe()+"; remove it there first.")
		by := make([]string, len(referenced.By))
		for i, r := range referenced.By {
			by[i] = r.String()
		}
		p.body.ReferencedBy = &by
		return p
	case errors.As(err, &httpErr):
		return echoProblem(httpErr)
	case errors.Is(err, domain.ErrBusy):
		return newProblem(http.StatusServiceUnavailable, "busy", "Busy with concurrent writes",
			"Others changed the same entries at the same moment, several times over; nothing was written. Send the request again in a few seconds.")
	case unavailable(err):
		return newProblem(http.StatusServiceUnavailable, "unavailable", "Service unavailable",
			"The database cannot be reached at the moment; retry in a few seconds.")
	}
	return newProblem(http.StatusInternalServerError, "internal", "Internal error",
		"The request failed on the server; the request id in the log tells the operators what happened.")
}

// importProblem lists an import's errors with the item each concerns.
func importProblem(e *transfer.ImportError) *problem {
	fields := make([]oapi.FieldError, len(e.Errors))
	for i, ie := range e.Errors {
		fe := oapi.FieldError{Field: ie.Field, Message: ie.Message}
		if ie.Index >= 0 {
			fe.Index = &ie.Index
		}
		if ie.Line > 0 {
			fe.Line = &ie.Line
		}
		if ie.Sheet != "" {
			sheet := oapi.FieldErrorSheet(ie.Sheet)
			fe.Sheet = &sheet
		}
		if ie.Cell != "" {
			fe.Cell = &ie.Cell
		}
		if ie.Kind != "" {
			k := oapi.FieldErrorKind(ie.Kind)
			fe.Kind = &k
		}
		if ie.Ressort != "" {
			fe.Ressort = &ie.Ressort
		}
		if ie.Key != "" {
			fe.Key = &ie.Key
		}
		fields[i] = fe
	}
	detail := fmt.Sprintf("The import has %d error(s); nothing was written. errors lists each with its item.", e.Total)
	if e.Total > len(e.Errors) {
		detail = fmt.Sprintf("The import has %d errors; nothing was written. errors lists the first %d.", e.Total, len(e.Errors))
	}
	p := newProblem(http.StatusUnprocessableEntity, "import-invalid", "Invalid import", detail, fields...)
	total := e.Total
	p.body.ErrorCount = &total
	return p
}

func fieldErrors(fs []domain.FieldError) []oapi.FieldError {
	out := make([]oapi.FieldError, len(fs))
	for i, f := range fs {
		out[i] = oapi.FieldError{Field: f.Field, Message: f.Message}
	}
	return out
}

// echoProblem covers what Echo's router and binder report.
func echoProblem(e *echo.HTTPError) *problem {
	switch e.Code {
	case http.StatusNotFound:
		return newProblem(e.Code, "no-route", "Not found", "There is no resource at this path.")
	case http.StatusMethodNotAllowed:
		return newProblem(e.Code, "method-not-allowed", "Method not allowed", "This resource does not support the method; the Allow header lists the ones it does.")
	case http.StatusRequestEntityTooLarge:
		return newProblem(e.Code, "too-large", "Request too large", "The request body exceeds the limit.")
	case http.StatusUnsupportedMediaType:
		return newProblem(e.Code, "unsupported-media-type", "Unsupported media type", "The body's content type is not accepted here.")
	}
	if e.Code >= 400 && e.Code < 500 {
		return newProblem(e.Code, "bad-request", http.StatusText(e.Code), "The request cannot be processed as sent.")
	}
	return newProblem(http.StatusInternalServerError, "internal", "Internal error",
		"The request failed on the server; the request id in the log tells the operators what happened.")
}

// unavailable reports whether err means the database is away rather than the request wrong.
// Request bodies that end early are reported before this, by their readers, so an unexpected
// EOF here is the database's.
func unavailable(err error) bool {
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, access.ErrDatabaseDown) || store.ConnectionLost(err)
}

// writeProblem sends p as application/problem+json.
func writeProblem(c echo.Context, p *problem) error {
	body := p.body
	if id, ok := c.Get(requestIDKey).(string); ok {
		body.RequestId = &id
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // details quote "<token>"; this is not HTML
	if err := enc.Encode(body); err != nil {
		return err
	}
	data := buf.Bytes()
	h := c.Response().Header()
	for k, vs := range p.header {
		for _, v := range vs {
			h.Add(k, v)
		}
	}
	h.Set(echo.HeaderContentType, "application/problem+json")
	if p.status == http.StatusServiceUnavailable {
		h.Set("Retry-After", "5")
	}
	c.Response().WriteHeader(p.status)
	_, err := c.Response().Write(data)
	return err
}

// errorHandler is Echo's HTTPErrorHandler: every error of every route ends here.
func (s *Server) errorHandler(err error, c echo.Context) {
	if clientGone(c, err) {
		// Nobody reads an answer, and the server did nothing wrong: logged and counted as
		// 499 (nginx's "client closed request"), so that 5xx alerts mean a server fault.
		c.Response().Status = statusClientClosed
		return
	}
	if c.Response().Committed {
		// The answer had begun (a streamed export) when the work failed. The client must
		// not take what it got for the whole file: the connection ends without the end of
		// the body (requestID aborts it once the request is logged and counted as a 500).
		s.log.ErrorContext(c.Request().Context(), "request failed after its answer had begun; the connection is aborted",
			slog.String("request_id", requestID(c)), slog.String("error", err.Error()))
		c.Response().Status = http.StatusInternalServerError
		c.Set(abortKey, true)
		return
	}
	p := problemFor(err)
	if p.status >= 500 {
		s.log.ErrorContext(c.Request().Context(), "request failed",
			slog.String("request_id", requestID(c)), slog.String("error", err.Error()))
	}
	if err := writeProblem(c, p); err != nil {
		s.log.WarnContext(c.Request().Context(), "write problem", slog.String("error", err.Error()))
	}
}

// statusClientClosed is the status logged for a request its client abandoned.
const statusClientClosed = 499

// clientGone reports whether err comes from the client closing the connection: the request's
// context was cancelled, and not by the service itself (deadline marks a request the watch
// ended with access.ErrDatabaseDown; deadlines expire with DeadlineExceeded).
func clientGone(c echo.Context, err error) bool {
	ctx := c.Request().Context()
	return errors.Is(err, context.Canceled) && !errors.Is(err, access.ErrDatabaseDown) &&
		errors.Is(ctx.Err(), context.Canceled) && errors.Is(context.Cause(ctx), context.Canceled)
}

// abortKey marks a request whose connection must be aborted: its answer began and cannot be
// finished.
const abortKey = "regmo.abort"
