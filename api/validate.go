package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/labstack/echo/v4"

	"github.com/bremen/regmo/api/oapi"
	"github.com/bremen/regmo/api/strictjson"
	"github.com/bremen/regmo/domain"
)

// maxBodyBytes bounds every JSON request body.
const maxBodyBytes = 1 << 20

// maxJSONDepth bounds nesting; the deepest document the API defines has four levels.
const maxJSONDepth = 32

const mediaMergePatch = "application/merge-patch+json"

// contract is openapi.yaml, loaded once, with the table that names the operation of each route
// Echo matches.
type contract struct {
	doc    *openapi3.T
	routes map[routeID]*routers.Route
	// noStore lists the operations whose answers carry a token or a webhook's signing secret,
	// which no cache may keep.
	noStore map[*routers.Route]bool
	// params are each operation's parameters, sorted once.
	params map[*routers.Route]*routeParams
}

// spec is openapi.yaml, parsed and validated once per process: the contract's routes and the
// import's item schemas come from the same document.
var spec = sync.OnceValues(func() (*openapi3.T, error) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(oapi.Spec)
	if err != nil {
		return nil, fmt.Errorf("api: load openapi.yaml: %w", err)
	}
	if err := doc.Validate(loader.Context); err != nil {
		return nil, fmt.Errorf("api: openapi.yaml is invalid: %w", err)
	}
	// Match on paths only: the servers list names the development host, not every host
	// the service is reached under.
	doc.Servers = nil
	return doc, nil
})

func loadContract() (*contract, error) {
	doc, err := spec()
	if err != nil {
		return nil, err
	}
	routes, err := routeTable(doc)
	if err != nil {
		return nil, err
	}
	noStore := map[*routers.Route]bool{}
	params := map[*routers.Route]*routeParams{}
	for _, r := range routes {
		if answersToken(r.Operation) {
			noStore[r] = true
		}
		params[r] = newRouteParams(doc, r)
	}
	return &contract{doc: doc, routes: routes, noStore: noStore, params: params}, nil
}

// answersToken reports whether a response of op has a token member (the secret of an issued
// token).
func answersToken(op *openapi3.Operation) bool {
	for _, resp := range op.Responses.Map() {
		if resp.Value == nil {
			continue
		}
		for _, mt := range resp.Value.Content {
			if mt.Schema != nil && mt.Schema.Value != nil && (mt.Schema.Value.Properties["token"] != nil || mt.Schema.Value.Properties["secret"] != nil) {
				return true
			}
		}
	}
	return false
}

// validateParams checks path, query and header parameters against the contract.
func (ct *contract) validateParams(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		m, err := matched(c)
		if err != nil {
			return err
		}
		rp := ct.params[m.route]
		if public(m.route.Operation) && len(rp.query) == 0 {
			// Health, readiness and the contract take no parameters; probes and proxies that
			// add a query string (a cache buster) must still get their answer.
			m.passed |= checkedParams
			return next(c)
		}
		req := c.Request()
		var query url.Values // nil: no query to parse
		if req.URL.RawQuery != "" {
			query = req.URL.Query()
		}
		if err := checkQueryNames(query, rp.query); err != nil {
			return err
		}
		// Parameter by parameter: openapi3filter.ValidateRequest would also check the
		// security requirements, and read the whole body to do so, before any limit applies.
		// Authentication is the auth layer's job, before this one. The path parameters were
		// checked by matchRoute before the request got here, as m.params says.
		var input *openapi3filter.RequestValidationInput
		var errs openapi3.MultiError
		for _, p := range rp.other {
			if p.optional && absent(req, query, p.Parameter) {
				// ValidateParameter would find nothing to check, nor a default to set.
				continue
			}
			if input == nil {
				input = &openapi3filter.RequestValidationInput{
					Request:     req,
					PathParams:  m.params,
					QueryParams: query,
					Route:       m.route,
					Options:     &openapi3filter.Options{MultiError: true},
				}
			}
			if err := openapi3filter.ValidateParameter(req.Context(), input, p.Parameter); err != nil {
				errs = append(errs, err)
			}
		}
		if len(errs) > 0 {
			return requestProblem(errs)
		}
		m.passed |= checkedParams
		return next(c)
	}
}

