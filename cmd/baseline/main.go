// Command baseline is the ceiling `make bench` measures regmo against: bare net/http and a
// pgx pool answering the two read requests of the benchmark with the same SQL regmo runs
// (domain/entrystore.go: get and list) and the same JSON shape, but without authentication,
// authorization, contract validation, logging or metrics. It is not a service; do not deploy it.
//
//	GET /v1/ressorts/{code}/registers/{key}   one register
//	GET /v1/registers?limit=N                 the first page of all registers (N ≤ 1000, default 100)
//
// It reads DATABASE_URL and listens on -addr (default 127.0.0.1:8090). With -token-lookup it
// also runs regmo's token lookup (domain/access.go, Authenticate) for the bearer token of
// every request, so that a benchmark can tell the cost of authenticating against PostgreSQL
// on every request from the cost of the rest of regmo's request path.
//
// With -json-sql it is a second, higher ceiling: each request is ONE statement whose single
// value is the answer's JSON document itself, built by PostgreSQL (json_build_object,
// json_agg) with regmo's member names and nesting, and the server writes those bytes as they
// come; Go decodes and encodes nothing. Today's date in Europe/Berlin (for overdue) is a
// parameter of the statement, as in regmo.
package main

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// entryColumns are the columns regmo reads for a register (domain/store's kindTable), in
// its order: a register's entry leaves the Onlinedienst's columns empty, so neither reads them.
const entryColumns = `id, kind, ressort, key, name, description, idnrg_anlage_nr, legal_basis,
	fachverfahren, contact,
	idnr_stage, idnr_target_date, idnr_note, idnr_evidence_url,
	noots_stage, noots_target_date, noots_note, noots_evidence_url,
	dsc_stage, dsc_target_date, dsc_note, dsc_evidence_url,
	version, created_at, updated_at, updated_by`

// tokenSQL is the statement domain.Access.Authenticate sends for every request.
const tokenSQL = `SELECT t.id, t.hash, t.user_name, u.active, t.expires_at, t.revoked_at, t.last_used_at,
			COALESCE((SELECT json_agg(json_build_object('role', b.role, 'ressort', COALESCE(b.ressort, '')) ORDER BY b.role, b.ressort)
				FROM bindings b WHERE b.user_name = u.name), '[]')::text AS bindings
		FROM tokens t JOIN users u ON u.name = t.user_name
		WHERE t.hash = $1`

// The statements regmo sends, as PostgreSQL's log shows them (GORM quotes the table of the
// list and passes its LIMIT as a parameter).
const (
	getSQL  = `SELECT ` + entryColumns + ` FROM entries WHERE kind = $1 AND ressort = $2 AND key = $3`
	listSQL = `SELECT ` + entryColumns + ` FROM "entries" WHERE kind = $1 ORDER BY ressort, key LIMIT $2`
)

// The -json-sql statements. docExpr is one register as regmo's Register document: the
// members and nesting of openapi.yaml's Register and Dimension, times in UTC as Go writes
// them (RFC 3339, fraction without trailing zeros), ready and overdue as domain.Dimension
// derives them; $todayParam is today's date in Europe/Berlin.
const (
	dimensionExpr = `json_build_object('stage', %[1]s_stage, 'target_date', %[1]s_target_date, 'note', %[1]s_note,
			'evidence_url', %[1]s_evidence_url, 'ready', %[1]s_stage IN ('live', 'not_applicable'),
			'overdue', (%[1]s_target_date < $%[2]d::date) IS TRUE AND %[1]s_stage NOT IN ('live', 'not_applicable'))`
	timeExpr = `rtrim(rtrim(to_char(%s AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US'), '0'), '.') || 'Z'`
)

// docExpr is the JSON of one register; today is the number of the parameter holding today.
func docExpr(today int) string {
	return `json_build_object('ressort', ressort, 'key', key, 'name', name, 'description', description,
		'idnrg_anlage_nr', idnrg_anlage_nr, 'legal_basis', legal_basis, 'fachverfahren', fachverfahren, 'contact', contact,
		'readiness', json_build_object('idnr', ` + fmt.Sprintf(dimensionExpr, "idnr", today) +
		`, 'noots', ` + fmt.Sprintf(dimensionExpr, "noots", today) +
		`, 'dsc', ` + fmt.Sprintf(dimensionExpr, "dsc", today) + `),
		'version', version, 'created_at', ` + fmt.Sprintf(timeExpr, "created_at") +
		`, 'updated_at', ` + fmt.Sprintf(timeExpr, "updated_at") + `, 'updated_by', updated_by)`
}

