// Package auth owns authentication: password hashing, JWT issue and
// verification, refresh-token rotation, and limits on failed logins.
package auth

import (
	"context"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/argon2"

	"tasktrack"
)

// Argon2Params are the cost parameters of argon2id.
type Argon2Params struct {
	Memory  uint32 // KiB
	Time    uint32
	Threads uint8
}

// DefaultArgon2 is OWASP's recommended minimum for argon2id: 19 MiB, two
// passes, one lane.
var DefaultArgon2 = Argon2Params{Memory: 19 * 1024, Time: 2, Threads: 1}

// Hasher hashes passwords with argon2id and verifies argon2id hashes and
// Django's pbkdf2_sha256 hashes (which it asks to replace). At most a fixed
// number of hashes run at once, so that a flood of logins cannot take all
// memory and CPU from everyone else.
type Hasher struct {
	params Argon2Params
	slots  chan struct{}
	// giveBack returns the argon2id buffers to the system once hashing
	// has been idle for a moment (see release).
	giveBack   *time.Timer
	giveBackMu sync.Mutex
	// onWork, when set, is told the work of every check; tests count
	// work through it instead of timing it.
	onWork func(Work)
}

// Work is the hashing one password check computed.
type Work struct {
	Argon2 Argon2Params // the argon2id parameters hashed with; zero for none
	PBKDF2 int          // iterations of PBKDF2-HMAC-SHA256
}

// NewHasher returns a hasher with the given cost running at most
// concurrency hashes at once (0: half the CPUs, at least one, so that a
// flood of logins leaves CPU for everything else).
func NewHasher(p Argon2Params, concurrency int) *Hasher {
	if concurrency <= 0 {
		concurrency = max(1, runtime.GOMAXPROCS(0)/2)
	}
	return &Hasher{params: p, slots: make(chan struct{}, concurrency)}
}

var _ tasktrack.PasswordHasher = (*Hasher)(nil)

// acquire waits for a hashing slot.
func (h *Hasher) acquire(ctx context.Context) error {
	select {
	case h.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return tasktrack.Errorf(tasktrack.KindUnavailable, "Too many sign-ins at once; try again shortly.")
	}
}

// release frees a hashing slot. When it was the last one busy, the
// memory the hashes used is handed back to the system a moment later,
// unless hashing has started again by then: each argon2id hash allocates
// its own buffer (19 MiB at the default cost), which the runtime would
// otherwise keep, so a burst of sign-ins or user creations would leave the
// process that much larger for as long as it serves. It costs one
// collection after a burst, nothing while hashes keep coming.
func (h *Hasher) release() {
	<-h.slots
	if len(h.slots) > 0 {
		return
	}
	h.giveBackMu.Lock()
	defer h.giveBackMu.Unlock()
	if h.giveBack == nil {
		h.giveBack = time.AfterFunc(giveBackAfter, h.returnMemory)
	} else {
		h.giveBack.Reset(giveBackAfter)
	}
}

// giveBackAfter is how long hashing stays idle before its memory goes back.
const giveBackAfter = 100 * time.Millisecond

func (h *Hasher) returnMemory() {
	if len(h.slots) == 0 {
		debug.FreeOSMemory()
	}
}

// MemoryBound is the memory a process serving with this hasher needs at
// most beyond its own: the argon2id buffers of the hashes running at once,
// and as much again for those just finished and not yet collected.
func (h *Hasher) MemoryBound() int64 {
	return 2 * int64(cap(h.slots)) * int64(h.params.Memory) * 1024
}

// Hash returns the PHC string of an argon2id hash of password.
func (h *Hasher) Hash(password string) (string, error) {
	return h.HashContext(context.Background(), password)
}

// HashContext is Hash, giving up when ctx ends while waiting for a slot.
func (h *Hasher) HashContext(ctx context.Context, password string) (string, error) {
	if err := h.acquire(ctx); err != nil {
		return "", err
	}
	defer h.release()
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	p := h.params
	key := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, 32)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.Memory, p.Time, p.Threads,
		b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// Verify reports whether password matches hash, and whether the hash should
// be replaced (other parameters or algorithm than the current ones).
func (h *Hasher) Verify(hash, password string) (ok, rehash bool) {
	ok, rehash, _ = h.VerifyContext(context.Background(), hash, password)
	return ok, rehash
}

// VerifyContext is Verify, giving up when ctx ends while waiting for a slot.
func (h *Hasher) VerifyContext(ctx context.Context, hash, password string) (ok, rehash bool, err error) {
	return h.VerifyGuarded(ctx, hash, password, 0, nil, nil)
}

