package api_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"runtime/pprof"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/xuri/excelize/v2"
	"gorm.io/gorm"

	"github.com/bremen/regmo/api"
	"github.com/bremen/regmo/domain"
	"github.com/bremen/regmo/domain/access"
	"github.com/bremen/regmo/domain/store"
	"github.com/bremen/regmo/migrations/testdb"
)

// benchImportRows is the size the import issue names.
const benchImportRows = 100_000

var benchRessorts = []string{"SF", "SK", "SIS", "SBMS", "SASJI", "SJV", "SKB", "SWHT", "MAG-BHV", "ZGF"}

var benchStages = []string{"not_started", "planned", "in_progress", "testing", "live"}

// benchRow is one register of the benchmark, the same for the import and for COPY.
type benchRow struct {
	ressort, key, name, legalBasis string
	stages                         [3]string
	date                           string
}

func benchRows() []benchRow {
	rows := make([]benchRow, benchImportRows)
	for i := range rows {
		rows[i] = benchRow{
			ressort:    benchRessorts[i%len(benchRessorts)],
			key:        fmt.Sprintf("register-%06d", i),
			name:       fmt.Sprintf("Register Nr. %d der Verwaltung", i),
			legalBasis: "§ 1 IDNrG",
			stages:     [3]string{benchStages[i%5], benchStages[(i/5)%5], benchStages[(i/25)%5]},
			date:       "2028-12-31",
		}
	}
	return rows
}

func benchCSV(rows []benchRow) string {
	var b strings.Builder
	b.WriteString("ressort,key,name,legal_basis,idnr_stage,idnr_target_date,noots_stage,dsc_stage\n")
	for _, r := range rows {
		fmt.Fprintf(&b, "%s,%s,%s,%s,%s,%s,%s,%s\n", r.ressort, r.key, r.name, r.legalBasis, r.stages[0], r.date, r.stages[1], r.stages[2])
	}
	return b.String()
}

// benchXLSX is the same rows as a workbook, with the stages as text and the target dates as
// date cells, streamed by excelize as inline strings.
func benchXLSX(b *testing.B, rows []benchRow) string {
	f := excelize.NewFile()
	defer f.Close()
	_ = f.SetSheetName("Sheet1", "Register")
	date, _ := f.NewStyle(&excelize.Style{NumFmt: 14})
	sw, err := f.NewStreamWriter("Register")
	if err != nil {
		b.Fatal(err)
	}
	_ = sw.SetRow("A1", []any{"ressort", "key", "name", "legal_basis", "idnr_stage", "idnr_target_date", "noots_stage", "dsc_stage"})
	day := time.Date(2028, 12, 31, 0, 0, 0, 0, time.UTC)
	for i, r := range rows {
		cell, _ := excelize.CoordinatesToCellName(1, i+2)
		if err := sw.SetRow(cell, []any{r.ressort, r.key, r.name, r.legalBasis, r.stages[0],
			excelize.Cell{StyleID: date, Value: day}, r.stages[1], r.stages[2]}); err != nil {
			b.Fatal(err)
		}
	}
	if err := sw.Flush(); err != nil {
		b.Fatal(err)
	}
	buf, err := f.WriteToBuffer()
	if err != nil {
		b.Fatal(err)
	}
	return buf.String()
}

