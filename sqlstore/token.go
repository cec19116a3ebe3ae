package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"strings"
	"time"

	"tasktrack"
)

// TokenService is the personal access tokens: their owners' management
// of them, and finding one by its hash to authenticate a request.
type TokenService struct{ db *DB }

var (
	_ tasktrack.PersonalTokenService = (*TokenService)(nil)
	_ tasktrack.PersonalTokenStore   = (*TokenService)(nil)
)

const tokenColumns = `p.id, p.user_id, p.name, p.scopes, p.created_at, p.expires_at, p.last_used_at, p.revoked_at`

// tokenRow holds the scanned columns of tokenColumns.
type tokenRow struct {
	t                      tasktrack.PersonalToken
	scopes                 string
	created                int64
	expires, used, revoked sql.NullInt64
}

func (r *tokenRow) dest() []any {
	return []any{&r.t.ID, &r.t.UserID, &r.t.Name, &r.scopes, &r.created, &r.expires, &r.used, &r.revoked}
}

func (r *tokenRow) token() *tasktrack.PersonalToken {
	t := r.t
	for _, s := range strings.Split(r.scopes, ",") {
		if s != "" {
			t.Scopes = append(t.Scopes, tasktrack.Scope(s))
		}
	}
	t.CreatedAt = fromMicros(r.created)
	t.ExpiresAt, t.LastUsedAt, t.RevokedAt = timePtr(r.expires), timePtr(r.used), timePtr(r.revoked)
	return &t
}

// withTokenID adds token_id to the JSON object of an audit entry's
// details, for a change made through a personal access token.
func withTokenID(details []byte, id string) ([]byte, error) {
	m := map[string]json.RawMessage{}
	if err := json.Unmarshal(details, &m); err != nil {
		return nil, err
	}
	m["token_id"], _ = json.Marshal(id)
	return json.Marshal(m)
}

func joinScopes(scopes []tasktrack.Scope) string {
	parts := make([]string, len(scopes))
	for i, s := range scopes {
		parts[i] = string(s)
	}
	return strings.Join(parts, ",")
}

// CreatePersonalToken stores a new token of the actor's, with its audit
// entry.
func (s *TokenService) CreatePersonalToken(ctx context.Context, in tasktrack.PersonalTokenCreate, hash string) (_ *tasktrack.PersonalToken, err error) {
	defer wrap(&err, "sqlstore.CreatePersonalToken")
	actor := tasktrack.ActorFromContext(ctx)
	if actor == nil {
		return nil, tasktrack.ErrNotAuthenticated
	}
	errs := tasktrack.FieldErrors{}
	name, scopes := tasktrack.ValidatePersonalToken(errs, in, s.db.now())
	if err := errs.Err(); err != nil {
		return nil, err
	}
	var t *tasktrack.PersonalToken
	err = s.db.update(ctx, func(tx *Tx) error {
		t = &tasktrack.PersonalToken{
			ID: uuidV7At(tx.now.UnixMilli()).String(), UserID: actor.ID, Name: name, Scopes: scopes, CreatedAt: tx.now,
		}
		if in.ExpiresAt != nil {
			exp := in.ExpiresAt.UTC().Truncate(time.Microsecond)
			t.ExpiresAt = &exp
		}
		if _, err := tx.exec(ctx, `INSERT INTO personal_tokens (id, user_id, name, token_hash, scopes, created_at, expires_at)
			VALUES (?, ?, ?, ?, ?, ?, ?)`, t.ID, t.UserID, t.Name, hash, joinScopes(scopes), micros(tx.now), nullMicros(t.ExpiresAt)); err != nil {
			return err
		}
		return tx.audit(ctx, actor, tasktrack.ActionTokenCreate, "token", t.ID, map[string]any{
			"name": t.Name, "scopes": t.Scopes, "expires_at": t.ExpiresAt})
	})
	if err != nil {
		return nil, err
	}
	return t, nil
}

// liveTokens selects the tokens of user ? that are not revoked and were
// made after the user's last reactivation (deactivation ended the older
// ones); expired tokens are listed, so that their owner sees why a script
// stopped.
const liveTokens = ` FROM personal_tokens p JOIN users u ON u.id = p.user_id
	WHERE p.user_id = ? AND p.revoked_at IS NULL AND (u.reactivated_at IS NULL OR p.created_at > u.reactivated_at)`

