package auth

import (
	"context"
	"crypto/pbkdf2"
	"crypto/sha256"
	"encoding/base64"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/argon2"

	"tasktrack"
)

// cheap are the smallest argon2id parameters, so that the tests run fast;
// the algorithm is the real one.
var cheap = Argon2Params{Memory: 64, Time: 1, Threads: 1}

func TestArgon2RoundTrip(t *testing.T) {
	h := NewHasher(cheap, 0)
	hash, err := h.Hash("correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(hash, "$argon2id$v=19$m=64,t=1,p=1$") || strings.Count(hash, "$") != 5 {
		t.Fatalf("hash %q is not an argon2id PHC string", hash)
	}
	if strings.Contains(hash, "correct horse") {
		t.Fatal("the hash contains the password")
	}
	if !IsKnownHash(hash) {
		t.Fatal("IsKnownHash refuses an argon2id hash")
	}
	again, err := h.Hash("correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	if again == hash {
		t.Fatal("two hashes of one password are equal: no random salt")
	}
	cases := []struct {
		name     string
		password string
		ok       bool
	}{
		{"right", "correct horse battery", true},
		{"wrong", "correct horse battery!", false},
		{"empty", "", false},
		{"other case", "Correct horse battery", false},
		{"prefix", "correct horse", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, hh := range []string{hash, again} {
				ok, rehash := h.Verify(hh, c.password)
				if ok != c.ok || rehash {
					t.Fatalf("Verify = %v, %v; want %v, false", ok, rehash, c.ok)
				}
			}
		})
	}
}

// A hash made with other parameters still verifies, and asks to be
// replaced; a wrong password never asks for a rehash.
func TestArgon2RehashWhenParamsDiffer(t *testing.T) {
	old := NewHasher(cheap, 0)
	hash, err := old.Hash("s3cret-pass")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		params Argon2Params
		rehash bool
	}{
		{"same", cheap, false},
		{"more memory", Argon2Params{Memory: 128, Time: 1, Threads: 1}, true},
		{"more time", Argon2Params{Memory: 64, Time: 2, Threads: 1}, true},
		{"more threads", Argon2Params{Memory: 64, Time: 1, Threads: 2}, true},
		{"default", DefaultArgon2, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := NewHasher(c.params, 0)
			if ok, rehash := h.Verify(hash, "s3cret-pass"); !ok || rehash != c.rehash {
				t.Fatalf("right password: Verify = %v, %v; want true, %v", ok, rehash, c.rehash)
			}
			if ok, rehash := h.Verify(hash, "wrong-pass"); ok || rehash {
				t.Fatalf("wrong password: Verify = %v, %v; want false, false", ok, rehash)
			}
		})
	}
}

