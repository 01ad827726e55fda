package api_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/bremen/regmo/api"
	"github.com/bremen/regmo/api/oapi"
)

// concreteParams fills the path parameters of openapi.yaml with values the contract accepts.
var concreteParams = map[string]string{"code": "SIS", "key": "melde", "name": "alice", "id": "1"}

// badParams break the contract in a path parameter: an encoded slash or backslash (any case)
// and bytes outside every parameter's pattern.
var badParams = []string{"a%2Fb", "a%2fb", "a%5Cb", "a%5cb", "a|b", "a%00b"}

// countingReader counts the body bytes the server reads.
type countingReader struct {
	r    io.Reader
	read int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.read += int64(n)
	return n, err
}

// handlerEntries counts, per operation, the requests that reached a handler.
func handlerEntries(ts *testServer) map[string]int {
	entered := map[string]int{}
	ts.srv.(*api.Server).OnHandler(func(op string) { entered[op]++ })
	return entered
}

// routeCase is one request of TestRouteTable.
type routeCase struct {
	name   string
	path   string
	token  string // "-" for none, as in request
	body   int64  // bytes of body sent, 0 for none
	want   []int
	field  string // the parameter the 400 must name
	public bool   // the plain path of a public operation, which reaches its handler
}

// TestRouteTable sends every operation of openapi.yaml, and variants of its path that break
// the contract, through the real router: a variant is refused (400 naming the parameter, 401,
// or 404 when no route matches at all) and never reaches a handler, and no body is read
// before authentication.
func TestRouteTable(t *testing.T) {
	ts := newTestServer(t)
	entered := handlerEntries(ts)
	doc, err := openapi3.NewLoader().LoadFromData(oapi.Spec)
	if err != nil {
		t.Fatalf("load openapi.yaml: %v", err)
	}
	paths := doc.Paths.Map()
	names := make([]string, 0, len(paths))
	for p := range paths {
		names = append(names, p)
	}
	sort.Strings(names)
	for _, template := range names {
		item := paths[template]
		for method, op := range item.Operations() {
			t.Run(method+" "+template, func(t *testing.T) {
				for _, tt := range routeCases(t, template, item, op) {
					t.Run(tt.name, func(t *testing.T) {
						before := entered[op.OperationID]
						rec, read := sendRaw(t, ts, method, tt, op)
						if !slices.Contains(tt.want, rec.Code) {
							t.Errorf("%s %s: got status %d, want one of %v; body %s", method, tt.path, rec.Code, tt.want, rec.Body)
						}
						if tt.field != "" && rec.Code == http.StatusBadRequest {
							if fields := problemFields(t, rec); !slices.Contains(fields, tt.field) {
								t.Errorf("%s %s: got fields %v, want %q named", method, tt.path, fields, tt.field)
							}
						}
						wantEntries := 0
						if tt.public {
							wantEntries = 1
						}
						if got := entered[op.OperationID] - before; got != wantEntries {
							t.Errorf("%s %s: got %d handler entries, want %d", method, tt.path, got, wantEntries)
						}
						if tt.token == "-" && !tt.public && read != 0 {
							t.Errorf("%s %s: got %d body bytes read before authentication, want 0", method, tt.path, read)
						}
						if got := rec.Header().Get("X-Content-Type-Options"); got != "nosniff" {
							t.Errorf("%s %s: got X-Content-Type-Options %q, want nosniff", method, tt.path, got)
						}
					})
				}
			})
		}
	}
}

