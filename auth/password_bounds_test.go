package auth

import (
	"encoding/base64"
	"fmt"
	"testing"
	"time"

	"golang.org/x/crypto/argon2"
)

// phc builds an argon2id PHC string with the given parameters; with a
// nil key it holds the real key of password, else key as it is.
func phc(memory, passes, threads uint32, password string, key []byte) string {
	salt := []byte("0123456789abcdef")
	if key == nil {
		key = argon2.IDKey([]byte(password), salt, passes, memory, uint8(threads), 32)
	}
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=19$m=%d,t=%d,p=%d$%s$%s", memory, passes, threads, b64.EncodeToString(salt), b64.EncodeToString(key))
}

// A stored hash whose parameters would make one check take minutes or
// gigabytes is refused at once, without being computed; parameters up to
// the bounds still verify.
func TestArgon2ParameterBounds(t *testing.T) {
	const password = "s3cret-pass"
	fake := make([]byte, 32)
	cases := []struct {
		name string
		hash string
		ok   bool
	}{
		{"time at the bound", phc(64, maxArgon2Time, 1, password, nil), true},
		{"four lanes", phc(64, 1, 4, password, nil), true},
		// The key is the right one: only the bound refuses it.
		{"time one over the bound", phc(64, maxArgon2Time+1, 1, password, nil), false},
		{"time 2^32-1", phc(64, 1<<32-1, 1, password, fake), false},
		{"time zero", phc(64, 0, 1, password, fake), false},
		{"memory one over the bound", phc(maxArgon2Memory+1, 1, 1, password, fake), false},
		{"memory 4 GiB", phc(1<<22, 1, 1, password, fake), false},
		{"memory 2^32-1", phc(1<<32-1, 1, 1, password, fake), false},
		{"memory and time absurd", phc(1<<32-1, 1<<32-1, 255, password, fake), false},
		{"memory zero", phc(0, 1, 1, password, fake), false},
		{"lanes zero", phc(64, 1, 0, password, fake), false},
		{"lanes 256", phc(64, 1, 256, password, fake), false},
		{"memory overflows 32 bits", "$argon2id$v=19$m=4294967296,t=1,p=1$MDEyMzQ1Njc4OWFiY2RlZg$" + base64.RawStdEncoding.EncodeToString(fake), false},
		{"time overflows 32 bits", "$argon2id$v=19$m=64,t=4294967296,p=1$MDEyMzQ1Njc4OWFiY2RlZg$" + base64.RawStdEncoding.EncodeToString(fake), false},
		{"negative time", "$argon2id$v=19$m=64,t=-1,p=1$MDEyMzQ1Njc4OWFiY2RlZg$" + base64.RawStdEncoding.EncodeToString(fake), false},
	}
	h := NewHasher(cheap, 0)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			type answer struct{ ok, rehash bool }
			done := make(chan answer, 1)
			start := time.Now()
			go func() {
				ok, rehash := h.Verify(c.hash, password)
				done <- answer{ok, rehash}
			}()
			select {
			case a := <-done:
				if a.ok != c.ok {
					t.Fatalf("Verify(%s) = %v, want %v", c.hash, a.ok, c.ok)
				}
				// Parameters other than the hasher's ask for a rehash
				// once the password is known to be right.
				if a.rehash != c.ok {
					t.Fatalf("Verify(%s) rehash = %v, want %v", c.hash, a.rehash, c.ok)
				}
				if !c.ok {
					if d := time.Since(start); d > time.Second {
						t.Fatalf("refusing %s took %s; it must not compute the hash", c.hash, d)
					}
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("Verify(%s) still running after 10s", c.hash)
			}
		})
	}
}