// Malformed hashes are refused without a panic and without running a
// hash of absurd cost.
func TestArgon2MalformedHashes(t *testing.T) {
	h := NewHasher(cheap, 0)
	const password = "s3cret-pass"
	good, err := h.Hash(password)
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(good, "$") // "", argon2id, v=19, m=..., salt, key
	salt, key := parts[4], parts[5]
	join := func(p ...string) string { return strings.Join(p, "$") }

	var malformed []string
	// Every strict prefix of a good hash.
	for i := 0; i < len(good); i++ {
		malformed = append(malformed, good[:i])
	}
	malformed = append(malformed,
		good+"$",
		good+"$extra",
		join("", "argon2id", "v=19", "m=64,t=1,p=1", salt),
		join("", "argon2id", "m=64,t=1,p=1", salt, key),
		join("", "argon2id", "v=18", "m=64,t=1,p=1", salt, key),
		join("", "argon2id", "v=16", "m=64,t=1,p=1", salt, key),
		join("", "argon2id", "v=", "m=64,t=1,p=1", salt, key),
		join("", "argon2id", "v=19", "", salt, key),
		join("", "argon2id", "v=19", "m=64,t=1", salt, key),
		join("", "argon2id", "v=19", "m=64", salt, key),
		join("", "argon2id", "v=19", "t=1,m=64,p=1", salt, key),
		join("", "argon2id", "v=19", "m=x,t=1,p=1", salt, key),
		join("", "argon2id", "v=19", "m=-64,t=1,p=1", salt, key),
		join("", "argon2id", "v=19", "m=64,t=0,p=1", salt, key),
		join("", "argon2id", "v=19", "m=64,t=-1,p=1", salt, key),
		join("", "argon2id", "v=19", "m=64,t=1,p=0", salt, key),
		join("", "argon2id", "v=19", "m=64,t=1,p=256", salt, key),
		join("", "argon2id", "v=19", "m=64,t=1,p=-1", salt, key),
		// Huge memory: refused before anything is allocated.
		join("", "argon2id", "v=19", "m=4194305,t=1,p=1", salt, key),
		join("", "argon2id", "v=19", "m=4294967295,t=1,p=1", salt, key),
		join("", "argon2id", "v=19", "m=4294967296,t=1,p=1", salt, key),
		join("", "argon2id", "v=19", "m=99999999999999999999,t=1,p=1", salt, key),
		join("", "argon2id", "v=19", "m=64,t=99999999999999999999,p=1", salt, key),
		// Bad base64, padded base64, empty or truncated key.
		join("", "argon2id", "v=19", "m=64,t=1,p=1", "!!!!", key),
		join("", "argon2id", "v=19", "m=64,t=1,p=1", salt, "!!!!"),
		join("", "argon2id", "v=19", "m=64,t=1,p=1", salt+"==", key),
		join("", "argon2id", "v=19", "m=64,t=1,p=1", salt, key+"="),
		join("", "argon2id", "v=19", "m=64,t=1,p=1", salt, ""),
		join("", "argon2id", "v=19", "m=64,t=1,p=1", salt, key[:len(key)-4]),
		join("", "argon2id", "v=19", "m=64,t=1,p=1", "", key),
		// Other argon2 variants and near misses of the prefix.
		join("", "argon2i", "v=19", "m=64,t=1,p=1", salt, key),
		join("", "argon2d", "v=19", "m=64,t=1,p=1", salt, key),
		join("", "ARGON2ID", "v=19", "m=64,t=1,p=1", salt, key),
		" "+good,
		"$argon2id$",
		"$argon2id$$$$$",
		"$$$$$$",
		strings.Repeat("$", 1000),
		"$argon2id$v=19$m=64,t=1,p=1$"+strings.Repeat("A", 100000)+"$"+key,
	)
	for _, m := range malformed {
		name := m
		if len(name) > 80 {
			name = name[:80] + "…"
		}
		t.Run(name, func(t *testing.T) {
			defer func() {
				if r := recover(); r != nil {
					t.Fatalf("panic: %v", r)
				}
			}()
			if ok, rehash := h.Verify(m, password); ok || rehash {
				t.Fatalf("Verify = %v, %v; want false, false", ok, rehash)
			}
		})
	}
	// The good hash itself verifies, so the refusals above are the
	// malformations' doing.
	if ok, _ := h.Verify(good, password); !ok {
		t.Fatal("the good hash does not verify")
	}
}

// djangoHash makes a Django pbkdf2_sha256 hash the way Django does:
// pbkdf2_sha256$<iterations>$<salt>$<base64 of the 32-byte key>.
func djangoHash(t *testing.T, password, salt string, iter int) string {
	t.Helper()
	key, err := pbkdf2.Key(sha256.New, password, []byte(salt), iter, 32)
	if err != nil {
		t.Fatal(err)
	}
	return "pbkdf2_sha256$" + strconv.Itoa(iter) + "$" + salt + "$" + base64.StdEncoding.EncodeToString(key)
}

// A hash whose key is too short to be a secret is refused even when the
// password matches it: with a one-byte key, one guess in 256 would pass.
// (Every strict prefix of a good hash in TestArgon2MalformedHashes is such
// a key now and then, which is how this was found.)
func TestArgon2ShortKeysRefused(t *testing.T) {
	h := NewHasher(cheap, 0)
	const password = "s3cret-pass"
	salt := []byte("0123456789abcdef")
	b64 := base64.RawStdEncoding
	for _, n := range []uint32{1, 2, 8, 15} {
		key := argon2.IDKey([]byte(password), salt, cheap.Time, cheap.Memory, cheap.Threads, n)
		hash := "$argon2id$v=19$m=64,t=1,p=1$" + b64.EncodeToString(salt) + "$" + b64.EncodeToString(key)
		if ok, _ := h.Verify(hash, password); ok {
			t.Errorf("a %d-byte key verified", n)
		}
	}
	key := argon2.IDKey([]byte(password), salt, cheap.Time, cheap.Memory, cheap.Threads, 16)
	hash := "$argon2id$v=19$m=64,t=1,p=1$" + b64.EncodeToString(salt) + "$" + b64.EncodeToString(key)
	if ok, _ := h.Verify(hash, password); !ok {
		t.Error("a 16-byte key did not verify")
	}
}

