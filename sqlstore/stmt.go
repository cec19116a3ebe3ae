package sqlstore

import (
	"context"
	"database/sql"
	"sync"
	"sync/atomic"
)

// stmtCache keeps prepared statements by query text, so that a hot query
// is parsed once per connection rather than on every call. SQLite needs
// it. PostgreSQL has none: pgx caches per connection itself, as the URL's
// default_query_exec_mode says, and through a transaction pooler a
// statement prepared here would not outlive its transaction.
type stmtCache struct {
	db    *sql.DB
	stmts sync.Map // query text -> *sql.Stmt
	size  atomic.Int32
}

// maxCachedStmts bounds the cache: query texts built from filters have
// many shapes, and the rare ones need not stay prepared.
const maxCachedStmts = 256

func newStmtCache(db *sql.DB) *stmtCache { return &stmtCache{db: db} }

// get returns the prepared statement for q, or nil when the cache is full
// or preparing failed (the caller then runs q directly and sees the error).
func (c *stmtCache) get(ctx context.Context, q string) *sql.Stmt {
	if c == nil {
		return nil
	}
	if st, ok := c.stmts.Load(q); ok {
		return st.(*sql.Stmt)
	}
	if c.size.Load() >= maxCachedStmts {
		return nil
	}
	st, err := c.db.PrepareContext(ctx, q)
	if err != nil {
		return nil
	}
	if prev, loaded := c.stmts.LoadOrStore(q, st); loaded {
		st.Close()
		return prev.(*sql.Stmt)
	}
	c.size.Add(1)
	return st
}

func (c *stmtCache) close() {
	if c == nil {
		return
	}
	c.stmts.Range(func(_, v any) bool {
		v.(*sql.Stmt).Close()
		return true
	})
}
