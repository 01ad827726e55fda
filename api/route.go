package api

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"unicode/utf16"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/labstack/echo/v4"

	"github.com/bremen/regmo/api/oapi"
)

// Echo is the only router. The route it matched (method and path template, e.g.
// /v1/ressorts/:code/registers/:key) names the operation through a table built once from
// openapi.yaml. Every check of the request path refuses a request whose operation it does not
// know, and a handler runs only for a request that every check passed as its operation:
// nothing fails open when Echo and the contract would disagree about a path.

// routeID is a route as Echo names it.
type routeID struct{ method, path string }

// routeKey is where the request path keeps the matched route.
const routeKey = "regmo.route"

// check is one check a request passes before its handler runs.
type check uint8

const (
	checkedAuthentication check = 1 << iota
	checkedAuthorization
	checkedParams
	checkedBody

	checkedAll = checkedAuthentication | checkedAuthorization | checkedParams | checkedBody
)

// matchedRoute is the operation of a request, its path parameters (percent-decoded) and the
// checks it has passed.
type matchedRoute struct {
	route  *routers.Route
	params map[string]string
	passed check
}

// operationID returns the operation of the request, or "" while it has none.
func operationID(c echo.Context) string {
	if m, ok := c.Get(routeKey).(*matchedRoute); ok {
		return m.route.Operation.OperationID
	}
	return ""
}

// matched returns the operation of the request. A check that finds none refuses with it:
// the request never reaches a handler.
func matched(c echo.Context) (*matchedRoute, error) {
	if m, ok := c.Get(routeKey).(*matchedRoute); ok {
		return m, nil
	}
	return nil, errNoOperation()
}

// errNoOperation answers a request the contract has no operation for like one Echo has no
// route for: 404 no-route. It is client input that names nothing (not a server fault, so not
// 500), and 404 reveals no more than any unknown path does.
func errNoOperation() *problem {
	return newProblem(http.StatusNotFound, "no-route", "Not found", "There is no resource at this path.")
}

// echoPath turns an OpenAPI path template into Echo's: {code} becomes :code.
func echoPath(openapiPath string) string {
	segments := strings.Split(openapiPath, "/")
	for i, s := range segments {
		if strings.HasPrefix(s, "{") && strings.HasSuffix(s, "}") {
			segments[i] = ":" + s[1:len(s)-1]
		}
	}
	return strings.Join(segments, "/")
}

// routeTable maps every operation of doc to the route Echo registers for it.
func routeTable(doc *openapi3.T) (map[routeID]*routers.Route, error) {
	routes := map[routeID]*routers.Route{}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			if op.OperationID == "" {
				return nil, fmt.Errorf("api: %s %s has no operationId", method, path)
			}
			routes[routeID{method: method, path: echoPath(path)}] = &routers.Route{
				Spec: doc, Path: path, PathItem: item, Method: method, Operation: op,
			}
		}
	}
	return routes, nil
}

// tableRouter registers the generated routes on Echo, each behind a guard, and notes any route
// the table does not know.
type tableRouter struct {
	e       *echo.Echo
	s       *Server
	routes  map[routeID]*routers.Route
	seen    map[routeID]bool
	unknown []string
}

var _ oapi.EchoRouter = (*tableRouter)(nil)

// register adds the routes of si; every generated route must be an operation of the table and
// every operation a route, or the server does not start.
func (s *Server) register(si oapi.ServerInterface) error {
	r := &tableRouter{e: s.echo, s: s, routes: s.contract.routes, seen: map[routeID]bool{}}
	oapi.RegisterHandlers(r, si)
	if len(r.unknown) > 0 {
		return fmt.Errorf("api: routes without an operation in openapi.yaml: %s", strings.Join(r.unknown, ", "))
	}
	var missing []string
	for id := range r.routes {
		if !r.seen[id] {
			missing = append(missing, id.method+" "+id.path)
		}
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		return fmt.Errorf("api: operations of openapi.yaml without a route: %s", strings.Join(missing, ", "))
	}
	return nil
}

