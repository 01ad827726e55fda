package api

import (
	"container/list"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/casbin/casbin/v2"
	"github.com/getkin/kin-openapi/openapi3"
	"github.com/labstack/echo/v4"

	"github.com/bremen/regmo/domain"
	"github.com/bremen/regmo/policies"
)

type stateKey struct{}

// requestState is what authentication and authorization decided about a request: the
// deadline middleware puts an empty one in the request's context, authenticate names the
// caller in it and authorize the grant. Filling in one record instead of adding a context
// value each saves copying the http.Request twice per request. A request without it (or with
// its fields unset) has no caller and may read and change nothing: fail closed.
type requestState struct {
	caller        domain.Caller
	authenticated bool
	grant         grant
}

func stateFrom(ctx context.Context) *requestState {
	st, _ := ctx.Value(stateKey{}).(*requestState)
	return st
}

// callerFrom returns the authenticated caller of the request.
func callerFrom(ctx context.Context) (domain.Caller, bool) {
	if st := stateFrom(ctx); st != nil && st.authenticated {
		return st.caller, true
	}
	return domain.Caller{}, false
}

// actor names who makes a change, for updated_by.
func actor(ctx context.Context) string {
	c, _ := callerFrom(ctx)
	return c.User
}

// grant is what the authorization layer decided the caller may touch in the current
// operation: a read scope for an operation that reads, a write scope for one that changes.
type grant struct {
	read  domain.ReadScope
	write domain.WriteScope
}

// readScope is what the caller may read in the current operation. Without a decision (which
// the authorization layer always makes on protected operations) nothing is readable.
func readScope(ctx context.Context) domain.ReadScope {
	if st := stateFrom(ctx); st != nil {
		return st.grant.read
	}
	return domain.ReadScope{}
}

// writeScope is what the caller may change in the current operation; nothing for an
// operation that only reads.
func writeScope(ctx context.Context) domain.WriteScope {
	if st := stateFrom(ctx); st != nil {
		return st.grant.write
	}
	return domain.WriteScope{}
}

// public reports whether the operation declares that it needs no authentication.
func public(op *openapi3.Operation) bool {
	return op.Security != nil && len(*op.Security) == 0
}

func unauthorized(detail string, invalidToken bool) *problem {
	p := newProblem(http.StatusUnauthorized, "unauthenticated", "Authentication required", detail)
	p.header = http.Header{}
	if invalidToken {
		p.header.Set("WWW-Authenticate", `Bearer realm="regmo", error="invalid_token"`)
	} else {
		p.header.Set("WWW-Authenticate", `Bearer realm="regmo"`)
	}
	return p
}

// authenticate resolves the bearer token to a caller, with the bindings valid now.
func (s *Server) authenticate(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		m, err := matched(c)
		if err != nil {
			return err
		}
		if public(m.route.Operation) {
			m.passed |= checkedAuthentication
			return next(c)
		}
		req := c.Request()
		values := req.Header.Values(echo.HeaderAuthorization)
		if len(values) > 1 {
			return newProblem(http.StatusBadRequest, "bad-request", "Repeated Authorization header",
				"Send exactly one Authorization header.")
		}
		client := s.clientAddr(req)
		fail := func(p *problem) error {
			if retry, blocked := s.throttle.fail(client, time.Now()); blocked {
				p := newProblem(http.StatusTooManyRequests, "too-many-failures", "Too many failed authentications",
					"This address failed to authenticate too often; wait before trying again.")
				p.header = http.Header{"Retry-After": {strconv.Itoa(retry)}}
				return p
			}
			return p
		}
		if len(values) == 0 {
			return fail(unauthorized("This operation needs a token: send Authorization: Bearer <token>.", false))
		}
		scheme, token, found := strings.Cut(values[0], " ")
		if !found || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
			return fail(unauthorized("The Authorization header must read Bearer <token>.", false))
		}
		caller, err := s.access.Authenticate(req.Context(), strings.TrimSpace(token))
		if errors.Is(err, domain.ErrUnauthenticated) {
			return fail(unauthorized("The token is unknown, expired or revoked, or its user is inactive.", true))
		}
		if err != nil {
			return err
		}
		st := stateFrom(req.Context())
		if st == nil {
			// The request path lost the deadline middleware: a bug of ours; refuse.
			return errors.New("api: authenticate: the request has no state to name its caller in")
		}
		st.caller, st.authenticated = caller, true
		m.passed |= checkedAuthentication
		return next(c)
	}
}

