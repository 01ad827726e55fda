package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"database/sql/driver"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/bremen/regmo/domain"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
	"gorm.io/gorm"
)

// AppRole is the database role all request work runs as (migration 00005): no superuser, no
// BYPASSRLS, owner of nothing, so that row-level security applies to everything it does.
const AppRole = "regmo_app"

// scopeSQL hands the caller's scope to row-level security for the current transaction only
// (is_local): a pooled connection never carries one caller's scope into the next request.
const scopeSQL = `SELECT set_config('regmo.read_ressorts', $1, true),
	set_config('regmo.write_ressorts', $2, true), set_config('regmo.read_access', $3, true)`

func scopeArgs(read domain.ReadScope, write domain.WriteScope) []any {
	r, w, a := scopeValues(read, write)
	return []any{r, w, a}
}

// scopeValues are scopeSQL's three arguments: the Ressorts read and written, and "on" if
// the caller may read access data.
func scopeValues(read domain.ReadScope, write domain.WriteScope) (readRessorts, writeRessorts, access string) {
	if read.AccessData() {
		access = "on"
	}
	return read.Setting(), write.Setting(), access
}

// readTx runs fn in a read-only transaction whose first statement sets the scope.
func readTx(ctx context.Context, db *gorm.DB, sc domain.ReadScope, fn func(tx *gorm.DB) error) error {
	return scopedTx(ctx, db, sc, domain.WriteScope{}, &sql.TxOptions{ReadOnly: true}, fn)
}

// writeTx runs fn in a transaction whose first statement sets the scope; what it may read is
// what it may change.
//
// A transaction PostgreSQL ends to break a deadlock or a serialization conflict (a PUT and an
// import that lock the same rows in another order) runs again, from its start, up to three
// times in all; then the write is given up as domain.ErrBusy, with nothing written. fn must
// therefore only assign what it hands out, never append.
func writeTx(ctx context.Context, db *gorm.DB, sc domain.WriteScope, fn func(tx *gorm.DB) error) error {
	for attempt := 1; ; attempt++ {
		err := scopedTx(ctx, db, sc.Reads(), sc, nil, fn)
		if !conflicted(err) || ctx.Err() != nil {
			return err
		}
		if attempt == 3 {
			return fmt.Errorf("store: write: %w after %d attempts: %w", domain.ErrBusy, attempt, err)
		}
	}
}

// conflicted reports a deadlock or a serialization failure: the transaction was rolled back
// and may simply run again.
func conflicted(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && (pgErr.Code == "40P01" || pgErr.Code == "40001")
}

func scopedTx(ctx context.Context, db *gorm.DB, read domain.ReadScope, write domain.WriteScope, opts *sql.TxOptions, fn func(tx *gorm.DB) error) error {
	var fnErr error
	err := db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := setScope(ctx, tx, read, write); err != nil {
			return err
		}
		fnErr = fn(tx)
		return fnErr
	}, opts)
	if err != nil && fnErr == nil {
		// Begin, the scope or Commit failed: say which, since pgx's own words ("conn closed")
		// name neither.
		return fmt.Errorf("store: transaction: %w", err)
	}
	return err
}

// setScope is the first statement of every transaction on the request path.
func setScope(ctx context.Context, tx *gorm.DB, read domain.ReadScope, write domain.WriteScope) error {
	if _, err := tx.Statement.ConnPool.ExecContext(ctx, scopeSQL, scopeArgs(read, write)...); err != nil {
		return fmt.Errorf("store: set scope: %w", err)
	}
	return nil
}