func (r *tableRouter) add(method, path string, h echo.HandlerFunc, m []echo.MiddlewareFunc) *echo.Route {
	id := routeID{method: method, path: path}
	route, ok := r.routes[id]
	if !ok {
		r.unknown = append(r.unknown, method+" "+path)
	}
	r.seen[id] = true
	s := r.s
	guarded := func(c echo.Context) error {
		m, ok := c.Get(routeKey).(*matchedRoute)
		if !ok || m.route != route {
			return errNoOperation()
		}
		if m.passed != checkedAll {
			// The request path lost a check: a bug of ours, not the client's; refuse all.
			s.log.ErrorContext(c.Request().Context(), "handler reached without every check",
				slog.String("operation", route.Operation.OperationID), slog.Int("passed", int(m.passed)))
			return fmt.Errorf("api: %s reached with checks %04b of %04b", route.Operation.OperationID, m.passed, checkedAll)
		}
		if s.handlerHook != nil {
			s.handlerHook(route.Operation.OperationID)
		}
		return h(c)
	}
	return r.e.Add(method, path, guarded, m...)
}

func (r *tableRouter) CONNECT(p string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) *echo.Route {
	return r.add(http.MethodConnect, p, h, m)
}
func (r *tableRouter) DELETE(p string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) *echo.Route {
	return r.add(http.MethodDelete, p, h, m)
}
func (r *tableRouter) GET(p string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) *echo.Route {
	return r.add(http.MethodGet, p, h, m)
}
func (r *tableRouter) HEAD(p string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) *echo.Route {
	return r.add(http.MethodHead, p, h, m)
}
func (r *tableRouter) OPTIONS(p string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) *echo.Route {
	return r.add(http.MethodOptions, p, h, m)
}
func (r *tableRouter) PATCH(p string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) *echo.Route {
	return r.add(http.MethodPatch, p, h, m)
}
func (r *tableRouter) POST(p string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) *echo.Route {
	return r.add(http.MethodPost, p, h, m)
}
func (r *tableRouter) PUT(p string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) *echo.Route {
	return r.add(http.MethodPut, p, h, m)
}
func (r *tableRouter) TRACE(p string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) *echo.Route {
	return r.add(http.MethodTrace, p, h, m)
}

// routeRawPath makes Echo route on the path exactly as the client sent it. Go keeps the
// escaped form (URL.RawPath) only when it differs from its own encoding and is valid, and Echo
// routes on the decoded path otherwise: then an encoded slash would split a parameter into two
// segments in some requests and not in others. On the sent bytes a parameter is always one
// segment, and matchRoute decodes and checks it.
func routeRawPath(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		req := c.Request()
		if uri := req.RequestURI; strings.HasPrefix(uri, "/") {
			path, _, _ := strings.Cut(uri, "?")
			req.URL.RawPath = path
		} else if req.URL.RawPath == "" {
			req.URL.RawPath = req.URL.EscapedPath()
		}
		return next(c)
	}
}

// matchRoute names the operation of the route Echo matched and checks its path parameters
// against the contract before anything else looks at the request, with or without a token.
// A request Echo has no route for goes straight to the handler Echo chose (its 404, 405 or
// OPTIONS answer), past every check: those handlers answer nothing but the status, and one of
// ours would refuse it for lack of an operation.
func (ct *contract) matchRoute(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		route, ok := ct.routes[routeID{method: c.Request().Method, path: c.Path()}]
		if !ok || !fits(c.Path(), echo.GetPath(c.Request())) {
			return c.Handler()(c)
		}
		params, err := pathParams(c, route, ct.params[route])
		if err != nil {
			return err
		}
		c.Set(routeKey, &matchedRoute{route: route, params: params})
		if ct.noStore[route] {
			c.Response().Header()[echo.HeaderCacheControl] = noStore
		}
		return next(c)
	}
}