func TestDjangoPBKDF2(t *testing.T) {
	h := NewHasher(cheap, 0)
	cases := []struct {
		password, salt string
		iter           int
	}{
		{"s3cret-pass", "Xk2bqW1Lr9aT", 1},
		{"s3cret-pass", "Xk2bqW1Lr9aT", 2},
		{"another pass", "saltsaltsalt", 1000},
		{"ünïcödé pässwörd", "a1b2c3d4e5f6", 36000},
		{"django-3.1 default", "rZPFXtbMDG9pUd3F6WUIWq", 216000},
	}
	for _, c := range cases {
		hash := djangoHash(t, c.password, c.salt, c.iter)
		t.Run(strconv.Itoa(c.iter), func(t *testing.T) {
			if !IsKnownHash(hash) {
				t.Fatal("IsKnownHash refuses a Django hash")
			}
			if ok, rehash := h.Verify(hash, c.password); !ok || !rehash {
				t.Fatalf("right password: Verify = %v, %v; want true, true", ok, rehash)
			}
			if ok, rehash := h.Verify(hash, c.password+"x"); ok || rehash {
				t.Fatalf("wrong password: Verify = %v, %v; want false, false", ok, rehash)
			}
			// The same key under another iteration count or salt is wrong.
			parts := strings.Split(hash, "$")
			other := strings.Join([]string{parts[0], strconv.Itoa(c.iter + 1), parts[2], parts[3]}, "$")
			if ok, _ := h.Verify(other, c.password); ok {
				t.Fatal("verified under another iteration count")
			}
			other = strings.Join([]string{parts[0], parts[1], parts[2] + "x", parts[3]}, "$")
			if ok, _ := h.Verify(other, c.password); ok {
				t.Fatal("verified under another salt")
			}
		})
	}
}

// Only pbkdf2_sha256 and argon2id are understood: other Django formats, even
// holding the right password, and unusable passwords are refused.
func TestUnknownHashFormats(t *testing.T) {
	h := NewHasher(cheap, 0)
	const password = "s3cret-pass"
	argon, err := h.Hash(password)
	if err != nil {
		t.Fatal(err)
	}
	django := djangoHash(t, password, "Xk2bqW1Lr9aT", 1000)
	dparts := strings.Split(django, "$")
	cases := []struct{ name, hash string }{
		{"empty", ""},
		{"unusable", "!"},
		{"unusable with random suffix", "!Xk2bqW1Lr9aTXk2bqW1Lr9aTXk2bqW1Lr9aTXk2b"},
		{"bcrypt_sha256", "bcrypt_sha256$$2b$12$0dRwGXyHNCAKbqnBjBKYmeBWm1LKHpgbKz1MMvdWx5i3oK9D2FhWe"},
		{"bcrypt", "bcrypt$$2b$12$0dRwGXyHNCAKbqnBjBKYmeBWm1LKHpgbKz1MMvdWx5i3oK9D2FhWe"},
		{"django argon2 of the right password", "argon2" + argon},
		{"django argon2 with argon2 prefix only", "argon2" + strings.TrimPrefix(argon, "$argon2id")},
		{"pbkdf2_sha1", "pbkdf2_sha1$1000$Xk2bqW1Lr9aT$" + dparts[3]},
		{"PBKDF2_SHA256 in capitals", "PBKDF2_SHA256$" + strings.Join(dparts[1:], "$")},
		{"sha1", "sha1$Xk2bqW1Lr9aT$0b1e9d7a5d1a2f0cbd0c95c7f5a0e6e1f0e2d3c4"},
		{"md5", "md5$Xk2bqW1Lr9aT$5f4dcc3b5aa765d61d8327deb882cf99"},
		{"unsalted md5", "5f4dcc3b5aa765d61d8327deb882cf99"},
		{"scrypt", "scrypt$Xk2bqW1Lr9aT$16384$8$1$" + dparts[3]},
		{"the password itself", password},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if IsKnownHash(c.hash) {
				t.Errorf("IsKnownHash(%q) = true", c.hash)
			}
			if ok, rehash := h.Verify(c.hash, password); ok || rehash {
				t.Fatalf("Verify = %v, %v; want false, false", ok, rehash)
			}
		})
	}
}