// jsonGetSQL answers GET one: the document and the version (for the ETag).
// jsonListSQL answers the first page: {items, next_cursor}, the cursor made as regmo makes
// it (base64url of {"r","k","f"} without padding; $3 is the listing's fingerprint).
var (
	jsonGetSQL  = `SELECT ` + docExpr(4) + `, version FROM entries WHERE kind = $1 AND ressort = $2 AND key = $3`
	jsonListSQL = `SELECT json_build_object(
			'items', coalesce(json_agg(p.doc ORDER BY p.n) FILTER (WHERE p.n <= $2::int), '[]'::json),
			'next_cursor', CASE WHEN count(*) > $2::int THEN min(translate(encode(convert_to(
				'{"r":' || to_json(p.ressort)::text || ',"k":' || to_json(p.key)::text || ',"f":' || to_json($3::text)::text || '}',
				'UTF8'), 'base64'), E'+/=\n', '-_')) FILTER (WHERE p.n = $2::int) END)
		FROM (SELECT ressort, key, row_number() OVER (ORDER BY ressort, key) AS n, ` + docExpr(4) + ` AS doc
			FROM entries WHERE kind = $1 ORDER BY ressort, key LIMIT $2::int + 1) p`
)

// listFingerprint is what domain/store's fingerprint makes of the unfiltered register listing.
var listFingerprint = func() string {
	sum := sha256.Sum256([]byte("register|all:||||q="))
	return base64.RawURLEncoding.EncodeToString(sum[:9])
}()

// nextCursor is regmo's cursor after the register ressort/key of the unfiltered listing.
func nextCursor(ressort, key string) string {
	data, _ := json.Marshal(struct {
		R string `json:"r"`
		K string `json:"k"`
		F string `json:"f"`
	}{ressort, key, listFingerprint})
	return base64.RawURLEncoding.EncodeToString(data)
}

type dimension struct {
	Stage       string  `json:"stage"`
	TargetDate  *string `json:"target_date"`
	Note        string  `json:"note"`
	EvidenceURL string  `json:"evidence_url"`
	Ready       bool    `json:"ready"`
	Overdue     bool    `json:"overdue"`
}

type readiness struct {
	IDNr  dimension `json:"idnr"`
	NOOTS dimension `json:"noots"`
	DSC   dimension `json:"dsc"`
}

// register has the members of regmo's Register.
type register struct {
	Ressort       string    `json:"ressort"`
	Key           string    `json:"key"`
	Name          string    `json:"name"`
	Description   string    `json:"description"`
	IdnrgAnlageNr *int32    `json:"idnrg_anlage_nr"`
	LegalBasis    string    `json:"legal_basis"`
	Fachverfahren string    `json:"fachverfahren"`
	Contact       string    `json:"contact"`
	Readiness     readiness `json:"readiness"`
	Version       int64     `json:"version"`
	CreatedAt     time.Time `json:"created_at"`
	UpdatedAt     time.Time `json:"updated_at"`
	UpdatedBy     string    `json:"updated_by"`
}

type registerList struct {
	Items      []register `json:"items"`
	NextCursor *string    `json:"next_cursor"`
}

var berlin = func() *time.Location {
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		return time.UTC
	}
	return loc
}()