// FindPersonalTokens lists the live tokens of user userID, newest first.
func (s *TokenService) FindPersonalTokens(ctx context.Context, userID int64, p tasktrack.Page) (_ []*tasktrack.PersonalToken, _ int, err error) {
	defer wrap(&err, "sqlstore.FindPersonalTokens")
	actor := tasktrack.ActorFromContext(ctx)
	if err := tasktrack.AuthorizeTokens(actor, userID); err != nil {
		return nil, 0, err
	}
	if _, err := findUser(ctx, s.db, userID); err != nil {
		return nil, 0, s.db.mapErr(err)
	}
	var total int
	if err := s.db.queryRow(ctx, "SELECT count(*)"+liveTokens, userID).Scan(&total); err != nil {
		return nil, 0, s.db.mapErr(err)
	}
	limit, offset := pageArgs(p)
	rows, err := s.db.query(ctx, "SELECT "+tokenColumns+liveTokens+" ORDER BY p.created_at DESC, p.id DESC LIMIT ? OFFSET ?", userID, limit, offset)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	out := []*tasktrack.PersonalToken{}
	for rows.Next() {
		var r tokenRow
		if err := rows.Scan(r.dest()...); err != nil {
			return nil, 0, s.db.mapErr(err)
		}
		out = append(out, r.token())
	}
	return out, total, s.db.mapErr(rows.Err())
}

// RevokePersonalToken revokes token id of user userID; it stops working
// at the next request, in every process.
func (s *TokenService) RevokePersonalToken(ctx context.Context, userID int64, id string) (err error) {
	defer wrap(&err, "sqlstore.RevokePersonalToken(%s)", id)
	actor := tasktrack.ActorFromContext(ctx)
	if err := tasktrack.AuthorizeTokens(actor, userID); err != nil {
		return err
	}
	if !tasktrack.ValidID(id) {
		return tasktrack.ErrNotFound
	}
	return s.db.update(ctx, func(tx *Tx) error {
		var name string
		err := tx.queryRow(ctx, `UPDATE personal_tokens SET revoked_at = ?
			WHERE id = ? AND user_id = ? AND revoked_at IS NULL RETURNING name`, micros(tx.now), strings.ToLower(id), userID).Scan(&name)
		if err == sql.ErrNoRows {
			return tasktrack.ErrNotFound
		}
		if err != nil {
			return err
		}
		return tx.audit(ctx, actor, tasktrack.ActionTokenRevoke, "token", strings.ToLower(id), map[string]any{"user_id": userID, "name": name})
	})
}

// tokenByHash reads a token and its owner by the hash of its secret: one
// read through the unique index on the hash and the users' primary key.
const tokenByHash = "SELECT " + tokenColumns + ", p.token_hash, " + userColumns +
	" FROM personal_tokens p JOIN users u ON u.id = p.user_id WHERE p.token_hash = ?"

// PersonalTokenByHash loads a token and its owner by the hash of its
// secret (tokenByHash).
func (s *TokenService) PersonalTokenByHash(ctx context.Context, hash string) (_ *tasktrack.PersonalToken, _ *tasktrack.User, err error) {
	defer wrap(&err, "sqlstore.PersonalTokenByHash")
	var r tokenRow
	row := s.db.queryRow(ctx, tokenByHash, hash)
	u, err := scanUser(prefixScanner{row, append(r.dest(), &r.t.Hash)})
	if err != nil {
		return nil, nil, s.db.mapErr(err)
	}
	return r.token(), u, nil
}

// prefixScanner scans its prefix's columns first, then the caller's.
type prefixScanner struct {
	s      scanner
	prefix []any
}

func (p prefixScanner) Scan(dest ...any) error { return p.s.Scan(append(p.prefix, dest...)...) }

// TouchPersonalToken records a use of token id at at, at most once a
// minute: the condition holds across processes, so replicas serving the
// same token write it once between them.
func (s *TokenService) TouchPersonalToken(ctx context.Context, id string, at time.Time) (err error) {
	defer wrap(&err, "sqlstore.TouchPersonalToken(%s)", id)
	return s.db.update(ctx, func(tx *Tx) error {
		_, err := tx.exec(ctx, `UPDATE personal_tokens SET last_used_at = ?
			WHERE id = ? AND (last_used_at IS NULL OR last_used_at <= ?)`, micros(at), id, micros(at.Add(-time.Minute)))
		return err
	})
}