// absent reports whether the request leaves out the query or header parameter p.
func absent(r *http.Request, query url.Values, p *openapi3.Parameter) bool {
	switch p.In {
	case openapi3.ParameterInQuery:
		_, ok := query[p.Name]
		return !ok
	case openapi3.ParameterInHeader:
		_, ok := r.Header[http.CanonicalHeaderKey(p.Name)]
		return !ok
	}
	return false
}

// checkQueryNames refuses parameters the operation does not define (a typo in a filter must
// not silently widen a listing) and repeated single-valued ones; defined are the operation's
// query parameters by name.
func checkQueryNames(query url.Values, defined map[string]*openapi3.Parameter) error {
	if len(query) == 0 {
		return nil
	}
	var fields []oapi.FieldError
	names := make([]string, 0, len(query))
	for name := range query {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		p, ok := defined[name]
		switch {
		case !ok:
			fields = append(fields, oapi.FieldError{Field: clip(name), Message: "is not a parameter of this operation"})
		case len(query[name]) > 1 && (p.Schema == nil || p.Schema.Value == nil || !p.Schema.Value.Type.Is(openapi3.TypeArray)):
			fields = append(fields, oapi.FieldError{Field: name, Message: "may be given only once"})
		default:
			if msg := queryValueProblem(query[name]); msg != "" {
				fields = append(fields, oapi.FieldError{Field: name, Message: msg})
			}
		}
	}
	if len(fields) > 0 {
		return newProblem(http.StatusBadRequest, "bad-parameter", "Invalid parameter",
			"The query names parameters this operation does not take, or repeats one.", fields...)
	}
	return nil
}

// queryValueProblem refuses values that kin-openapi lets through but that mean nothing:
// an empty value (limit= is not "no limit"), and text PostgreSQL cannot compare with (a NUL
// character, invalid UTF-8).
func queryValueProblem(values []string) string {
	for _, v := range values {
		switch {
		case v == "":
			return "is empty; leave the parameter out or give it a value"
		case !utf8.ValidString(v):
			return "is not valid UTF-8 text"
		case strings.ContainsRune(v, 0):
			return "must not contain a NUL character"
		}
	}
	return ""
}

// validateBody reads the body of operations that take one, refuses what encoding/json would
// silently accept, and checks it against the contract's schema, listing every broken field.
func (ct *contract) validateBody(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		m, err := matched(c)
		if err != nil {
			return err
		}
		if m.route.Operation.RequestBody == nil || m.route.Operation.RequestBody.Value == nil {
			// Nothing may read a body the operation does not take.
			c.Request().Body = http.NoBody
			m.passed |= checkedBody
			return next(c)
		}
		if streamed(m.route.Operation) {
			if err := handOver(c, m); err != nil {
				return err
			}
			m.passed |= checkedBody
			return next(c)
		}
		req := c.Request()
		body := m.route.Operation.RequestBody.Value
		if err := checkContentType(req, body); err != nil {
			return err
		}
		data, err := readBody(req, maxBodyBytes)
		if err != nil {
			return err
		}
		if err := checkJSON(data); err != nil {
			return err
		}
		req.Body = io.NopCloser(bytes.NewReader(data))
		input := &openapi3filter.RequestValidationInput{
			Request:    req,
			PathParams: m.params,
			Route:      m.route,
			Options: &openapi3filter.Options{
				ExcludeRequestQueryParams: true,
				MultiError:                true,
				KeepValidatedValue:        true,
				AuthenticationFunc:        openapi3filter.NoopAuthenticationFunc,
			},
		}
		if err := openapi3filter.ValidateRequestBody(context.WithoutCancel(req.Context()), input, body); err != nil {
			p := requestProblem(err)
			if kind, ok := replacingOperations[m.route.Operation.OperationID]; ok && p.status == http.StatusUnprocessableEntity {
				p.addDomainProblems(kind, data)
			}
			return p
		}
		m.passed |= checkedBody
		return next(c)
	}
}