// authorize decides, from the Casbin policy, whether the caller may run the operation on the
// Ressort in its path, and what the caller may read. It is the only place that decides.
func (s *Server) authorize(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		m, err := matched(c)
		if err != nil {
			return err
		}
		if public(m.route.Operation) {
			m.passed |= checkedAuthorization
			return next(c)
		}
		caller, ok := callerFrom(c.Request().Context())
		if !ok {
			return unauthorized("This operation needs a token.", false)
		}
		op := m.route.Operation.OperationID
		ressort := m.params["code"]
		allowed, all, ressorts, err := s.policy.decide(caller, op, ressort)
		if err != nil {
			return err
		}
		if !allowed {
			detail := "Your roles do not allow this operation."
			if ressort != "" {
				detail = fmt.Sprintf("Your roles do not allow this operation on Ressort %s.", ressort)
			}
			return newProblem(http.StatusForbidden, "forbidden", "Forbidden", detail)
		}
		g, err := s.policy.grant(caller, op, c.Request().Method, all, ressorts)
		if err != nil {
			return err
		}
		// callerFrom found the state, so it is there.
		stateFrom(c.Request().Context()).grant = g
		m.passed |= checkedAuthorization
		return next(c)
	}
}

// policy answers Casbin's decisions from a cache. The policy is fixed at start-up, so a
// decision never changes; the cache keeps Casbin's expression evaluation (tens of µs) off
// the request path.
type policy struct {
	enforcer *casbin.Enforcer
	cache    sync.Map // decisionKey → bool
}

// globalRoles are the roles bound to no Ressort (bindings_scope in the migrations).
var globalRoles = map[string]bool{domain.RoleOZGKoordination: true, domain.RoleAdmin: true}

type decisionKey struct{ role, bound, ressort, op string }

// allows evaluates one binding. The model compares the bound Ressort with the path's only
// for equality, so the Ressort codes are reduced to that relation before caching: the cache
// stays as small as roles × operations × 6 however many codes clients send.
func (p *policy) allows(role, bound, ressort, op string) (bool, error) {
	k := decisionKey{role: role, bound: "B", ressort: "O", op: op}
	switch {
	case bound == policies.Global:
		k.bound = policies.Global
	}
	switch {
	case ressort == "":
		k.ressort = ""
	case ressort == bound:
		k.ressort = "B"
	}
	if v, ok := p.cache.Load(k); ok {
		return v.(bool), nil
	}
	ok, err := p.enforcer.Enforce(k.role, k.bound, k.ressort, k.op)
	if err != nil {
		return false, fmt.Errorf("authz: enforce: %w", err)
	}
	p.cache.Store(k, ok)
	return ok, nil
}

// decide evaluates the policy for every binding of the caller. all and ressorts say where
// the operation may act: every Ressort for a global role, else the bound ones.
func (p *policy) decide(caller domain.Caller, op, ressort string) (allowed, all bool, ressorts []string, err error) {
	// The implicit role decides only whether; it never widens what may be touched.
	allowed, err = p.allows(policies.Authenticated, policies.Global, ressort, op)
	if err != nil {
		return false, false, nil, err
	}
	for _, b := range caller.Bindings {
		bound := b.Ressort
		if bound == "" {
			// Only a global role's absent Ressort means every Ressort; a Ressort-bound
			// role without one (or an unknown role) grants nothing: fail closed.
			if !globalRoles[b.Role] {
				continue
			}
			bound = policies.Global
		}
		ok, err := p.allows(b.Role, bound, ressort, op)
		if err != nil {
			return false, false, nil, err
		}
		if !ok {
			continue
		}
		allowed = true
		if bound == policies.Global {
			all = true
		} else {
			ressorts = append(ressorts, bound)
		}
	}
	return allowed, all, ressorts, nil
}