// profileImport starts a CPU profile of the import alone, without the benchmark's setup, when
// REGMO_BENCH_IMPORT_CPUPROFILE names its file (make bench's import profile); the function it
// returns stops it.
func profileImport(b *testing.B) (stop func()) {
	path := os.Getenv("REGMO_BENCH_IMPORT_CPUPROFILE")
	if path == "" {
		return func() {}
	}
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		b.Fatal(err)
	}
	return func() {
		pprof.StopCPUProfile()
		if err := f.Close(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkImport imports 100,000 registers as CSV through the real router into an empty
// database, the same rows as an XLSX workbook, re-imports them unchanged, and has two
// ceilings: COPY of exactly the rows the import stores (its entries, their versions and their
// events, read back from an import), and COPY of the same registers into entries alone, which
// leaves out the history and the audit trail every write must keep. Targets: import < 10 s and
// at least half of COPY's rate (issue 16); re-import < 5 s.
func BenchmarkImport(b *testing.B) {
	rows := benchRows()
	body := benchCSV(rows)
	workbook := benchXLSX(b, rows)
	var importRate, xlsxRate, copyRate, storedRate []float64

	b.Run("import", func(b *testing.B) {
		for b.Loop() {
			b.StopTimer()
			srv, token := benchServer(b)
			stop := profileImport(b)
			b.StartTimer()
			res := benchPost(b, srv, token, body)
			stop()
			if !strings.Contains(res, fmt.Sprintf(`"created":%d`, benchImportRows)) {
				b.Fatalf("import answered %.300s", res)
			}
		}
		importRate = append(importRate, rate(b))
		b.ReportMetric(rate(b), "rows/s")
	})
	b.Run("xlsx", func(b *testing.B) {
		for b.Loop() {
			b.StopTimer()
			srv, token := benchServer(b)
			b.StartTimer()
			res := benchPostAs(b, srv, token, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "", workbook)
			if !strings.Contains(res, fmt.Sprintf(`"created":%d`, benchImportRows)) {
				b.Fatalf("import answered %.300s", res)
			}
		}
		xlsxRate = append(xlsxRate, rate(b))
		b.ReportMetric(rate(b), "rows/s")
	})
	b.Run("reimport", func(b *testing.B) {
		srv, token := benchServer(b)
		benchPost(b, srv, token, body)
		for b.Loop() {
			res := benchPost(b, srv, token, body)
			if !strings.Contains(res, fmt.Sprintf(`"unchanged":%d`, benchImportRows)) {
				b.Fatalf("re-import answered %.300s", res)
			}
		}
		b.ReportMetric(rate(b), "rows/s")
	})
	b.Run("copy", func(b *testing.B) {
		copyRate = append(copyRate, intoFresh(b, func(db *gorm.DB) { benchCopy(b, db, rows) }))
	})
	b.Run("copy-stored", func(b *testing.B) {
		stored := importedRows(b, body)
		storedRate = append(storedRate, intoFresh(b, func(db *gorm.DB) { copyStored(b, db, stored) }))
	})
	if len(importRate) > 0 && len(storedRate) > 0 {
		b.Logf("import %.0f rows/s, COPY of the rows it stores %.0f rows/s: import reaches %.0f %% of COPY's rate (target ≥ 50 %%)",
			median(importRate), median(storedRate), 100*median(importRate)/median(storedRate))
	}
	if len(importRate) > 0 && len(copyRate) > 0 {
		b.Logf("import %.0f rows/s, COPY into entries alone %.0f rows/s: import at %.0f %% of that rate",
			median(importRate), median(copyRate), 100*median(importRate)/median(copyRate))
	}
	if len(importRate) > 0 && len(xlsxRate) > 0 {
		b.Logf("CSV import %.0f rows/s (%d KiB), XLSX import %.0f rows/s (%d KiB) of the same %d rows: XLSX at %.0f %% of CSV's rate",
			median(importRate), len(body)>>10, median(xlsxRate), len(workbook)>>10, benchImportRows, 100*median(xlsxRate)/median(importRate))
	}
}

// intoFresh times write into a fresh database per iteration (the database's creation is not
// timed), reports the rows/s and returns them.
func intoFresh(b *testing.B, write func(*gorm.DB)) float64 {
	for b.Loop() {
		b.StopTimer()
		db := testdb.New(b)
		b.StartTimer()
		write(db)
	}
	b.ReportMetric(rate(b), "rows/s")
	return rate(b)
}

func rate(b *testing.B) float64 {
	return float64(benchImportRows) * float64(b.N) / b.Elapsed().Seconds()
}

func median(xs []float64) float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	return s[len(s)/2]
}

// benchServer is a server on a fresh database with an admin token.
func benchServer(b *testing.B) (*api.Server, string) {
	return benchServerOn(b, testdb.DSN(b))
}

// benchServerOn is a server on the database dsn names with an admin token.
func benchServerOn(b *testing.B, dsn string) (*api.Server, string) {
	db := testdb.Open(b, dsn)
	srv := startServer(b, api.Config{DB: testdb.App(b, dsn)})
	acc := access.New(store.NewAccess(db))
	ctx := context.Background()
	if _, _, err := acc.PutUser(ctx, "bench", domain.WriteAll(), domain.User{Name: "seeder", Active: true,
		Bindings: []domain.Binding{{Role: domain.RoleAdmin}}}); err != nil {
		b.Fatal(err)
	}
	token, _, err := acc.IssueToken(ctx, "bench", domain.WriteAll(), "seeder", "bench", time.Hour)
	if err != nil {
		b.Fatal(err)
	}
	return srv, token
}

func benchPost(b *testing.B, srv *api.Server, token, body string) string {
	return benchPostAs(b, srv, token, "text/csv", "kind=registers", body)
}

func benchPostAs(b *testing.B, srv *api.Server, token, contentType, query, body string) string {
	req := httptest.NewRequest("POST", "/v1/import?"+query, strings.NewReader(body))
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("Authorization", "Bearer "+token)
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, req)
	if rec.Code != 200 {
		b.Fatalf("import: %d %.500s", rec.Code, rec.Body)
	}
	return rec.Body.String()
}