// scanRegister reads one row of entryColumns.
func scanRegister(rows pgx.Rows, today string) (register, error) {
	var (
		r                       register
		id                      int64
		kind                    string
		dates                   [3]*time.Time
		dims                    [3]*dimension
		createdAt, updatedAtRaw time.Time
	)
	dims = [3]*dimension{&r.Readiness.IDNr, &r.Readiness.NOOTS, &r.Readiness.DSC}
	err := rows.Scan(&id, &kind, &r.Ressort, &r.Key, &r.Name, &r.Description, &r.IdnrgAnlageNr, &r.LegalBasis,
		&r.Fachverfahren, &r.Contact,
		&dims[0].Stage, &dates[0], &dims[0].Note, &dims[0].EvidenceURL,
		&dims[1].Stage, &dates[1], &dims[1].Note, &dims[1].EvidenceURL,
		&dims[2].Stage, &dates[2], &dims[2].Note, &dims[2].EvidenceURL,
		&r.Version, &createdAt, &updatedAtRaw, &r.UpdatedBy)
	if err != nil {
		return register{}, err
	}
	r.CreatedAt, r.UpdatedAt = createdAt.UTC(), updatedAtRaw.UTC()
	for i, d := range dims {
		d.Ready = d.Stage == "live" || d.Stage == "not_applicable"
		if dates[i] != nil {
			s := dates[i].Format(time.DateOnly)
			d.TargetDate = &s
			d.Overdue = s < today && !d.Ready
		}
	}
	return r, nil
}

type server struct {
	pool        *pgxpool.Pool
	tokenLookup bool
}

// handler routes the two requests; jsonSQL picks the -json-sql answers.
func handler(pool *pgxpool.Pool, tokenLookup, jsonSQL bool) http.Handler {
	s := &server{pool: pool, tokenLookup: tokenLookup}
	mux := http.NewServeMux()
	if jsonSQL {
		mux.HandleFunc("GET /v1/ressorts/{code}/registers/{key}", s.getRegisterJSON)
		mux.HandleFunc("GET /v1/registers", s.listRegistersJSON)
	} else {
		mux.HandleFunc("GET /v1/ressorts/{code}/registers/{key}", s.getRegister)
		mux.HandleFunc("GET /v1/registers", s.listRegisters)
	}
	return mux
}

// berlinToday is the date in Europe/Berlin, as regmo's overdue uses it.
func berlinToday() string { return time.Now().In(berlin).Format(time.DateOnly) }

// parseLimit reads ?limit= (1 to 1000, default 100); false means the answer has been written.
func parseLimit(w http.ResponseWriter, r *http.Request) (int, bool) {
	v := r.URL.Query().Get("limit")
	if v == "" {
		return 100, true
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 1000 {
		http.Error(w, "bad limit", http.StatusBadRequest)
		return 0, false
	}
	return n, true
}

// getRegisterJSON writes the document the statement built, with the version as ETag.
func (s *server) getRegisterJSON(w http.ResponseWriter, r *http.Request) {
	if !s.lookUpToken(w, r) {
		return
	}
	rows, ok := s.queryOne(w, r, jsonGetSQL, "register", r.PathValue("code"), r.PathValue("key"), berlinToday())
	if !ok {
		return
	}
	defer rows.Close()
	var version int64
	if err := rows.Scan(nil, &version); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("ETag", `"`+strconv.FormatInt(version, 10)+`"`)
	writeRaw(w, rows.RawValues()[0])
}

// listRegistersJSON writes the page the statement built.
func (s *server) listRegistersJSON(w http.ResponseWriter, r *http.Request) {
	if !s.lookUpToken(w, r) {
		return
	}
	limit, ok := parseLimit(w, r)
	if !ok {
		return
	}
	rows, err := s.pool.Query(r.Context(), jsonListSQL, "register", limit, listFingerprint, berlinToday())
	if err != nil {
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
		return
	}
	defer rows.Close()
	if !rows.Next() {
		err := rows.Err()
		if err == nil {
			err = errors.New("the page statement returned no row")
		}
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
		return
	}
	writeRaw(w, rows.RawValues()[0])
}

// writeRaw writes a JSON document as PostgreSQL sent it (json's binary form is its text).
func writeRaw(w http.ResponseWriter, doc []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(doc)))
	if _, err := w.Write(doc); err != nil {
		log.Printf("write: %v", err)
	}
}

