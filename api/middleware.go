package api

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"runtime/debug"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/bremen/regmo/domain/transfer"
)

const requestIDKey = "regmo.request_id"

// clientRequestID accepts a caller's request id only if it is short and plain, so that it
// cannot forge log lines.
var clientRequestID = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,128}$`)

func requestID(c echo.Context) string {
	id, _ := c.Get(requestIDKey).(string)
	return id
}

// newRequestID is the caller's X-Request-Id when it is plain, else a fresh one.
func newRequestID(r *http.Request) string {
	id := r.Header.Get(echo.HeaderXRequestID)
	if !clientRequestID.MatchString(id) {
		var b [12]byte
		_, _ = rand.Read(b[:])
		id = hex.EncodeToString(b[:])
	}
	return id
}

// requestID takes the caller's X-Request-Id or makes one, and echoes it.
func (s *Server) requestID(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		id := newRequestID(c.Request())
		c.Set(requestIDKey, id)
		c.Response().Header().Set(echo.HeaderXRequestID, id)
		err := next(c)
		if aborted, _ := c.Get(abortKey).(bool); aborted {
			// net/http closes the connection without finishing the body: the client sees a
			// broken transfer, not a complete-looking file.
			panic(http.ErrAbortHandler)
		}
		return err
	}
}

// logRequests writes one structured line per request. It never logs headers: they carry
// tokens.
func (s *Server) logRequests(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		err := next(c)
		if err != nil {
			// Answer now, so that the status is known when the line is written.
			s.errorHandler(err, c)
		}
		// Echo names a template also for a path it found no route for; only a matched
		// operation's is the route.
		route := "(none)"
		if operationID(c) != "" {
			route = c.Path()
		}
		// Straight to the handler: Logger.LogAttrs would also record the caller's program
		// counter, which no handler of ours prints, on every request.
		ctx, h := c.Request().Context(), s.log.Handler()
		if !h.Enabled(ctx, slog.LevelInfo) {
			return nil
		}
		r := slog.NewRecord(time.Now(), slog.LevelInfo, "request", 0)
		r.AddAttrs(
			slog.String("method", c.Request().Method),
			slog.String("route", route),
			slog.String("operation", operationID(c)),
			slog.Int("status", c.Response().Status),
			slog.Duration("duration", time.Since(start)),
			slog.String("request_id", requestID(c)),
		)
		_ = h.Handle(ctx, r)
		return nil
	}
}

// recoverPanics turns a panic into a logged 500 that reveals nothing to the client.
func (s *Server) recoverPanics(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) (err error) {
		defer func() {
			if r := recover(); r != nil {
				s.log.Error("panic", slog.String("request_id", requestID(c)),
					slog.String("panic", fmt.Sprint(r)), slog.String("stack", string(debug.Stack())))
				err = fmt.Errorf("api: panic: %v", r)
			}
		}()
		return next(c)
	}
}

// Header values every answer of their kind carries, each one slice that all answers share:
// Header.Set would allocate it anew for each. net/http and the handlers replace or append to
// a header's slice, never write into it, so sharing is safe. Keys are canonical.
var (
	nosniff         = []string{"nosniff"}
	jsonContentType = []string{"application/json"}
	noStore         = []string{"no-store"}
)

// secureHeaders marks every answer, errors and Echo's 404 and 405 included, as what its
// Content-Type says: a browser must not guess a problem document or a CSV export into HTML.
func secureHeaders(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		c.Response().Header()["X-Content-Type-Options"] = nosniff
		return next(c)
	}
}

// maxRequestBytes is the largest body any operation takes: an import. The operations read
// their bodies under their own, smaller limits (readBody, handOver); this one holds for every
// route, whatever reads the body.
const maxRequestBytes = max(maxBodyBytes, transfer.MaxImportBytes)

// bodyWall bounds the body of every request. It does not answer a declared length beyond the
// limit itself: the route decides first (404, or 400 for a broken path), and the operation's
// own limit answers 413 from the declared length without reading.
func bodyWall(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		req := c.Request()
		// The server's own writer, which closes the connection once the limit is hit.
		req.Body = http.MaxBytesReader(c.Response().Writer, req.Body, maxRequestBytes)
		return next(c)
	}
}

// serveWeb gives a page of the web interface what the API's chain gives an operation: a
// request id, a deadline, a log line (the path only: a query may carry a login link's secret
// or an OIDC code) and a panic turned into a logged 500.
func (s *Server) serveWeb(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	id := newRequestID(r)
	w.Header().Set(echo.HeaderXRequestID, id)
	ctx, cancel := context.WithTimeout(r.Context(), s.requestTimeout)
	defer cancel()
	sw := &statusWriter{ResponseWriter: w}
	defer func() {
		if p := recover(); p != nil {
			if p == http.ErrAbortHandler { //nolint:errorlint // the sentinel net/http panics with
				panic(p)
			}
			s.log.Error("panic", slog.String("request_id", id), slog.String("panic", fmt.Sprint(p)),
				slog.String("stack", string(debug.Stack())))
			if sw.status == 0 {
				http.Error(sw, "Interner Fehler: bitte versuchen Sie es später noch einmal.", http.StatusInternalServerError)
			}
			sw.status = http.StatusInternalServerError
		}
		s.log.LogAttrs(ctx, slog.LevelInfo, "request",
			slog.String("method", metricMethod(r.Method)),
			slog.String("route", "(web) "+r.URL.Path),
			slog.Int("status", sw.code()),
			slog.Duration("duration", time.Since(start)),
			slog.String("request_id", id),
		)
	}()
	s.web.ServeHTTP(sw, r.WithContext(ctx))
}

// statusWriter notes the status a page answered with.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(p)
}

func (w *statusWriter) code() int {
	if w.status == 0 {
		return http.StatusOK
	}
	return w.status
}

// Unwrap lets http.ResponseController reach the connection.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
