package sqlstore_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"tasktrack"
	"tasktrack/sqlstore"
	. "tasktrack/sqlstore/sqlstoretest"
)

// A successful login's record, hash upgrade and refresh token are one
// transaction: when the token cannot be saved, neither the record nor the
// new hash stays; when it can, all three are there.
func TestLoginSucceededIsOneTransaction(t *testing.T) {
	Engines(t, func(t *testing.T, e Engine) {
		ctx := context.Background()
		db := Open(t, e)
		argon2Hash, err := db.Hasher.Hash("a-new-password-1")
		if err != nil {
			t.Fatal(err)
		}
		users := []*tasktrack.User{importedUser(1, "admin", "admin", argon2Hash), importedUser(2, "d", "user", djangoHash(2000))}
		if _, err := db.Importer.ImportDjango(ctx, users, nil, sqlstore.ImportOptions{}); err != nil {
			t.Fatal(err)
		}
		admin := users[0]
		u, err := db.Sessions.AuthUser(ctx, 2)
		if err != nil {
			t.Fatal(err)
		}
		exp := db.Now().Add(time.Hour)
		token := func(hash string) tasktrack.RefreshToken {
			return tasktrack.RefreshToken{Hash: hash, FamilyID: hash, UserID: u.ID, TokenVersion: u.TokenVersion, TokenKey: u.TokenKey, ExpiresAt: exp}
		}
		if err := db.Sessions.SaveRefreshToken(ctx, token("taken")); err != nil {
			t.Fatal(err)
		}
		actions := func() []string {
			t.Helper()
			entries, _, err := db.Audit.FindAuditEntries(As(admin), tasktrack.AuditFilter{TargetID: "2", Page: tasktrack.Page{Limit: 10}})
			if err != nil {
				t.Fatal(err)
			}
			var out []string
			for i := len(entries) - 1; i >= 0; i-- {
				out = append(out, entries[i].Action)
			}
			return out
		}
		steps := []struct {
			name       string
			token      string
			wantErr    tasktrack.Kind
			wantLegacy int
			wantAudit  []string
		}{
			{"token already stored", "taken", tasktrack.KindConflict, 2000, nil},
			{"new token", "fresh", -1, 0, []string{tasktrack.ActionLogin, tasktrack.ActionPasswordUpgraded}},
		}
		for _, s := range steps {
			err := db.Sessions.LoginSucceeded(ctx, u, u.Username, "192.0.2.1", token(s.token), argon2Hash)
			if s.wantErr < 0 && err != nil || s.wantErr >= 0 && (err == nil || tasktrack.ErrorKind(err) != s.wantErr) {
				t.Fatalf("%s: LoginSucceeded = %v, want kind %d", s.name, err, s.wantErr)
			}
			if got, err := db.Sessions.MaxLegacyIterations(ctx); err != nil || got != s.wantLegacy {
				t.Fatalf("%s: MaxLegacyIterations = %d, %v; want %d", s.name, got, err, s.wantLegacy)
			}
			if got := actions(); !slices.Equal(got, s.wantAudit) {
				t.Fatalf("%s: audit of the user = %q, want %q", s.name, got, s.wantAudit)
			}
		}
		if got, err := db.Sessions.RotateRefreshToken(ctx, "fresh", token("next")); err != nil || got.ID != u.ID {
			t.Fatalf("rotating the login's token: %+v, %v", got, err)
		}
	})
}