// routeCases builds the requests for one operation.
func routeCases(t *testing.T, template string, item *openapi3.PathItem, op *openapi3.Operation) []routeCase {
	t.Helper()
	public := op.Security != nil && len(*op.Security) == 0
	var params []string
	segments := strings.Split(template, "/")
	for _, s := range segments {
		if strings.HasPrefix(s, "{") {
			name := strings.Trim(s, "{}")
			if _, ok := concreteParams[name]; !ok {
				t.Fatalf("no concrete value for path parameter %q; add one to concreteParams", name)
			}
			params = append(params, name)
		}
	}
	fill := func(bad, value string) string {
		out := make([]string, len(segments))
		for i, s := range segments {
			name := strings.Trim(s, "{}")
			switch {
			case !strings.HasPrefix(s, "{"):
				out[i] = s
			case name == bad:
				out[i] = value
			default:
				out[i] = concreteParams[name]
			}
		}
		return strings.Join(out, "/")
	}
	path := fill("", "")
	refused := []int{http.StatusUnauthorized}
	if public {
		refused = nil
	}
	noRoute := append([]int{http.StatusBadRequest, http.StatusNotFound}, refused...)
	last := strings.LastIndex(path, "/")
	cases := []routeCase{
		{name: "as is", path: path, token: "-", want: []int{http.StatusUnauthorized}},
		{name: "doubled slash in front", path: "/" + path, token: "-", want: noRoute},
		{name: "doubled slash", path: path[:last] + "/" + path[last:], token: "-", want: noRoute},
		{name: "dot segment", path: path[:last] + "/." + path[last:], token: "-", want: noRoute},
		{name: "trailing slash", path: path + "/", token: "-", want: noRoute},
	}
	if public {
		// A public operation answers its plain path; which status is its own business.
		cases[0] = routeCase{name: "as is", path: path, token: "-", want: []int{http.StatusOK, http.StatusServiceUnavailable}, public: true}
	}
	for _, p := range params {
		for _, bad := range badParams {
			for _, token := range []string{"-", ""} {
				who := "without token"
				if token == "" {
					who = "with token"
				}
				cases = append(cases, routeCase{name: p + "=" + bad + " " + who, path: fill(p, bad), token: token,
					want: []int{http.StatusBadRequest}, field: p})
			}
		}
	}
	if op.RequestBody != nil {
		const large = 3 << 20
		cases = append(cases, routeCase{name: "3 MiB body", path: path, token: "-", body: large, want: []int{http.StatusUnauthorized}})
		for _, p := range params {
			cases = append(cases, routeCase{name: "3 MiB body, " + p + " with encoded slash", path: fill(p, "a%2Fb"), token: "-",
				body: large, want: []int{http.StatusBadRequest}, field: p})
		}
	}
	return cases
}

// clients numbers the client addresses of sendRaw.
var clients int

// sendRaw sends tt with the path exactly as written and a body of tt.body bytes of the
// operation's media type, and returns the answer (checked against openapi.yaml) and the body
// bytes the server read.
func sendRaw(t *testing.T, ts *testServer, method string, tt routeCase, op *openapi3.Operation) (*httptest.ResponseRecorder, int64) {
	t.Helper()
	var body *countingReader
	var req *http.Request
	if tt.body > 0 {
		body = &countingReader{r: io.LimitReader(blanks{}, tt.body)}
		req = httptest.NewRequest(method, tt.path, body)
		var types []string
		for mt := range op.RequestBody.Value.Content {
			types = append(types, mt)
		}
		sort.Strings(types)
		req.Header.Set("Content-Type", types[0])
	} else {
		req = httptest.NewRequest(method, tt.path, nil)
	}
	if tt.token != "-" {
		req.Header.Set("Authorization", "Bearer "+ts.admin)
	}
	// A client address of its own, so that the failed-authentication throttle answers none
	// of these with 429.
	clients++
	req.RemoteAddr = fmt.Sprintf("198.18.%d.%d:4711", clients/250, clients%250)
	rec := httptest.NewRecorder()
	ts.srv.ServeHTTP(rec, req)
	checkResponse(t, request{method: method, path: tt.path}, rec)
	if body == nil {
		return rec, 0
	}
	return rec, body.read
}

// TestEncodedSlashInKey is issue 11's finding: the key melde%2Fx| reached the store without a
// token. It is a 400 naming key, with a token or without, and reaches no handler.
func TestEncodedSlashInKey(t *testing.T) {
	ts := newTestServer(t)
	entered := handlerEntries(ts)
	tests := []struct {
		name   string
		method string
		path   string
		token  string
	}{
		{"GET without token", "GET", "/v1/ressorts/SIS/registers/melde%2Fx|", "-"},
		{"GET with token", "GET", "/v1/ressorts/SIS/registers/melde%2Fx|", ""},
		{"lower-case escape", "GET", "/v1/ressorts/SIS/registers/melde%2fx", "-"},
		{"backslash", "GET", "/v1/ressorts/SIS/registers/melde%5Cx", "-"},
		{"in the code", "GET", "/v1/ressorts/S%2FIS/registers/melde", "-"},
		{"history", "GET", "/v1/ressorts/SIS/registers/melde%2Fx/history", "-"},
		{"DELETE", "DELETE", "/v1/ressorts/SIS/registers/melde%2Fx|", "-"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := ts.do(request{method: tt.method, path: tt.path, token: tt.token})
			if rec.Code != http.StatusBadRequest {
				t.Fatalf("%s %s: got status %d, want 400; body %s", tt.method, tt.path, rec.Code, rec.Body)
			}
			field := "key"
			if tt.name == "in the code" {
				field = "code"
			}
			if got := problemFields(t, rec); !slices.Contains(got, field) {
				t.Errorf("%s %s: got fields %v, want %q named", tt.method, tt.path, got, field)
			}
		})
	}
	if len(entered) != 0 {
		t.Errorf("got handler entries %v, want none", entered)
	}
}

