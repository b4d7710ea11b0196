// Package sqlite is the SQLite implementation of store.Store: it keeps Tether's records and checkpoints in
// one SQLite database file, through the pure-Go modernc.org/sqlite driver.
//
// One Store owns two connection pools on the database: a single writer connection, through which every
// write transaction goes (so concurrent writers queue in Go instead of failing with SQLITE_BUSY), and a pool
// of read-only connections that, in WAL mode, read a consistent snapshot while a write is under way. An
// in-memory database has one connection that does both.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	// The pure-Go SQLite driver, registered as "sqlite".
	_ "modernc.org/sqlite"

	"github.com/tether/integration-operator/internal/store"
)

// driverName is the database/sql name modernc.org/sqlite registers.
const driverName = "sqlite"

// busyTimeoutMillis is how long a connection waits for a lock another process (or another Store on the
// same file) holds before it fails with SQLITE_BUSY.
const busyTimeoutMillis = 10000

// maxReaders bounds the read-only connections of a file database.
const maxReaders = 4

// ErrInvalid is wrapped by the error WritePage, SaveCheckpoint and EnsureChannel return for input the store
// rejects before touching the database (an empty key, for example).
var ErrInvalid = errors.New("invalid input")

// Store is a store.Store on one SQLite database. It is safe for use by several goroutines.
type Store struct {
	write *sql.DB // one connection: every write transaction
	read  *sql.DB // read-only connections; the same as write for an in-memory database

	stmts *statements // prepared on write

	closeOnce sync.Once
	closeErr  error
}

var _ store.Store = (*Store)(nil)

// Open opens (creating it when missing) the database dsn names and brings its schema up to date.
//
// dsn is a file path ("/var/lib/tether/store.db"), a SQLite URI ("file:/var/lib/tether/store.db?mode=rwc")
// or an in-memory name (":memory:", "file::memory:"), optionally with modernc.org/sqlite query parameters.
// Open adds the pragmas the store relies on: WAL journal, busy timeout, foreign keys and
// synchronous=NORMAL. Each Open of ":memory:" is a new, empty database.
func Open(ctx context.Context, dsn string) (*Store, error) {
	if dsn == "" {
		return nil, fmt.Errorf("sqlite: open: empty dsn: %w", ErrInvalid)
	}
	common := []string{
		fmt.Sprintf("_pragma=busy_timeout(%d)", busyTimeoutMillis),
		"_pragma=foreign_keys(1)",
		"_pragma=synchronous(NORMAL)",
	}
	writeDSN := withParams(dsn, append(common, "_pragma=journal_mode(WAL)", "_txlock=immediate")...)
	w, err := sql.Open(driverName, writeDSN)
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", dsn, err)
	}
	// One writer connection, never closed for idleness: writes queue on it, and an in-memory database lives
	// exactly as long as it.
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)

	s := &Store{write: w, read: w}
	if err := migrateWhenFree(ctx, w); err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", dsn, err)
	}
	if s.stmts, err = prepareStatements(ctx, w); err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", dsn, err)
	}
	if !isMemory(dsn) {
		r, err := sql.Open(driverName, withParams(dsn, append(common, "_pragma=query_only(1)")...))
		if err != nil {
			w.Close()
			return nil, fmt.Errorf("sqlite: open %s for reading: %w", dsn, err)
		}
		r.SetMaxOpenConns(maxReaders)
		r.SetMaxIdleConns(maxReaders)
		s.read = r
	}
	return s, nil
}

// migrateWhenFree runs the migrations, waiting while another process holds the database: SQLite can answer
// SQLITE_BUSY at once, without its busy handler, while another connection switches the file to WAL or recovers
// it, which is what a second replica starting beside the first meets.
func migrateWhenFree(ctx context.Context, w *sql.DB) error {
	deadline := time.Now().Add(busyTimeoutMillis * time.Millisecond)
	for wait := 10 * time.Millisecond; ; wait = min(2*wait, time.Second) {
		err := migrate(ctx, w)
		if err == nil || !isBusy(err) || time.Now().After(deadline) {
			return err
		}
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func isBusy(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "SQLITE_BUSY") || strings.Contains(msg, "database is locked")
}

// Close releases the database connections. Calls after the first return its result.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		var errs []error
		if s.read != s.write {
			errs = append(errs, s.read.Close())
		}
		errs = append(errs, s.write.Close())
		if err := errors.Join(errs...); err != nil {
			s.closeErr = fmt.Errorf("sqlite: close: %w", err)
		}
	})
	return s.closeErr
}

// withParams appends query parameters to a DSN that may already have some.
func withParams(dsn string, params ...string) string {
	sep := "?"
	if strings.Contains(dsn, "?") {
		sep = "&"
	}
	return dsn + sep + strings.Join(params, "&")
}

// isMemory reports whether dsn names an in-memory database, which exists only on its one connection.
func isMemory(dsn string) bool {
	name, query, _ := strings.Cut(dsn, "?")
	return name == ":memory:" || strings.HasPrefix(name, "file::memory:") || name == "file::memory" ||
		strings.Contains("&"+query+"&", "&mode=memory&")
}
