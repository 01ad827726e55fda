package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"slices"

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
	access := ""
	if read.AccessData() {
		access = "on"
	}
	return []any{read.Setting(), write.Setting(), access}
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
// implicit transaction. One entry and a list page are what the service reads most.
func queryEntriesIn(ctx context.Context, db *gorm.DB, sc domain.ReadScope, size int, cols []entryColumn, query string, args ...any) ([]entryRow, error) {
	sqlDB, err := db.DB()
	if err != nil {
		return nil, fmt.Errorf("store: database handle: %w", err)
	}
	// A pooled connection that died since its last use (a request abandoned in the middle
	// of its pipeline closes it; so does a restarted server) is dropped and the read, which
	// changes nothing, runs once more on another.
	for attempt := 0; ; attempt++ {
		out, err := queryEntriesOnce(ctx, sqlDB, sc, size, cols, query, args...)
		if attempt == 0 && errors.Is(err, driver.ErrBadConn) && ctx.Err() == nil {
			continue
		}
		return out, err
	}
}

func queryEntriesOnce(ctx context.Context, sqlDB *sql.DB, sc domain.ReadScope, size int, cols []entryColumn, query string, args ...any) ([]entryRow, error) {
	conn, err := sqlDB.Conn(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	var out []entryRow
	err = conn.Raw(func(dc any) (err error) {
		pc := dc.(*stdlib.Conn).Conn()
		if pc.IsClosed() {
			// database/sql discards a connection whose Raw returns driver.ErrBadConn.
			return driver.ErrBadConn
		}
		batch := &pgx.Batch{}
		batch.Queue(scopeSQL, scopeArgs(sc, domain.WriteScope{})...)
		batch.Queue(query, args...)
		br := pc.SendBatch(ctx, batch)
		defer func() {
			if cerr := br.Close(); err == nil {
				err = cerr
			}
			if err != nil && pc.IsClosed() && ctx.Err() == nil {
				err = fmt.Errorf("%w: %w", driver.ErrBadConn, err)
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