// replacingOperations are the operations whose body is an entry's whole content.
var replacingOperations = map[string]domain.Kind{"putRegister": domain.KindRegister, "putOnlinedienst": domain.KindOnlinedienst}

// addDomainProblems adds what the domain rules find wrong with a body the contract refused,
// for the fields the contract had nothing to say about: the client hears of every broken
// field at once, not of the contract's half first and the rest on the next attempt. The body
// is decoded leniently: what the contract found unreadable stays empty, and was reported.
func (p *problem) addDomainProblems(kind domain.Kind, data []byte) {
	var c domain.Content
	_ = json.Unmarshal(data, &c)
	var contract []domain.FieldError
	if p.body.Errors != nil {
		for _, f := range *p.body.Errors {
			contract = append(contract, domain.FieldError{Field: f.Field, Message: f.Message})
		}
	}
	all := domain.MergeFieldErrors(contract, c.Problems(kind))
	fields := fieldErrors(all)
	p.body.Errors = &fields
}

// checkContentType requires a media type the operation declares. A PATCH also takes plain
// application/json as a merge patch, which is what most clients send.
func checkContentType(req *http.Request, body *openapi3.RequestBody) error {
	mediaType, _, err := mime.ParseMediaType(req.Header.Get(echo.HeaderContentType))
	accepted := make([]string, 0, len(body.Content))
	for mt := range body.Content {
		accepted = append(accepted, mt)
	}
	sort.Strings(accepted)
	if err == nil {
		if body.Content.Get(mediaType) != nil {
			return nil
		}
		if mediaType == echo.MIMEApplicationJSON && body.Content.Get(mediaMergePatch) != nil {
			req.Header.Set(echo.HeaderContentType, mediaMergePatch)
			return nil
		}
	}
	return newProblem(http.StatusUnsupportedMediaType, "unsupported-media-type", "Unsupported media type",
		fmt.Sprintf("This operation takes a body of type %s.", strings.Join(accepted, " or ")))
}

// readBody reads at most limit bytes of the body.
func readBody(req *http.Request, limit int64) ([]byte, error) {
	tooLarge := newProblem(http.StatusRequestEntityTooLarge, "too-large", "Request too large",
		fmt.Sprintf("The request body exceeds %d bytes.", limit))
	if req.ContentLength > limit {
		return nil, tooLarge
	}
	data, err := io.ReadAll(io.LimitReader(req.Body, limit+1))
	if err != nil {
		return nil, newProblem(http.StatusBadRequest, "bad-body", "Unreadable body", "The request body could not be read completely.")
	}
	if int64(len(data)) > limit {
		return nil, tooLarge
	}
	return data, nil
}

// checkJSON maps strictjson's findings to problems: what is not one clean JSON value is a
// 400; a string that PostgreSQL cannot store or a person cannot read is a 422 on its field.
func checkJSON(data []byte) error {
	err := strictjson.Check(data, maxJSONDepth)
	if err == nil {
		return nil
	}
	var serr *strictjson.Error
	if !errors.As(err, &serr) {
		return newProblem(http.StatusBadRequest, "bad-json", "Malformed JSON", "The request body is not valid JSON.")
	}
	switch serr.Kind {
	case strictjson.InvalidUTF8, strictjson.NUL:
		return newProblem(http.StatusUnprocessableEntity, "validation-failed", "Invalid input",
			"A string in the body is not clean UTF-8 text.", oapi.FieldError{Field: serr.Field, Message: serr.Detail})
	case strictjson.BOM:
		return newProblem(http.StatusBadRequest, "bad-json", "Malformed JSON",
			"The body starts with a UTF-8 byte order mark, which RFC 8259 forbids senders to add; send the JSON without it.")
	}
	detail := serr.Detail
	if serr.Field != "" {
		detail += " (at " + serr.Field + ")"
	}
	return newProblem(http.StatusBadRequest, "bad-json", "Malformed JSON", upperFirst(detail)+".")
}

