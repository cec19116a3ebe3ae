package auth_test

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"tasktrack"
	"tasktrack/auth"
)

var (
	tokenSecret = []byte(strings.Repeat("s", 32))
	tokenT0     = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
)

// validClaims are the claims of a good access token issued at tokenT0,
// edited by each forgery.
func validClaims(edit func(jwt.MapClaims)) jwt.MapClaims {
	c := jwt.MapClaims{
		"token_type": auth.TypeAccess,
		"user_id":    7,
		"ver":        0,
		"jti":        "0123456789abcdef0123456789abcdef",
		"iat":        tokenT0.Unix(),
		"exp":        tokenT0.Add(5 * time.Minute).Unix(),
	}
	if edit != nil {
		edit(c)
	}
	return c
}

func sign(t *testing.T, m jwt.SigningMethod, key any, c jwt.Claims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(m, c).SignedString(key)
	if err != nil {
		t.Fatalf("sign %s: %v", m.Alg(), err)
	}
	return s
}

// segment is one base64url part of a hand-built token.
func segment(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

func TestVerifyRefusesForgedTokens(t *testing.T) {
	tokens := auth.NewTokens(tokenSecret, 5*time.Minute, 24*time.Hour)
	tokens.Now = func() time.Time { return tokenT0 }
	user := &tasktrack.User{ID: 7}
	access, _, err := tokens.Issue(user, auth.TypeAccess)
	if err != nil {
		t.Fatal(err)
	}
	refresh, _, err := tokens.Issue(user, auth.TypeRefresh)
	if err != nil {
		t.Fatal(err)
	}

	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&rsaKey.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	rsaPublicPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})

	hs256 := func(edit func(jwt.MapClaims)) string {
		return sign(t, jwt.SigningMethodHS256, tokenSecret, validClaims(edit))
	}
	without := func(name string) string {
		return hs256(func(c jwt.MapClaims) { delete(c, name) })
	}
	with := func(name string, v any) string {
		return hs256(func(c jwt.MapClaims) { c[name] = v })
	}

	// alg "none": an unsigned token, header.payload. with an empty signature.
	none := segment(t, map[string]string{"alg": "none", "typ": "JWT"}) + "." + segment(t, validClaims(nil)) + "."
	noneUpper := segment(t, map[string]string{"alg": "NONE", "typ": "JWT"}) + "." + segment(t, validClaims(nil)) + "."
	noneSigned := segment(t, map[string]string{"alg": "none", "typ": "JWT"}) + "." + segment(t, validClaims(nil)) + "." + strings.Split(hs256(nil), ".")[2]

	// Algorithm confusion: the header says RS256, but the signature is an
	// HMAC keyed with the shared secret, as if the verifier took the
	// secret for the RSA public key.
	confused := jwt.NewWithClaims(jwt.SigningMethodHS256, validClaims(nil))
	confused.Header["alg"] = "RS256"
	rs256WithSecret, err := confused.SignedString(tokenSecret)
	if err != nil {
		t.Fatal(err)
	}

	// A good token with its signature altered in its first character (the
	// last one may only carry padding bits).
	good := hs256(nil)
	parts := strings.Split(good, ".")
	sig := []byte(parts[2])
	if sig[0] == 'A' {
		sig[0] = 'B'
	} else {
		sig[0] = 'A'
	}
	badSignature := parts[0] + "." + parts[1] + "." + string(sig)
	// A good signature over another payload.
	swappedPayload := parts[0] + "." + segment(t, validClaims(func(c jwt.MapClaims) { c["user_id"] = 1 })) + "." + parts[2]

	cases := []struct {
		name  string
		token string
		typ   string
		after time.Duration // how long after tokenT0 it is verified
		ok    bool
	}{
		{"issued access", access, auth.TypeAccess, 0, true},
		{"issued refresh", refresh, auth.TypeRefresh, 0, true},
		{"forged with the right key", good, auth.TypeAccess, 0, true},
		{"access just before expiry", access, auth.TypeAccess, 5*time.Minute - time.Second, true},
		{"refresh just before expiry", refresh, auth.TypeRefresh, 24*time.Hour - time.Second, true},

		{"alg none", none, auth.TypeAccess, 0, false},
		{"alg NONE", noneUpper, auth.TypeAccess, 0, false},
		{"alg none with a signature", noneSigned, auth.TypeAccess, 0, false},
		{"HS384 with the right key", sign(t, jwt.SigningMethodHS384, tokenSecret, validClaims(nil)), auth.TypeAccess, 0, false},
		{"HS512 with the right key", sign(t, jwt.SigningMethodHS512, tokenSecret, validClaims(nil)), auth.TypeAccess, 0, false},
		{"RS256", sign(t, jwt.SigningMethodRS256, rsaKey, validClaims(nil)), auth.TypeAccess, 0, false},
		{"RS256 keyed with the secret", rs256WithSecret, auth.TypeAccess, 0, false},
		{"HS256 keyed with an RSA public key", sign(t, jwt.SigningMethodHS256, rsaPublicPEM, validClaims(nil)), auth.TypeAccess, 0, false},
		{"bad signature", badSignature, auth.TypeAccess, 0, false},
		{"payload swapped under a good signature", swappedPayload, auth.TypeAccess, 0, false},
		{"no signature", parts[0] + "." + parts[1] + ".", auth.TypeAccess, 0, false},
		{"other secret", sign(t, jwt.SigningMethodHS256, []byte(strings.Repeat("o", 32)), validClaims(nil)), auth.TypeAccess, 0, false},
		{"empty secret", sign(t, jwt.SigningMethodHS256, []byte{}, validClaims(nil)), auth.TypeAccess, 0, false},

		{"missing token_type", without("token_type"), auth.TypeAccess, 0, false},
		{"empty token_type", with("token_type", ""), auth.TypeAccess, 0, false},
		{"token_type in capitals", with("token_type", "ACCESS"), auth.TypeAccess, 0, false},
		{"refresh used as access", refresh, auth.TypeAccess, 0, false},
		{"access used as refresh", access, auth.TypeRefresh, 0, false},
		{"forged refresh used as access", with("token_type", auth.TypeRefresh), auth.TypeAccess, 0, false},

		{"missing exp", without("exp"), auth.TypeAccess, 0, false},
		{"exp not a number", with("exp", "tomorrow"), auth.TypeAccess, 0, false},
		{"access expired", access, auth.TypeAccess, 5*time.Minute + time.Second, false},
		{"refresh expired", refresh, auth.TypeRefresh, 24*time.Hour + time.Second, false},
		{"exp in the past", with("exp", tokenT0.Add(-time.Second).Unix()), auth.TypeAccess, 0, false},
		{"nbf in the future", with("nbf", tokenT0.Add(time.Minute).Unix()), auth.TypeAccess, 0, false},
		{"iat in the future", with("iat", tokenT0.Add(time.Minute).Unix()), auth.TypeAccess, 0, false},
		{"issued later than now", access, auth.TypeAccess, -time.Second, false},

		{"missing user_id", without("user_id"), auth.TypeAccess, 0, false},
		{"zero user_id", with("user_id", 0), auth.TypeAccess, 0, false},
		{"negative user_id", with("user_id", -7), auth.TypeAccess, 0, false},
		{"user_id a string", with("user_id", "7"), auth.TypeAccess, 0, false},
		{"missing jti", without("jti"), auth.TypeAccess, 0, false},
		{"empty jti", with("jti", ""), auth.TypeAccess, 0, false},

		{"empty string", "", auth.TypeAccess, 0, false},
		{"one word", "garbage", auth.TypeAccess, 0, false},
		{"three dots", "...", auth.TypeAccess, 0, false},
		{"three words", "a.b.c", auth.TypeAccess, 0, false},
		{"two parts", parts[0] + "." + parts[1], auth.TypeAccess, 0, false},
		{"four parts", good + ".x", auth.TypeAccess, 0, false},
		{"Bearer prefix left in", "Bearer " + good, auth.TypeAccess, 0, false},
		{"header not JSON", base64.RawURLEncoding.EncodeToString([]byte("{")) + "." + parts[1] + "." + parts[2], auth.TypeAccess, 0, false},
		{"payload not JSON", parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte("[1,2]")) + "." + parts[2], auth.TypeAccess, 0, false},
		{"not base64", "!!!.###.$$$", auth.TypeAccess, 0, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tokens.Now = func() time.Time { return tokenT0.Add(c.after) }
			claims, err := tokens.Verify(c.token, c.typ)
			if c.ok {
				if err != nil {
					t.Fatalf("refused a good token: %v", err)
				}
				if claims.UserID != 7 || claims.TokenType != c.typ || claims.ID == "" {
					t.Fatalf("claims: %+v", claims)
				}
				return
			}
			if err == nil {
				t.Fatalf("accepted: %+v", claims)
			}
			if claims != nil {
				t.Errorf("claims returned with an error: %+v", claims)
			}
			if !errors.Is(err, tasktrack.ErrTokenInvalid) {
				t.Errorf("error %v, want ErrTokenInvalid", err)
			}
		})
	}
}

