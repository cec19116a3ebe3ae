package sqlstore

import (
	"context"
	"errors"
	"testing"
	"time"
)

// A key's lock is held by one at a time; other keys' are not held up; a
// waiter whose context ends gives up; and locks nobody holds or waits for
// are dropped.
func TestKeyLocks(t *testing.T) {
	var k keyLocks
	ctx := context.Background()
	unlockA, err := k.lock(ctx, "a")
	if err != nil {
		t.Fatal(err)
	}
	unlockB, err := k.lock(ctx, "b")
	if err != nil {
		t.Fatal("b waited on a:", err)
	}
	unlockB()

	got := make(chan func())
	go func() {
		unlock, err := k.lock(ctx, "a")
		if err != nil {
			t.Error(err)
		}
		got <- unlock
	}()
	select {
	case <-got:
		t.Fatal("a second holder of a")
	case <-time.After(50 * time.Millisecond):
	}

	cctx, cancel := context.WithCancel(ctx)
	gaveUp := make(chan error)
	go func() {
		_, err := k.lock(cctx, "a")
		gaveUp <- err
	}()
	time.Sleep(10 * time.Millisecond)
	cancel()
	if err := <-gaveUp; !errors.Is(err, context.Canceled) {
		t.Fatalf("a canceled waiter: %v", err)
	}

	unlockA()
	unlock := <-got
	unlock()
	k.mu.Lock()
	defer k.mu.Unlock()
	if len(k.locks) != 0 {
		t.Fatalf("%d locks left", len(k.locks))
	}
}