// benchCopy is the second ceiling: the same registers COPYed into entries, nothing else
// written.
func benchCopy(b *testing.B, db *gorm.DB, rows []benchRow) {
	now := time.Now()
	withConn(b, db, func(ctx context.Context, pc *pgx.Conn) error {
		stage, err := pc.LoadType(ctx, "stage")
		if err != nil {
			return err
		}
		pc.TypeMap().RegisterType(stage)
		src := pgx.CopyFromSlice(len(rows), func(i int) ([]any, error) {
			r := rows[i]
			date := pgtype.Date{Time: time.Date(2028, 12, 31, 0, 0, 0, 0, time.UTC), Valid: true}
			return []any{"register", r.ressort, r.key, r.name, r.legalBasis, r.stages[0], date, r.stages[1], r.stages[2],
				now, now, "seeder"}, nil
		})
		n, err := pc.CopyFrom(ctx, pgx.Identifier{"entries"}, []string{"kind", "ressort", "key", "name", "legal_basis",
			"idnr_stage", "idnr_target_date", "noots_stage", "dsc_stage", "created_at", "updated_at", "updated_by"}, src)
		if err == nil && n != int64(len(rows)) {
			err = fmt.Errorf("copied %d rows, want %d", n, len(rows))
		}
		if err != nil {
			return fmt.Errorf("COPY: %w", err)
		}
		return nil
	})
}

// storedTables are the tables an import of registers writes, in the order it writes them,
// each with the rows of the import: the events of the benchmark's user and token are not.
var storedTables = []struct{ table, rows string }{
	{"entries", "SELECT * FROM entries"},
	{"entry_versions", "SELECT * FROM entry_versions"},
	{"events", "SELECT * FROM events WHERE entity_type IN ('register', 'onlinedienst')"},
}

// importedRows imports body into a fresh database and reads back what the import stored, one
// binary COPY per table of storedTables.
func importedRows(b *testing.B, body string) [][]byte {
	dsn := testdb.DSN(b)
	srv, token := benchServerOn(b, dsn)
	benchPost(b, srv, token, body)
	var out [][]byte
	withConn(b, testdb.Open(b, dsn), func(ctx context.Context, pc *pgx.Conn) error {
		for _, t := range storedTables {
			var buf bytes.Buffer
			if _, err := pc.PgConn().CopyTo(ctx, &buf, "COPY ("+t.rows+") TO STDOUT (FORMAT binary)"); err != nil {
				return fmt.Errorf("read %s back: %w", t.table, err)
			}
			out = append(out, buf.Bytes())
		}
		return nil
	})
	return out
}

// copyStored is the first ceiling: the rows an import stored, COPYed into the same tables
// (with every trigger an import fires) in one transaction, as the database's owner.
func copyStored(b *testing.B, db *gorm.DB, stored [][]byte) {
	withConn(b, db, func(ctx context.Context, pc *pgx.Conn) error {
		tx, err := pc.Begin(ctx)
		if err != nil {
			return err
		}
		defer func() { _ = tx.Rollback(ctx) }()
		for i, t := range storedTables {
			tag, err := pc.PgConn().CopyFrom(ctx, bytes.NewReader(stored[i]), "COPY "+t.table+" FROM STDIN (FORMAT binary)")
			if err != nil {
				return fmt.Errorf("COPY %s: %w", t.table, err)
			}
			if t.table == "entries" && tag.RowsAffected() != benchImportRows {
				return fmt.Errorf("copied %d entries, want %d", tag.RowsAffected(), benchImportRows)
			}
		}
		return tx.Commit(ctx)
	})
}

// withConn runs fn on one pgx connection of db.
func withConn(b *testing.B, db *gorm.DB, fn func(context.Context, *pgx.Conn) error) {
	sqlDB, err := db.DB()
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	conn, err := sqlDB.Conn(ctx)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	if err := conn.Raw(func(dc any) error { return fn(ctx, dc.(*stdlib.Conn).Conn()) }); err != nil {
		b.Fatal(err)
	}
}