func TestDjangoMalformedHashes(t *testing.T) {
	h := NewHasher(cheap, 0)
	const password = "s3cret-pass"
	good := djangoHash(t, password, "Xk2bqW1Lr9aT", 1000)
	p := strings.Split(good, "$")
	key := p[3]
	var malformed []string
	for i := 0; i < len(good); i++ {
		malformed = append(malformed, good[:i])
	}
	malformed = append(malformed,
		"pbkdf2_sha256$0$Xk2bqW1Lr9aT$"+key,
		"pbkdf2_sha256$-1000$Xk2bqW1Lr9aT$"+key,
		"pbkdf2_sha256$$Xk2bqW1Lr9aT$"+key,
		"pbkdf2_sha256$x$Xk2bqW1Lr9aT$"+key,
		"pbkdf2_sha256$1e3$Xk2bqW1Lr9aT$"+key,
		"pbkdf2_sha256$ 1000$Xk2bqW1Lr9aT$"+key,
		"pbkdf2_sha256$10000001$Xk2bqW1Lr9aT$"+key,
		"pbkdf2_sha256$2147483648$Xk2bqW1Lr9aT$"+key,
		"pbkdf2_sha256$99999999999999999999999$Xk2bqW1Lr9aT$"+key,
		"pbkdf2_sha256$1000$Xk2bqW1Lr9aT$",
		"pbkdf2_sha256$1000$Xk2bqW1Lr9aT$!!!!",
		"pbkdf2_sha256$1000$Xk2bqW1Lr9aT$"+strings.TrimRight(key, "="),
		"pbkdf2_sha256$1000$Xk2bqW1Lr9aT$"+key+"$",
		"pbkdf2_sha256$1000$Xk2bqW1Lr9aT",
		"pbkdf2_sha256$1000",
		"pbkdf2_sha256$",
		"pbkdf2_sha256$$$",
	)
	for _, m := range malformed {
		t.Run(m, func(t *testing.T) {
			defer func() {
				if r := recover(); r != nil {
					t.Fatalf("panic: %v", r)
				}
			}()
			if ok, rehash := h.Verify(m, password); ok || rehash {
				t.Fatalf("Verify = %v, %v; want false, false", ok, rehash)
			}
		})
	}
	if ok, _ := h.Verify(good, password); !ok {
		t.Fatal("the good hash does not verify")
	}
}

// With every hashing slot taken, a verification or hash whose context ends
// first gives up with an "unavailable" error instead of queueing for ever.
func TestHasherConcurrencyBound(t *testing.T) {
	h := NewHasher(cheap, 1)
	hash, err := h.Hash("s3cret-pass")
	if err != nil {
		t.Fatal(err)
	}
	if err := h.acquire(context.Background()); err != nil {
		t.Fatal(err)
	}
	held := true
	defer func() {
		if held {
			h.release()
		}
	}()

	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	short, cancelShort := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancelShort()
	for _, c := range []struct {
		name string
		ctx  context.Context
	}{{"cancelled", cancelled}, {"short deadline", short}} {
		t.Run(c.name, func(t *testing.T) {
			ok, rehash, err := h.VerifyContext(c.ctx, hash, "s3cret-pass")
			if ok || rehash || err == nil {
				t.Fatalf("VerifyContext = %v, %v, %v; want an error", ok, rehash, err)
			}
			if k := tasktrack.ErrorKind(err); k != tasktrack.KindUnavailable {
				t.Fatalf("error kind %v (%v), want KindUnavailable", k, err)
			}
			nh, err := h.HashContext(c.ctx, "s3cret-pass")
			if nh != "" || tasktrack.ErrorKind(err) != tasktrack.KindUnavailable {
				t.Fatalf("HashContext = %q, %v; want an unavailable error", nh, err)
			}
		})
	}
	if n := len(h.slots); n != 1 {
		t.Fatalf("%d slots taken after the refusals, want 1 (the one held)", n)
	}

	// Released, the slot serves a waiting verification.
	done := make(chan bool)
	go func() {
		ok, _, err := h.VerifyContext(context.Background(), hash, "s3cret-pass")
		done <- ok && err == nil
	}()
	held = false
	h.release()
	if !<-done {
		t.Fatal("the verification waiting for the released slot failed")
	}
	if n := len(h.slots); n != 0 {
		t.Fatalf("%d slots taken after all finished", n)
	}
}