// fits reports whether the request path has the shape of Echo's path template. Echo names a
// template also when it found no route, for the node where its search ended (e.g.
// /v1/reports/ gives /v1/reports/readiness); a real match has the template's static segments
// and one segment per parameter. It walks both segment by segment, without splitting them:
// it runs on every request.
func fits(template, path string) bool {
	for {
		w, wRest, wMore := strings.Cut(template, "/")
		g, gRest, gMore := strings.Cut(path, "/")
		if !strings.HasPrefix(w, ":") && w != g {
			return false
		}
		if wMore != gMore {
			return false
		}
		if !wMore {
			return true
		}
		template, path = wRest, gRest
	}
}

// pathParams decodes the path parameters Echo matched and checks them against the contract.
// An encoded / or \ is refused outright: decoded, it would let one parameter stand for more
// path than the route has.
func pathParams(c echo.Context, route *routers.Route, rp *routeParams) (map[string]string, error) {
	names := c.ParamNames()
	params := make(map[string]string, len(names))
	var fields []oapi.FieldError
	for _, name := range names {
		raw := c.Param(name)
		if containsFold(raw, "%2f") || containsFold(raw, "%5c") {
			fields = append(fields, oapi.FieldError{Field: name, Message: "must not contain an encoded / or \\"})
			continue
		}
		v, err := url.PathUnescape(raw)
		if err != nil {
			fields = append(fields, oapi.FieldError{Field: name, Message: "is not a valid percent-encoding"})
			continue
		}
		params[name] = v
	}
	if len(fields) > 0 {
		return nil, newProblem(http.StatusBadRequest, "bad-parameter", "Invalid parameter",
			"A path parameter is invalid; errors names it.", fields...)
	}
	var input *openapi3filter.RequestValidationInput
	var errs openapi3.MultiError
	for _, p := range rp.path {
		// An empty segment is a missing parameter to kin-openapi: ValidateParameter says so.
		if v := params[p.Name]; p.plain && v != "" {
			if p.quick != nil && p.quick.accepts(v) {
				continue
			}
			if err := p.Schema.Value.VisitJSON(v, openapiMultiErrors...); err != nil {
				errs = append(errs, &openapi3filter.RequestError{Parameter: p.Parameter, Err: err})
			}
			continue
		}
		if input == nil {
			input = &openapi3filter.RequestValidationInput{
				Request: c.Request(), PathParams: params, Route: route,
				Options: &openapi3filter.Options{MultiError: true, AuthenticationFunc: openapi3filter.NoopAuthenticationFunc},
			}
		}
		if err := openapi3filter.ValidateParameter(c.Request().Context(), input, p.Parameter); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return nil, requestProblem(errs)
	}
	return params, nil
}

// openapiMultiErrors are the options of kin-openapi's schema checks of parameters: every
// broken rule is reported, as ValidateParameter does with Options.MultiError.
var openapiMultiErrors = []openapi3.SchemaValidationOption{openapi3.MultiErrors()}

// containsFold reports whether s contains the lower-case ASCII sub, in any case, without
// the copy strings.ToLower makes.
func containsFold(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if strings.EqualFold(s[i:i+len(sub)], sub) {
			return true
		}
	}
	return false
}

// routeParams are an operation's parameters (see parameters), sorted once by where they are:
// every request of the operation checks them.
type routeParams struct {
	path []pathParam
	// other are the query, header and cookie parameters; query are the operation's own
	// query parameters by name (see checkQueryNames).
	other []otherParam
	query map[string]*openapi3.Parameter
}

// pathParam is a path parameter of an operation. A plain one is a string in the simple
// style (the default) with neither a default nor an empty value allowed: its value is the
// path segment itself, so that kin-openapi's ValidateParameter does no more with it than the
// schema's check, which matchRoute then calls directly (TestPlainPathParamsAgree).
type pathParam struct {
	*openapi3.Parameter
	plain bool
	quick *quickString // nil: every value goes to the schema's check
}

// quickString is the schema of a plain path parameter that bounds a string by its length and
// a pattern and by nothing else, as the contract's Ressort codes and keys are. A value it
// accepts the schema's check accepts too (TestPlainPathParamsAgree); the others go to that
// check, which also words what is wrong with them. Every request checks one or two of these.
type quickString struct {
	minLength int64
	maxLength int64 // -1: none
	pattern   *regexp.Regexp
}

