package sqlstore

import "context"

// RefreshTokenHashes returns what is stored of every refresh token (spent
// and revoked ones included), oldest first. It is for tests and operators
// checking that no raw token is ever written to the database.
func (s *SessionService) RefreshTokenHashes(ctx context.Context) (_ []string, err error) {
	defer wrap(&err, "sqlstore.RefreshTokenHashes")
	rows, err := s.db.query(ctx, "SELECT token_hash FROM refresh_tokens ORDER BY created_at, token_hash")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var hashes []string
	for rows.Next() {
		var h string
		if err := rows.Scan(&h); err != nil {
			return nil, s.db.mapErr(err)
		}
		hashes = append(hashes, h)
	}
	return hashes, s.db.mapErr(rows.Err())
}
