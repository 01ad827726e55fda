package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/bremen/regmo/cmd/internal/harness"
)

// proxyHeader marks the answers HAProxy gives itself (its errorfiles), so that the load test
// counts them apart from regmo's.
const proxyHeader = "X-Regmo-Proxy"

// proxyProblems are HAProxy's own answers as problem+json, like regmo's: 503 when no regmo
// instance is ready, 502 when one broke off, 504 when one did not answer in time.
var proxyProblems = map[int][2]string{
	502: {"Bad Gateway", "A regmo instance broke off the answer (HAProxy)."},
	503: {"Service Unavailable", "No regmo instance is ready (HAProxy)."},
	504: {"Gateway Timeout", "No regmo instance answered in time (HAProxy)."},
}

func errorfile(status int) string {
	p := proxyProblems[status]
	body := fmt.Sprintf(`{"type":"https://regmo.bremen.de/problems/proxy-%d","title":%q,"status":%d,"detail":%q}`+"\n",
		status, p[0], status, p[1])
	return strings.Join([]string{
		fmt.Sprintf("HTTP/1.1 %d %s", status, p[0]),
		"Content-Type: application/problem+json",
		"Cache-Control: no-store",
		"Connection: close",
		proxyHeader + ": haproxy",
		fmt.Sprintf("Content-Length: %d", len(body)),
		"", body}, "\r\n")
}

// haproxyConfig balances over the regmo instances at addrs. An instance is taken out when
// its /readyz fails twice (every 500 ms), so an instance whose database is away gets no
// requests. When no instance is ready (the database is away for all of them, as during a
// failover), requests go to every instance that is alive (/healthz), which answers its own
// 503 problem at once; HAProxy answers itself only when no regmo process is alive. A request whose connection failed, or that got no byte of an answer because the
// instance died, is sent again to another instance (redispatch) if that is safe: GET and
// HEAD, and conditional requests (If-Match), which cannot apply twice.
func haproxyConfig(port int, addrs []string, dir string) string {
	var b strings.Builder
	fmt.Fprintf(&b, `global
    log stdout format raw local0 info
    maxconn 2000

defaults
    mode http
    log global
    option httplog
    option dontlognull
    option forwardfor
    timeout connect 1s
    timeout client 60s
    timeout server 60s
    timeout http-request 10s
    timeout http-keep-alive 10s
    timeout queue 5s
    retries 3
    option redispatch 1
    retry-on conn-failure empty-response
`)
	for _, s := range []int{502, 503, 504} {
		fmt.Fprintf(&b, "    errorfile %d %s\n", s, filepath.Join(dir, fmt.Sprintf("haproxy-%d.http", s)))
	}
	fmt.Fprintf(&b, `
frontend api
    bind 127.0.0.1:%d
    use_backend regmo if { nbsrv(regmo) gt 0 }
    default_backend regmo_alive
`, port)
	for _, be := range []struct{ name, check string }{{"regmo", "/readyz"}, {"regmo_alive", "/healthz"}} {
		fmt.Fprintf(&b, `
backend %s
    balance roundrobin
    option httpchk GET %s
    http-check expect status 200
    http-request disable-l7-retry if !METH_GET !{ req.hdr(if-match) -m found }
    default-server check inter 500ms fastinter 250ms downinter 500ms fall 2 rise 2 pool-purge-delay 1s
`, be.name, be.check)
		for i, a := range addrs {
			fmt.Fprintf(&b, "    server regmo%d %s\n", i+1, a)
		}
	}
	return b.String()
}

// startHAProxy writes HAProxy's configuration, checks it and starts HAProxy in the foreground.
func startHAProxy(ctx context.Context, env *harness.Env, addrs []string) (string, *harness.Proc, error) {
	bin, err := exec.LookPath("haproxy")
	if err != nil {
		bin = "/usr/sbin/haproxy"
		if _, err := os.Stat(bin); err != nil {
			return "", nil, fmt.Errorf("haproxy is missing: apt-get install haproxy (make loadtest-ha does)")
		}
	}
	for s := range proxyProblems {
		if err := os.WriteFile(filepath.Join(env.Dir, fmt.Sprintf("haproxy-%d.http", s)), []byte(errorfile(s)), 0o644); err != nil {
			return "", nil, err
		}
	}
	port, err := harness.FreePort()
	if err != nil {
		return "", nil, err
	}
	cfg := filepath.Join(env.Dir, "haproxy.cfg")
	if err := os.WriteFile(cfg, []byte(haproxyConfig(port, addrs, env.Dir)), 0o644); err != nil {
		return "", nil, err
	}
	if out, err := exec.CommandContext(ctx, bin, "-c", "-q", "-f", cfg).CombinedOutput(); err != nil {
		return "", nil, fmt.Errorf("haproxy -c: %w\n%s", err, out)
	}
	p, err := env.StartProcess("haproxy", nil, bin, "-db", "-f", cfg)
	if err != nil {
		return "", nil, err
	}
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	return base, p, harness.WaitHTTP(ctx, p, base+"/readyz", nil, 200, 20*time.Second)
}