// TestLargeBodyOnBrokenPath: a PUT of 100 MB on a path that breaks the contract is refused
// without the body being read, declared or not, with a token or without; on a good path the
// 1 MiB limit holds.
func TestLargeBodyOnBrokenPath(t *testing.T) {
	ts := newTestServer(t)
	entered := handlerEntries(ts)
	const size = 100 << 20
	tests := []struct {
		name     string
		path     string
		token    string
		declared bool
		want     int
		maxRead  int64
	}{
		{"broken path, no token, chunked", "/v1/ressorts/SIS/registers/melde%2Fx|", "-", false, http.StatusBadRequest, 0},
		{"broken path, no token, declared", "/v1/ressorts/SIS/registers/melde%2Fx|", "-", true, http.StatusBadRequest, 0},
		{"broken path, token, chunked", "/v1/ressorts/SIS/registers/melde%2Fx|", "", false, http.StatusBadRequest, 0},
		{"good path, no token, chunked", "/v1/ressorts/SIS/registers/melde", "-", false, http.StatusUnauthorized, 0},
		{"good path, token, chunked", "/v1/ressorts/SIS/registers/melde", "", false, http.StatusRequestEntityTooLarge, 1<<20 + 1},
		{"good path, token, declared", "/v1/ressorts/SIS/registers/melde", "", true, http.StatusRequestEntityTooLarge, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := &countingReader{r: io.LimitReader(blanks{}, size)}
			req := httptest.NewRequest("PUT", tt.path, body)
			if tt.declared {
				req.ContentLength = size
			}
			req.Header.Set("Content-Type", "application/json")
			if tt.token != "-" {
				req.Header.Set("Authorization", "Bearer "+ts.admin)
			}
			rec := httptest.NewRecorder()
			ts.srv.ServeHTTP(rec, req)
			checkResponse(t, request{method: "PUT", path: tt.path}, rec)
			if rec.Code != tt.want {
				t.Errorf("got status %d, want %d; body %s", rec.Code, tt.want, rec.Body)
			}
			if body.read > tt.maxRead {
				t.Errorf("got %d body bytes read, want at most %d", body.read, tt.maxRead)
			}
		})
	}
	if len(entered) != 0 {
		t.Errorf("got handler entries %v, want none", entered)
	}
}

// TestSecurityHeaders: every answer says nosniff, Echo's own 404 and 405 included; the answer
// that carries a token says no-store.
func TestSecurityHeaders(t *testing.T) {
	ts := newTestServer(t)
	ts.user("alice")
	tests := []struct {
		name    string
		req     request
		want    int
		noStore bool
	}{
		{"public 200", request{method: "GET", path: "/healthz", token: "-"}, http.StatusOK, false},
		{"200", request{method: "GET", path: "/v1/me"}, http.StatusOK, false},
		{"400", request{method: "GET", path: "/v1/ressorts/sis/registers"}, http.StatusBadRequest, false},
		{"401", request{method: "GET", path: "/v1/me", token: "-"}, http.StatusUnauthorized, false},
		{"404 from the store", request{method: "GET", path: "/v1/ressorts/SIS/registers/none"}, http.StatusNotFound, false},
		{"404 no route", request{method: "GET", path: "/v1/nothing"}, http.StatusNotFound, false},
		{"405", request{method: "POST", path: "/v1/me"}, http.StatusMethodNotAllowed, false},
		{"issued token", request{method: "POST", path: "/v1/users/alice/tokens", body: `{"label": "script"}`}, http.StatusCreated, true},
		{"token list", request{method: "GET", path: "/v1/users/alice/tokens"}, http.StatusOK, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := ts.do(tt.req)
			if rec.Code != tt.want {
				t.Fatalf("%s %s: got status %d, want %d; body %s", tt.req.method, tt.req.path, rec.Code, tt.want, rec.Body)
			}
			if got := rec.Header().Get("X-Content-Type-Options"); got != "nosniff" {
				t.Errorf("got X-Content-Type-Options %q, want nosniff", got)
			}
			if got := rec.Header().Get("Cache-Control") == "no-store"; got != tt.noStore {
				t.Errorf("got Cache-Control %q, want no-store: %v", rec.Header().Get("Cache-Control"), tt.noStore)
			}
		})
	}
}
