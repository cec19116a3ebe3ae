package sqlstore

import (
	"context"
	"database/sql"
	"strconv"
	"strings"
)

// Imported Django hashes are checked with PBKDF2 at their own iteration
// count, often far costlier than argon2id. A failed login must cost as
// much as one against the costliest of them, or timing would tell which
// usernames exist; so the store keeps the highest count still stored in a
// setting: the import sets it, and replacing or deleting the last hash at
// that count lowers it.

const (
	legacyIterationsKey = "legacy_pbkdf2_iterations"
	djangoPBKDF2Prefix  = "pbkdf2_sha256$"
)

// pbkdf2Iterations returns the iteration count of a Django pbkdf2_sha256
// hash and the hash's text up to it ("pbkdf2_sha256$1000000$"); 0 for any
// other hash.
func pbkdf2Iterations(hash string) (int, string) {
	rest, ok := strings.CutPrefix(hash, djangoPBKDF2Prefix)
	if !ok {
		return 0, ""
	}
	n, _, ok := strings.Cut(rest, "$")
	iter, err := strconv.Atoi(n)
	if !ok || err != nil || iter < 0 {
		return 0, ""
	}
	return iter, djangoPBKDF2Prefix + n + "$"
}

// maxLegacyIterations reads every Django hash stored; it runs at an
// import, when the last hash at the highest count goes, and once on a
// database that predates the setting.
func maxLegacyIterations(ctx context.Context, query func(context.Context, string, ...any) (*sql.Rows, error)) (int, error) {
	rows, err := query(ctx, "SELECT password FROM users WHERE substr(password, 1, ?) = ?", len(djangoPBKDF2Prefix), djangoPBKDF2Prefix)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	highest := 0
	for rows.Next() {
		var hash string
		if err := rows.Scan(&hash); err != nil {
			return 0, err
		}
		iter, _ := pbkdf2Iterations(hash)
		highest = max(highest, iter)
	}
	return highest, rows.Err()
}

// recountLegacyHashes sets the highest PBKDF2 iteration count from the
// hashes stored.
func (tx *Tx) recountLegacyHashes(ctx context.Context) error {
	n, err := maxLegacyIterations(ctx, tx.query)
	if err != nil {
		return err
	}
	_, err = tx.exec(ctx, `INSERT INTO settings (key, value) VALUES (?, ?)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value`, legacyIterationsKey, strconv.Itoa(n))
	return err
}

// legacyHashGone keeps the highest PBKDF2 iteration count true after a
// user's hash oldHash was replaced or deleted: only when it was at the
// highest count and was the last one there does the count need reading
// again. Users replace their imported hashes in no particular order, so
// the search for another one at the same count stops early while many
// are left.
func (tx *Tx) legacyHashGone(ctx context.Context, oldHash string) error {
	iter, prefix := pbkdf2Iterations(oldHash)
	if prefix == "" {
		return nil
	}
	v, err := findSetting(ctx, tx, legacyIterationsKey)
	if err == sql.ErrNoRows {
		return nil // not computed yet: its first reader counts
	}
	if err != nil {
		return err
	}
	highest, err := strconv.Atoi(v)
	if err == nil && iter < highest {
		return nil
	}
	if err == nil && iter == highest {
		var left int
		if err := tx.queryRow(ctx, "SELECT count(*) FROM (SELECT 1 FROM users WHERE substr(password, 1, ?) = ? LIMIT 1) AS u",
			len(prefix), prefix).Scan(&left); err != nil {
			return err
		}
		if left > 0 {
			return nil
		}
	}
	return tx.recountLegacyHashes(ctx)
}