// An access token verified before is answered from memory exactly as a
// parse would answer it: refused from its expiry on and before its issue
// time, refused as another type, its claims a copy the caller may change;
// and the memory stays bounded while every token it forgot still verifies.
func TestVerifyRemembersAsAParseWould(t *testing.T) {
	tokens := auth.NewTokens(tokenSecret, 5*time.Minute, 24*time.Hour)
	now := tokenT0
	tokens.Now = func() time.Time { return now }
	access, _, err := tokens.Issue(&tasktrack.User{ID: 7}, auth.TypeAccess)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name  string
		at    time.Time
		typ   string
		valid bool
	}{
		{"first", tokenT0, auth.TypeAccess, true},
		{"again", tokenT0.Add(time.Minute), auth.TypeAccess, true},
		{"as a refresh token", tokenT0.Add(time.Minute), auth.TypeRefresh, false},
		{"a moment before its expiry", tokenT0.Add(5*time.Minute - time.Nanosecond), auth.TypeAccess, true},
		{"at its expiry", tokenT0.Add(5 * time.Minute), auth.TypeAccess, false},
		{"after it", tokenT0.Add(time.Hour), auth.TypeAccess, false},
		{"before its issue", tokenT0.Add(-time.Second), auth.TypeAccess, false},
		{"back in its life", tokenT0.Add(2 * time.Minute), auth.TypeAccess, true},
	} {
		now = c.at
		claims, err := tokens.Verify(access, c.typ)
		if c.valid != (err == nil) || (err != nil && !errors.Is(err, tasktrack.ErrTokenInvalid)) {
			t.Fatalf("%s: %+v, %v", c.name, claims, err)
		}
		if err == nil {
			if claims.UserID != 7 {
				t.Fatalf("%s: claims %+v", c.name, claims)
			}
			claims.UserID = 8
		}
	}
	if tokens.Remembered() != 1 {
		t.Fatalf("remembers %d tokens, want the one access token", tokens.Remembered())
	}
	now = tokenT0
	var many []string
	for i := range 1500 {
		tok, _, err := tokens.Issue(&tasktrack.User{ID: int64(i + 1)}, auth.TypeAccess)
		if err != nil {
			t.Fatal(err)
		}
		many = append(many, tok)
	}
	for round := range 2 {
		for i, tok := range many {
			if c, err := tokens.Verify(tok, auth.TypeAccess); err != nil || c.UserID != int64(i+1) {
				t.Fatalf("round %d, token %d: %+v, %v", round, i, c, err)
			}
		}
	}
	if n := tokens.Remembered(); n > 1024 {
		t.Fatalf("remembers %d tokens, more than its bound", n)
	}
	refresh, _, err := tokens.Issue(&tasktrack.User{ID: 7}, auth.TypeRefresh)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tokens.Verify(refresh, auth.TypeAccess); err == nil {
		t.Fatal("a refresh token verified as an access token")
	}
}