// lookUpToken runs regmo's token lookup when -token-lookup is set; false means the answer
// has been written.
func (s *server) lookUpToken(w http.ResponseWriter, r *http.Request) bool {
	if !s.tokenLookup {
		return true
	}
	hash := sha256.Sum256([]byte(strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")))
	rows, err := s.pool.Query(r.Context(), tokenSQL, hash[:])
	if err != nil {
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
		return false
	}
	found := rows.Next()
	rows.Close()
	if err := rows.Err(); err != nil {
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
		return false
	}
	if !found {
		http.Error(w, "unknown token", http.StatusUnauthorized)
		return false
	}
	return true
}

func (s *server) getRegister(w http.ResponseWriter, r *http.Request) {
	if !s.lookUpToken(w, r) {
		return
	}
	today := berlinToday()
	rows, ok := s.queryOne(w, r, getSQL, "register", r.PathValue("code"), r.PathValue("key"))
	if !ok {
		return
	}
	defer rows.Close()
	reg, err := scanRegister(rows, today)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	rows.Close()
	w.Header().Set("ETag", `"`+strconv.FormatInt(reg.Version, 10)+`"`)
	writeJSON(w, reg)
}

func (s *server) listRegisters(w http.ResponseWriter, r *http.Request) {
	if !s.lookUpToken(w, r) {
		return
	}
	today := berlinToday()
	limit, ok := parseLimit(w, r)
	if !ok {
		return
	}
	// One row more than the page tells whether there is a next page, as in regmo.
	rows, err := s.pool.Query(r.Context(), listSQL, "register", limit+1)
	if err != nil {
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
		return
	}
	defer rows.Close()
	list := registerList{Items: make([]register, 0, limit+1)}
	for rows.Next() {
		reg, err := scanRegister(rows, today)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		list.Items = append(list.Items, reg)
	}
	if err := rows.Err(); err != nil {
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
		return
	}
	if len(list.Items) > limit {
		list.Items = list.Items[:limit]
		last := list.Items[limit-1]
		next := nextCursor(last.Ressort, last.Key)
		list.NextCursor = &next
	}
	writeJSON(w, list)
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	if err := json.NewEncoder(w).Encode(v); err != nil {
		log.Printf("encode: %v", err)
	}
}

func main() {
	addr := flag.String("addr", "127.0.0.1:8090", "listen address")
	maxConns := flag.Int("max-conns", 20, "pool size (regmo's is 20)")
	tokenLookup := flag.Bool("token-lookup", false, "also run regmo's token lookup for every request")
	jsonSQL := flag.Bool("json-sql", false, "let PostgreSQL build each answer's JSON in one statement")
	flag.Parse()
	if err := run(*addr, int32(*maxConns), *tokenLookup, *jsonSQL); err != nil {
		fmt.Fprintln(os.Stderr, "baseline:", err)
		os.Exit(1)
	}
}

func run(addr string, maxConns int32, tokenLookup, jsonSQL bool) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cfg, err := pgxpool.ParseConfig(os.Getenv("DATABASE_URL"))
	if err != nil {
		return err
	}
	cfg.MaxConns = maxConns
	cfg.ConnConfig.RuntimeParams["application_name"] = "regmo-baseline"
	cfg.ConnConfig.RuntimeParams["statement_timeout"] = "15000"
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return err
	}
	defer pool.Close()
	if err := pool.Ping(ctx); err != nil {
		return err
	}
	httpServer := &http.Server{Handler: handler(pool, tokenLookup, jsonSQL), ReadHeaderTimeout: 5 * time.Second}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	log.Printf("baseline serving on http://%s", ln.Addr())
	errc := make(chan error, 1)
	go func() { errc <- httpServer.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := httpServer.Shutdown(shutdownCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// queryOne runs a query for one row and leaves the rows on it; without a row it has answered
// the request (404, or 503 when the query failed) and reports false.
func (s *server) queryOne(w http.ResponseWriter, r *http.Request, query string, args ...any) (pgx.Rows, bool) {
	rows, err := s.pool.Query(r.Context(), query, args...)
	if err != nil {
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
		return nil, false
	}
	if !rows.Next() {
		rows.Close()
		if err := rows.Err(); err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return nil, false
		}
		http.Error(w, "not found", http.StatusNotFound)
		return nil, false
	}
	return rows, true
}