// queryEntriesIn runs one query selecting cols (entryTable or a kind's, see readOf; $n
// placeholders) in the scope, in one
// round trip: the scope and the query go to PostgreSQL as one pipeline, which it runs as one
// implicit transaction. A list page is what the service reads most after one entry (see
// queryFixedIn).
func queryEntriesIn(ctx context.Context, db *gorm.DB, sc domain.ReadScope, size int, cols []entryColumn, query string, args ...any) ([]entryRow, error) {
	var out []entryRow
	err := onConn(ctx, db, func(pc *pgx.Conn) (err error) {
		batch := &pgx.Batch{}
		batch.Queue(scopeSQL, scopeArgs(sc, domain.WriteScope{})...)
		batch.Queue(query, args...)
		br := pc.SendBatch(ctx, batch)
		defer func() {
			if cerr := br.Close(); err == nil {
				err = cerr
			}
		}()
		if _, err := br.Exec(); err != nil {
			return fmt.Errorf("store: set scope: %w", err)
		}
		rows, err := br.Query()
		if err != nil {
			return err
		}
		defer rows.Close()
		out = make([]entryRow, 0, size)
		// The destinations are built once per query: every row is scanned into the same
		// cleared row and then copied.
		var row entryRow
		scan := &rowScanner{cols: cols, dest: row.nativeFields(cols)}
		for rows.Next() {
			row = entryRow{}
			if err := rows.Scan(scan); err != nil {
				return err
			}
			out = append(out, row)
		}
		return rows.Err()
	})
	return out, err
}

// fixedQuery is a read of entries whose statement is fixed when the program starts and whose
// arguments are text: GET one, the read the service serves most. It runs as a prepared
// statement of its own name on every connection, and queryFixedIn sends it with the scope
// through pgconn's batch: what pgx's pipeline adds for statements of any shape (its queues,
// its argument encoding, a result reader per statement) costs GET one more than the decoding
// of its row.
type fixedQuery struct {
	name string // of the prepared statement: one per statement text (newFixedQuery)
	sql  string
	cols []entryColumn
}

// newFixedQuery names the statement by its text, so that two statements never share a name.
func newFixedQuery(sql string, cols []entryColumn) fixedQuery {
	sum := sha256.Sum256([]byte(sql))
	return fixedQuery{name: "regmo_" + hex.EncodeToString(sum[:8]), sql: sql, cols: cols}
}

// scopeStatement is the name scopeSQL is prepared under for queryFixedIn.
var scopeStatement = newFixedQuery(scopeSQL, nil).name

// queryFixedIn runs q with args in the scope in one round trip, as queryEntriesIn does: the
// scope and the query go to PostgreSQL in one batch with a single Sync, one implicit
// transaction.
func queryFixedIn(ctx context.Context, db *gorm.DB, sc domain.ReadScope, size int, q fixedQuery, args ...string) ([]entryRow, error) {
	var out []entryRow
	err := onConn(ctx, db, func(pc *pgx.Conn) error {
		var err error
		for attempt := 0; ; attempt++ {
			out, err = queryFixedOnce(ctx, pc, sc, size, q, args)
			// A migration that changed a column's type since the statement was prepared
			// makes PostgreSQL refuse its plan: prepare it anew, once.
			if attempt == 0 && stalePlan(err) && !pc.IsClosed() {
				if derr := pc.Deallocate(ctx, q.name); derr != nil {
					return errors.Join(err, derr)
				}
				continue
			}
			return err
		}
	})
	return out, err
}