// VerifyGuarded is VerifyContext with two hooks that run while the hashing
// slot is held: guard just before the hash (an error from it stops the
// verification), and done with the result. A login limit checked in guard
// and a failure recorded in done are thereby serialized with the hashing,
// so attempts waiting for a slot cannot slip past the limit together.
//
// Every failed check costs the same, whatever the hash, so that timing
// tells no unknown username, malformed hash or cheap hash from a real
// one: a failure that computed no argon2id at the hasher's parameters
// computes one, and one that computed fewer than legacy PBKDF2 iterations
// (the costliest imported hash still stored) computes the rest.
func (h *Hasher) VerifyGuarded(ctx context.Context, hash, password string, legacy int, guard func() error, done func(ok bool)) (ok, rehash bool, err error) {
	if err := h.acquire(ctx); err != nil {
		return false, false, err
	}
	defer h.release()
	if guard != nil {
		if err := guard(); err != nil {
			return false, false, err
		}
	}
	var w Work
	switch {
	case strings.HasPrefix(hash, "$argon2id$"):
		ok, w.Argon2 = verifyArgon2(hash, password)
		rehash = ok && w.Argon2 != h.params
	case strings.HasPrefix(hash, "pbkdf2_sha256$"):
		ok, w.PBKDF2 = verifyDjangoPBKDF2(hash, password)
		rehash = ok
	}
	if !ok {
		h.padFailure(&w, legacy)
	}
	if h.onWork != nil {
		h.onWork(w)
	}
	if done != nil {
		done(ok)
	}
	return ok, rehash, nil
}

// Bounds on the argon2id parameters a stored hash may ask for. A hash
// outside them (a corrupted row, or one planted to make logins hang or
// exhaust memory) fails at once instead of being computed. Well above
// any sensible setting: OWASP's strongest is 46 MiB with one pass.
const (
	maxArgon2Time   = 64
	maxArgon2Memory = 1 << 20 // KiB: 1 GiB
)

// padFailure computes what a failed check with work w lacks to cost as
// much as any other failed check.
func (h *Hasher) padFailure(w *Work, legacy int) {
	salt := []byte("tasktrack-failed")
	if w.Argon2 == (Argon2Params{}) {
		argon2.IDKey(nil, salt, h.params.Time, h.params.Memory, h.params.Threads, 32)
		w.Argon2 = h.params
	}
	if n := legacy - w.PBKDF2; n > 0 {
		if _, err := pbkdf2.Key(sha256.New, "", salt, n, sha256.Size); err == nil {
			w.PBKDF2 += n
		}
	}
}

// verifyArgon2 checks an argon2id PHC string, and returns the parameters
// it hashed with: zero when the string was refused without hashing.
// minArgon2KeyLen is the shortest stored argon2id key verified.
const minArgon2KeyLen = 16

func verifyArgon2(hash, password string) (bool, Argon2Params) {
	var p Argon2Params
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[2] != "v=19" {
		return false, Argon2Params{}
	}
	var threads uint32
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.Memory, &p.Time, &threads); err != nil || threads == 0 || threads > 255 ||
		p.Time == 0 || p.Time > maxArgon2Time || p.Memory == 0 || p.Memory > maxArgon2Memory {
		return false, Argon2Params{}
	}
	p.Threads = uint8(threads)
	b64 := base64.RawStdEncoding
	salt, err1 := b64.DecodeString(parts[4])
	want, err2 := b64.DecodeString(parts[5])
	// A key shorter than 16 bytes is no secret: with one byte, one guess
	// in 256 would match it. Ours are 32.
	if err1 != nil || err2 != nil || len(want) < minArgon2KeyLen {
		return false, Argon2Params{}
	}
	got := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1, p
}

// verifyDjangoPBKDF2 checks Django's pbkdf2_sha256$iterations$salt$base64
// format, at any iteration count, comparing in constant time, and returns
// the iterations it computed.
func verifyDjangoPBKDF2(hash, password string) (bool, int) {
	iter, salt, want, ok := ParseDjangoPBKDF2(hash)
	if !ok {
		return false, 0
	}
	got, err := pbkdf2.Key(sha256.New, password, []byte(salt), iter, len(want))
	if err != nil {
		return false, 0
	}
	return subtle.ConstantTimeCompare(got, want) == 1, iter
}

// ParseDjangoPBKDF2 reads Django's pbkdf2_sha256$<iterations>$<salt>$<base64
// digest>, and reports whether it is one this package can verify.
func ParseDjangoPBKDF2(hash string) (iter int, salt string, digest []byte, ok bool) {
	parts := strings.SplitN(hash, "$", 4)
	if len(parts) != 4 || parts[0] != "pbkdf2_sha256" || parts[2] == "" {
		return 0, "", nil, false
	}
	iter, err := strconv.Atoi(parts[1])
	if err != nil || iter <= 0 || iter > 10_000_000 {
		return 0, "", nil, false
	}
	// Django's key is the full SHA-256 output; a shorter one (a truncated
	// hash) would accept any password that matches its few bytes.
	digest, err = base64.StdEncoding.DecodeString(parts[3])
	if err != nil || len(digest) != sha256.Size {
		return 0, "", nil, false
	}
	return iter, parts[2], digest, true
}

// IsKnownHash reports whether hash is in a format Verify understands.
func IsKnownHash(hash string) bool {
	return strings.HasPrefix(hash, "$argon2id$") || strings.HasPrefix(hash, "pbkdf2_sha256$")
}
