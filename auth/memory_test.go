package auth

import (
	"runtime/metrics"
	"testing"
	"time"
)

// After a burst of hashes the argon2id buffers go back to the system,
// rather than staying with the process for as long as it serves.
func TestHasherGivesMemoryBackWhenIdle(t *testing.T) {
	h := NewHasher(DefaultArgon2, 1)
	for range 3 {
		if _, err := h.Hash("a password of some length"); err != nil {
			t.Fatal(err)
		}
	}
	buffer := uint64(DefaultArgon2.Memory) * 1024
	samples := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}, {Name: "/memory/classes/heap/free:bytes"}}
	held := func() uint64 {
		metrics.Read(samples)
		return samples[0].Value.Uint64() + samples[1].Value.Uint64()
	}
	// Polled, not timed: the memory goes back a moment after the last hash.
	deadline := time.Now().Add(10 * time.Second)
	for held() >= buffer {
		if time.Now().After(deadline) {
			t.Fatalf("the heap still holds %d bytes (objects and free, unreleased) 10 s after the last hash; one buffer is %d", held(), buffer)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if got, want := h.MemoryBound(), int64(2*buffer); got != want {
		t.Errorf("MemoryBound %d, want %d (two buffers of one hash at a time)", got, want)
	}
}