func queryFixedOnce(ctx context.Context, pc *pgx.Conn, sc domain.ReadScope, size int, q fixedQuery, args []string) ([]entryRow, error) {
	// Prepare answers from the connection's own statements after the first time.
	scope, err := pc.Prepare(ctx, scopeStatement, scopeSQL)
	if err != nil {
		return nil, fmt.Errorf("store: prepare the scope: %w", err)
	}
	stmt, err := pc.Prepare(ctx, q.name, q.sql)
	if err != nil {
		return nil, err
	}
	if len(stmt.Fields) != len(q.cols) {
		return nil, fmt.Errorf("store: %s selects %d columns, want %d", q.name, len(stmt.Fields), len(q.cols))
	}
	read, write, access := scopeValues(sc, domain.WriteScope{})
	var batch pgconn.Batch
	// Text for every argument (PostgreSQL parses it by the parameter's type) and for the
	// scope's answer, which nobody reads; each column of the query in the format pgx would
	// ask for, which rowScanner decodes.
	batch.ExecStatement(scope, textValues(read, write, access), nil, nil)
	var room [32]int16
	formats := room[:0]
	for _, f := range stmt.Fields {
		formats = append(formats, pc.TypeMap().FormatCodeForOID(f.DataTypeOID))
	}
	batch.ExecStatement(stmt, textValues(args...), nil, formats)
	results := pc.PgConn().ExecBatch(ctx, &batch)
	out := make([]entryRow, 0, size)
	var row entryRow
	scan := &rowScanner{cols: q.cols, dest: row.nativeFields(q.cols)}
	for i := 0; results.NextResult(); i++ {
		rr := results.ResultReader()
		for i == 1 && rr.NextRow() {
			row = entryRow{}
			if err := scan.scan(rr.FieldDescriptions(), rr.Values(), pc.TypeMap()); err != nil {
				_, _ = rr.Close()
				_ = results.Close()
				return nil, err
			}
			out = append(out, row)
		}
		if _, err := rr.Close(); err != nil {
			_ = results.Close()
			if i == 0 {
				return nil, fmt.Errorf("store: set scope: %w", err)
			}
			return nil, err
		}
	}
	if err := results.Close(); err != nil {
		return nil, err
	}
	return out, nil
}

// textValues are the values as the bytes of one allocation.
func textValues(vs ...string) [][]byte {
	size := 0
	for _, v := range vs {
		size += len(v)
	}
	buf := make([]byte, 0, size)
	out := make([][]byte, len(vs))
	for i, v := range vs {
		start := len(buf)
		buf = append(buf, v...)
		out[i] = buf[start:len(buf):len(buf)]
	}
	return out
}

// stalePlan reports whether PostgreSQL refused a prepared statement because the tables it
// reads changed under it ("cached plan must not change result type").
func stalePlan(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "0A000" && strings.Contains(pgErr.Message, "cached plan")
}

// onConn runs fn on one pooled connection's pgx connection. A pooled connection that died
// since its last use (a request abandoned in the middle of its round trip closes it; so does
// a restarted server) is dropped and fn, a read that changes nothing, runs once more on
// another.
func onConn(ctx context.Context, db *gorm.DB, fn func(pc *pgx.Conn) error) error {
	sqlDB, err := db.DB()
	if err != nil {
		return fmt.Errorf("store: database handle: %w", err)
	}
	for attempt := 0; ; attempt++ {
		err := onConnOnce(ctx, sqlDB, fn)
		if attempt == 0 && errors.Is(err, driver.ErrBadConn) && ctx.Err() == nil {
			continue
		}
		return err
	}
}

func onConnOnce(ctx context.Context, sqlDB *sql.DB, fn func(pc *pgx.Conn) error) error {
	conn, err := sqlDB.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return conn.Raw(func(dc any) error {
		pc := dc.(*stdlib.Conn).Conn()
		if pc.IsClosed() {
			// database/sql discards a connection whose Raw returns driver.ErrBadConn.
			return driver.ErrBadConn
		}
		err := fn(pc)
		if err != nil && pc.IsClosed() && ctx.Err() == nil {
			err = fmt.Errorf("%w: %w", driver.ErrBadConn, err)
		}
		return err
	})
}

// serviceFilter switches the service's own Ressort filter; only a test of the second wall
// (row-level security on its own) turns it off.
var serviceFilter = true

// restrict narrows the requested Ressorts (empty: all) to the scope, as the service's own
// filter of every query that lists more than one entry; see domain.ReadScope.Restrict.
func restrict(scope domain.ReadScope, requested []string) (codes []string, all bool) {
	if !serviceFilter {
		return slices.Clone(requested), len(requested) == 0
	}
	return scope.Restrict(requested)
}