func upperFirst(s string) string {
	s = strings.TrimSuffix(s, ".")
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// requestProblem turns kin-openapi's findings into one problem: parameter errors are 400,
// body schema errors 422, each naming its field.
func requestProblem(err error) *problem {
	var paramFields, bodyFields []oapi.FieldError
	for _, e := range flatten(err) {
		var reqErr *openapi3filter.RequestError
		if !errors.As(e, &reqErr) {
			paramFields = append(paramFields, oapi.FieldError{Message: e.Error()})
			continue
		}
		if reqErr.Parameter != nil {
			paramFields = append(paramFields, oapi.FieldError{Field: reqErr.Parameter.Name, Message: paramMessage(reqErr)})
			continue
		}
		if strings.HasPrefix(reqErr.Reason, "header Content-Type") {
			return newProblem(http.StatusUnsupportedMediaType, "unsupported-media-type", "Unsupported media type", "The body's content type is not accepted here.")
		}
		schemaErrs := schemaErrors(reqErr.Err)
		if len(schemaErrs) == 0 {
			return newProblem(http.StatusBadRequest, "bad-json", "Malformed body", "The request body cannot be read: "+reqErr.Reason+".")
		}
		for _, se := range schemaErrs {
			bodyFields = append(bodyFields, schemaField(se))
		}
	}
	if len(paramFields) > 0 {
		return newProblem(http.StatusBadRequest, "bad-parameter", "Invalid parameter",
			"A path, query or header parameter is invalid; errors names it.", paramFields...)
	}
	return newProblem(http.StatusUnprocessableEntity, "validation-failed", "Invalid input",
		"The request breaks rules of the inventory; errors lists every broken field.", bodyFields...)
}

// flatten unpacks kin-openapi's MultiError, but not one wrapped in a RequestError: that
// wrapper tells parameter errors from body errors.
func flatten(err error) []error {
	if multi, ok := err.(openapi3.MultiError); ok { //nolint:errorlint // on purpose: a MultiError inside a RequestError stays whole
		var out []error
		for _, e := range multi {
			out = append(out, flatten(e)...)
		}
		return out
	}
	return []error{err}
}

func schemaErrors(err error) []*openapi3.SchemaError {
	var out []*openapi3.SchemaError
	for _, e := range flatten(err) {
		var se *openapi3.SchemaError
		var multi openapi3.MultiError
		switch {
		case errors.As(e, &se):
			out = append(out, se)
		case errors.As(e, &multi):
			for _, inner := range multi {
				out = append(out, schemaErrors(inner)...)
			}
		}
	}
	return out
}

var unsupportedProperty = regexp.MustCompile(`^property "(.*)" is unsupported$`)

// schemaField names the field a schema error concerns, as readiness.noots.stage or
// leika_keys[2].
func schemaField(se *openapi3.SchemaError) oapi.FieldError {
	path := se.JSONPointer()
	msg := se.Reason
	if m := unsupportedProperty.FindStringSubmatch(se.Reason); m != nil {
		path = append(path, m[1])
		msg = "is not a field of this operation's body (names are case-sensitive)"
	} else if se.SchemaField == "required" {
		msg = "is required"
	}
	return oapi.FieldError{Field: jsonPath(path), Message: msg}
}

func jsonPath(segments []string) string {
	var b strings.Builder
	for _, s := range segments {
		if _, err := strconv.Atoi(s); err == nil {
			b.WriteString("[" + s + "]")
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(s)
	}
	return b.String()
}

func paramMessage(e *openapi3filter.RequestError) string {
	if ses := schemaErrors(e.Err); len(ses) > 0 {
		return ses[0].Reason
	}
	var pe *openapi3filter.ParseError
	if errors.As(e.Err, &pe) {
		return "cannot be read: " + pe.Reason
	}
	if e.Err != nil {
		return e.Err.Error()
	}
	return e.Reason
}