// Issued tokens carry what the API documents, and a new jti each time.
func TestIssueClaims(t *testing.T) {
	tokens := auth.NewTokens(tokenSecret, 5*time.Minute, 24*time.Hour)
	tokens.Now = func() time.Time { return tokenT0 }
	u := &tasktrack.User{ID: 42, TokenVersion: 3}
	for _, c := range []struct {
		typ string
		ttl time.Duration
	}{{auth.TypeAccess, 5 * time.Minute}, {auth.TypeRefresh, 24 * time.Hour}} {
		t.Run(c.typ, func(t *testing.T) {
			a, exp, err := tokens.Issue(u, c.typ)
			if err != nil {
				t.Fatal(err)
			}
			b, _, err := tokens.Issue(u, c.typ)
			if err != nil {
				t.Fatal(err)
			}
			if !exp.Equal(tokenT0.Add(c.ttl)) {
				t.Errorf("expiry %v, want %v", exp, tokenT0.Add(c.ttl))
			}
			ca, err := tokens.Verify(a, c.typ)
			if err != nil {
				t.Fatal(err)
			}
			cb, err := tokens.Verify(b, c.typ)
			if err != nil {
				t.Fatal(err)
			}
			if ca.UserID != 42 || ca.Version != 3 || ca.TokenType != c.typ || len(ca.ID) != 32 ||
				!ca.IssuedAt.Equal(tokenT0) || !ca.ExpiresAt.Equal(tokenT0.Add(c.ttl)) {
				t.Errorf("claims: %+v", ca)
			}
			if ca.ID == cb.ID {
				t.Errorf("two tokens share the jti %s", ca.ID)
			}
			var header map[string]any
			raw, err := base64.RawURLEncoding.DecodeString(strings.Split(a, ".")[0])
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(raw, &header); err != nil {
				t.Fatal(err)
			}
			if header["alg"] != "HS256" {
				t.Errorf("header %v", header)
			}
		})
	}
}

func TestHashToken(t *testing.T) {
	h := auth.HashToken("a.b.c")
	if len(h) != 64 || h == "a.b.c" || strings.Contains(h, "a.b.c") {
		t.Fatalf("HashToken = %q", h)
	}
	if auth.HashToken("a.b.c") != h || auth.HashToken("a.b.d") == h {
		t.Fatal("HashToken is not a function of the token alone")
	}
}
