// Package postgres is the PostgreSQL adapter: tenant.Store, message.Store and
// idempotency.Store on one pgx connection pool, with the schema applied by Migrate
// from the embedded migrations. Every method takes ctx first and returns *errs.Error:
// Unavailable when the server cannot be reached, Timeout when ctx's deadline passes,
// Conflict for a duplicate, Internal for anything unexpected.
package postgres

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/catalyst-cpaas/catalyst/internal/errs"
)

// DB is a connection pool and the stores built on it. It is safe for concurrent use.
type DB struct {
	pool *pgxpool.Pool
	now  func() time.Time
	log  *slog.Logger // nil: Open warns nobody
}

// Option configures Open.
type Option func(*DB)

// WithClock makes the stores read the time from now instead of time.Now: CreatedAt,
// UpdatedAt, an entry's missing At and idempotency expiry all come from it. Tests
// use it to step time; a nil now keeps time.Now.
func WithClock(now func() time.Time) Option {
	return func(db *DB) {
		if now != nil {
			db.now = now
		}
	}
}

// WithLogger gives Open a logger: it warns there when the connection to a server
// that is not on this host is not encrypted (sslmode=disable, or a server that did
// not negotiate TLS).
func WithLogger(log *slog.Logger) Option {
	return func(db *DB) { db.log = log }
}

// defaultMaxConns is the pool size when the URL sets no pool_max_conns.
const defaultMaxConns = 16

// planCacheMode is the sessions' plan_cache_mode unless the URL sets one: every
// execution is planned for its own parameters and the tables as they are then. The
// batch statements join an unnest of keys to tables that grow by the minute, and
// the generic plan PostgreSQL keeps for a prepared statement after five executions
// was chosen while a table was nearly empty (a hash join over a sequential scan).
// It stayed until the next ANALYZE — with autovacuum off, for good: the settle
// UPDATE and the message record's lock and update scanned the whole table, 40–60 ms
// a statement at 25,000 rows (auto_explain during a 250/s run), and the platform
// fell further behind every minute. Planning each execution costs far less.
const planCacheMode = "force_custom_plan"

// Open connects to the database at url (a postgres:// URL or key=value DSN; pool
// settings such as pool_max_conns go in it) and checks the connection. It does not
// migrate: call Migrate.
func Open(ctx context.Context, url string, opts ...Option) (*DB, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, errs.Wrap(errs.Invalid, err, "postgres: parse database url")
	}
	if !strings.Contains(url, "pool_max_conns") {
		// pgxpool's default (max(4, CPUs)) starves a process whose API requests and
		// message-record deliveries share the pool: BenchmarkSendMessage/postgres runs
		// faster with more; pool_max_conns in the URL still decides.
		cfg.MaxConns = defaultMaxConns
	}
	if _, set := cfg.ConnConfig.RuntimeParams["plan_cache_mode"]; !set {
		cfg.ConnConfig.RuntimeParams["plan_cache_mode"] = planCacheMode
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, wrap(err, "postgres: open pool")
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, wrap(err, "postgres: connect to %s:%d", cfg.ConnConfig.Host, cfg.ConnConfig.Port)
	}
	db := &DB{pool: pool, now: time.Now}
	for _, o := range opts {
		o(db)
	}
	if db.log != nil {
		if err := db.warnPlaintext(ctx, cfg.ConnConfig.TLSConfig == nil); err != nil {
			pool.Close()
			return nil, err
		}
	}
	return db, nil
}

// warnPlaintext logs a warning when a connection of the pool talks plaintext to a
// server that is not on this host: the password and every message would cross the
// network readable. On a loopback address or a Unix socket plaintext is the right
// choice (TLS there costs CPU and protects nothing; docs/operators.md).
func (db *DB) warnPlaintext(ctx context.Context, disabled bool) error {
	c, err := db.pool.Acquire(ctx)
	if err != nil {
		return wrap(err, "postgres: acquire a connection")
	}
	defer c.Release()
	conn := c.Conn().PgConn().Conn()
	if _, ok := conn.(*tls.Conn); ok {
		return nil
	}
	if addr, ok := conn.RemoteAddr().(*net.TCPAddr); !ok || addr.IP.IsLoopback() {
		return nil // a Unix socket or this host
	}
	why := "the server did not negotiate TLS"
	if disabled {
		why = "sslmode=disable"
	}
	db.log.Warn("PostgreSQL connection is not encrypted: the password and data cross the network in plaintext; set sslmode=verify-full (or require) in DATABASE_URL",
		"server", conn.RemoteAddr().String(), "why", why)
	return nil
}

// Close closes every connection; it waits for acquired connections to be released.
func (db *DB) Close() { db.pool.Close() }

// clock returns the current time as stored: UTC, microsecond precision.
func (db *DB) clock() time.Time { return db.now().UTC().Truncate(time.Microsecond) }

// inTx runs fn in a transaction, committing when fn returns nil.
func (db *DB) inTx(ctx context.Context, opts pgx.TxOptions, fn func(pgx.Tx) error) error {
	tx, err := db.pool.BeginTx(ctx, opts)
	if err != nil {
		return wrap(err, "postgres: begin transaction")
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	if err := fn(tx); err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return wrap(err, "postgres: commit")
	}
	return nil
}

// PostgreSQL error codes this package tells apart.
const (
	codeUniqueViolation      = "23505"
	codeSerializationFailure = "40001"
	codeDeadlockDetected     = "40P01"
)

// wrap turns a driver error into an *errs.Error that says what was being done. An
// error that already is an *errs.Error passes through unchanged.
func wrap(err error, format string, args ...any) error {
	if err == nil {
		return nil
	}
	var e *errs.Error
	if errors.As(err, &e) {
		return err
	}
	msg := fmt.Sprintf(format, args...)
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch {
		case pgErr.Code == codeUniqueViolation:
			return errs.Wrap(errs.Conflict, err, "%s", msg)
		case pgErr.Code == codeSerializationFailure, pgErr.Code == codeDeadlockDetected:
			return errs.Wrap(errs.Conflict, err, "%s", msg)
		case len(pgErr.Code) == 5 && (pgErr.Code[:2] == "08" || pgErr.Code[:2] == "53" || pgErr.Code[:2] == "57"):
			// connection exception, insufficient resources, operator intervention
			return errs.Wrap(errs.Unavailable, err, "%s", msg)
		}
		return errs.Wrap(errs.Internal, err, "%s", msg)
	}
	var connErr *pgconn.ConnectError
	var netErr net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return errs.Wrap(errs.Timeout, err, "%s", msg)
	case errors.Is(err, context.Canceled):
		return errs.Wrap(errs.Unavailable, err, "%s: canceled", msg)
	case errors.As(err, &connErr), errors.As(err, &netErr), errors.Is(err, io.EOF),
		errors.Is(err, io.ErrUnexpectedEOF), pgconn.SafeToRetry(err):
		return errs.Wrap(errs.Unavailable, err, "%s", msg)
	}
	return errs.Wrap(errs.Internal, err, "%s", msg)
}