// newQuickString is s as a quickString, or nil if s says more than a quickString checks or its
// pattern is not one Go compiles as it stands.
func newQuickString(s *openapi3.Schema) *quickString {
	if !s.Type.Is(openapi3.TypeString) || s.Not != nil || len(s.AllOf)+len(s.AnyOf)+len(s.OneOf) > 0 ||
		len(s.Enum) > 0 || s.Const != nil || s.Format != "" || s.Always != nil || s.Pattern == "" {
		return nil
	}
	re, err := regexp.Compile(s.Pattern)
	if err != nil {
		return nil
	}
	q := &quickString{minLength: int64(s.MinLength), maxLength: -1, pattern: re}
	if s.MaxLength != nil {
		q.maxLength = int64(*s.MaxLength)
	}
	return q
}

// accepts reports whether v is within the bounds, its length counted as kin-openapi counts
// it, and matches the pattern.
func (q *quickString) accepts(v string) bool {
	n := int64(0)
	for _, r := range v {
		n++
		if utf16.IsSurrogate(r) {
			n++
		}
	}
	return n >= q.minLength && (q.maxLength < 0 || n <= q.maxLength) && q.pattern.MatchString(v)
}

// otherParam is a query, header or cookie parameter of an operation. An optional one is
// neither required nor has a default: when a request leaves it out, there is nothing to check.
type otherParam struct {
	*openapi3.Parameter
	optional bool
}

func newRouteParams(doc *openapi3.T, route *routers.Route) *routeParams {
	rp := &routeParams{query: map[string]*openapi3.Parameter{}}
	for _, p := range parameters(route, "") {
		if p.In != openapi3.ParameterInPath {
			rp.other = append(rp.other, otherParam{Parameter: p, optional: !p.Required && !hasDefault(p)})
			continue
		}
		pp := pathParam{Parameter: p, plain: plainPathParam(doc, p)}
		if pp.plain {
			pp.quick = newQuickString(p.Schema.Value)
		}
		rp.path = append(rp.path, pp)
	}
	for _, ref := range route.Operation.Parameters {
		if p := ref.Value; p != nil && p.In == openapi3.ParameterInQuery {
			rp.query[p.Name] = p
		}
	}
	return rp
}

// hasDefault reports whether p's schema (or one it is allOf) names a default, which
// kin-openapi's ValidateParameter sets when a request leaves p out.
func hasDefault(p *openapi3.Parameter) bool {
	if p.Schema == nil || p.Schema.Value == nil {
		return false
	}
	if p.Schema.Value.Default != nil {
		return true
	}
	for _, sub := range p.Schema.Value.AllOf {
		if sub.Value != nil && sub.Value.Default != nil {
			return true
		}
	}
	return false
}

// plainPathParam reports whether p is plain (see pathParam).
func plainPathParam(doc *openapi3.T, p *openapi3.Parameter) bool {
	if p.Content != nil || p.Schema == nil || p.Schema.Value == nil || doc.IsOpenAPI31OrLater() {
		return false
	}
	s := p.Schema.Value
	return s.Type.Is(openapi3.TypeString) && s.Default == nil && len(s.AllOf) == 0 &&
		(p.Style == "" || p.Style == openapi3.SerializationSimple) && (p.Explode == nil || !*p.Explode) &&
		!p.AllowEmptyValue
}

// parameters lists the parameters of the operation declared in in ("" for all); one the
// operation declares replaces the path item's of the same name.
func parameters(route *routers.Route, in string) []*openapi3.Parameter {
	var out []*openapi3.Parameter
	for _, ref := range route.PathItem.Parameters {
		p := ref.Value
		if p == nil || (in != "" && p.In != in) || route.Operation.Parameters.GetByInAndName(p.In, p.Name) != nil {
			continue
		}
		out = append(out, p)
	}
	for _, ref := range route.Operation.Parameters {
		if p := ref.Value; p != nil && (in == "" || p.In == in) {
			out = append(out, p)
		}
	}
	return out
}