// grant turns a decision into the scope the operation gets: what a safe method (GET, HEAD)
// may read, or what any other may change. Access data (the audit trail of users, bindings
// and tokens: what listUsers shows) is readable only by whom the policy lets list users.
func (p *policy) grant(caller domain.Caller, op, method string, all bool, ressorts []string) (grant, error) {
	if method != http.MethodGet && method != http.MethodHead {
		if all {
			return grant{write: domain.WriteAll()}, nil
		}
		return grant{write: domain.WriteRessorts(ressorts...)}, nil
	}
	read := domain.ReadRessorts(ressorts...)
	if all {
		read = domain.ReadAll()
	}
	if op != "listAudit" {
		return grant{read: read}, nil
	}
	access, _, _, err := p.decide(caller, accessDataOperation, "")
	if err != nil {
		return grant{}, err
	}
	if access {
		read = read.WithAccessData()
	}
	return grant{read: read}, nil
}

// accessDataOperation is the operation whose permission also lets a caller read access data
// elsewhere: whoever may list the users may read their trail.
const accessDataOperation = "listUsers"

// clientAddr is the address failed authentications are counted for. X-Forwarded-For counts
// only when the connection comes from a trusted proxy.
func (s *Server) clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	if !s.trusted(host) {
		return host
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		hop := strings.TrimSpace(hops[i])
		if hop == "" {
			continue
		}
		if !s.trusted(hop) {
			return hop
		}
		host = hop
	}
	return host
}

func (s *Server) trusted(addr string) bool {
	ip, err := netip.ParseAddr(addr)
	if err != nil {
		return false
	}
	for _, p := range s.trustedProxies {
		if p.Contains(ip.Unmap()) {
			return true
		}
	}
	return false
}

// parseProxies reads REGMO_TRUSTED_PROXIES: addresses or CIDR prefixes, comma-separated.
func parseProxies(list string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, item := range strings.Split(list, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		if !strings.Contains(item, "/") {
			ip, err := netip.ParseAddr(item)
			if err != nil {
				return nil, fmt.Errorf("trusted proxy %q: %w", item, err)
			}
			item = netip.PrefixFrom(ip, ip.BitLen()).String()
		}
		p, err := netip.ParsePrefix(item)
		if err != nil {
			return nil, fmt.Errorf("trusted proxy %q: %w", item, err)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// throttle counts failed authentications per client address in a fixed one-minute window.
// It holds at most maxEntries addresses: a flood from many addresses evicts the oldest
// windows instead of growing memory. An evicted address starts counting afresh, which a
// flood of that size could bring about anyway by waiting out a window.
type throttle struct {
	mu         sync.Mutex
	limit      int
	window     time.Duration
	maxEntries int
	entries    map[string]*list.Element // of *failures
	order      *list.List               // oldest window first
}

type failures struct {
	addr  string
	start time.Time
	count int
}

// maxThrottled bounds the addresses the throttle remembers (about 100 bytes each).
const maxThrottled = 100_000

func newThrottle(limit int, window time.Duration) *throttle {
	return &throttle{limit: limit, window: window, maxEntries: maxThrottled,
		entries: map[string]*list.Element{}, order: list.New()}
}

// fail records a failure; blocked is true once the address exceeded the limit in the
// current window, with the seconds until the window ends.
func (t *throttle) fail(addr string, now time.Time) (retryAfter int, blocked bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	// Windows that have passed go first; the list is ordered by start.
	for e := t.order.Front(); e != nil && now.Sub(e.Value.(*failures).start) >= t.window; e = t.order.Front() {
		t.order.Remove(e)
		delete(t.entries, e.Value.(*failures).addr)
	}
	var f *failures
	if e, ok := t.entries[addr]; ok {
		f = e.Value.(*failures)
		if now.Sub(f.start) >= t.window { // left behind by a clock that went back
			f.start, f.count = now, 0
			t.order.MoveToBack(e)
		}
	} else {
		if len(t.entries) >= t.maxEntries {
			oldest := t.order.Front()
			t.order.Remove(oldest)
			delete(t.entries, oldest.Value.(*failures).addr)
		}
		f = &failures{addr: addr, start: now}
		t.entries[addr] = t.order.PushBack(f)
	}
	f.count++
	if f.count <= t.limit {
		return 0, false
	}
	return int(t.window.Seconds()-now.Sub(f.start).Seconds()) + 1, true
}
