// Package outbox delivers the outbox: the rows of outside effects (emails
// and webhook calls) that the store writes in the transaction of the
// change that caused them. A Worker runs in every serve process: it claims
// due rows under a lease, renewed while it holds them (replicas never hold
// the same row at once),
// delivers each outside any transaction through the Handler of its kind,
// and records the outcome: delivered, due again after a backoff with full
// jitter, or given up with an audit entry.
//
// Deliveries are made on their own, Concurrency at once, and a kind may
// bound those made at once to one target (a webhook endpoint: PerTarget).
// The worker never waits for a group of them: as each ends, the next
// waiting one starts and, when room frees, the worker claims more. It
// holds at most holdPerSlot deliveries per slot of a target (the ones
// being made and a few claimed to follow them at once), so it claims
// none for a target whose slots are all taken and whose followers wait,
// and a claim passes over such a target's rows, which stay due in the
// table, their attempts not counted. A receiver that hangs thus holds
// its own slots and its own few followers, and nothing of the others.
//
// Delivery is at least once. A row committed before a crash is delivered
// after it; a row delivered and recorded is never sent again; a row whose
// delivery succeeded but whose success could not be recorded (the process
// died in between, or the database was unreachable) is sent again when its
// lease ends, with the same id, so that receivers fold the copies.
package outbox

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"maps"
	"math"
	mathrand "math/rand/v2"
	"os"
	"slices"
	"sync"
	"time"

	"tasktrack"
)

// Handler makes one attempt at a delivery.
type Handler interface {
	// Deliver returns nil once the receiver has accepted d.
	Deliver(ctx context.Context, d *tasktrack.Delivery) error
}

// Kind says how the deliveries of one kind are made and retried.
type Kind struct {
	Handler Handler
	// Permanent reports whether an error of Deliver means that trying
	// again cannot help; nil means none does.
	Permanent func(error) bool
	// Base and Cap shape the backoff: the wait before the attempt after
	// attempt n is drawn evenly from [0, min(Cap, Base·2^(n-1))] ("full
	// jitter"), so that deliveries failing together do not retry together.
	Base, Cap time.Duration
	// Schedule, when set, replaces Base and Cap: the wait after attempt n
	// is drawn evenly from [Schedule[n-1]/2, Schedule[n-1]] (so that waits
	// grow while deliveries failing together still spread out), and the
	// attempt after the last wait is the last.
	Schedule []time.Duration
	// PerTarget bounds the deliveries of this kind made at once to one
	// target by a worker (which holds holdPerSlot times as many); 0 means
	// no bound.
	PerTarget int
	// GiveUpAfter is how long after it was written a delivery that still
	// fails is given up.
	GiveUpAfter time.Duration
	// FailedAction is the audit action of a delivery given up, and
	// FailedDetails what its entry says (never a secret).
	FailedAction  string
	FailedDetails func(d *tasktrack.Delivery, err error) map[string]any
}

// The outcomes of an attempt, as OnOutcome reports them.
const (
	Delivered = "delivered"
	Retrying  = "retrying"
	Failed    = "failed"
)

// holdPerSlot is how many deliveries to one target of a bounded kind a
// worker holds per slot: one being made and the rest claimed to follow it
// without a claim in between, so that a burst to one endpoint is claimed
// a few rows at a time. The last waits for holdPerSlot-1 attempts before
// its own.
const holdPerSlot = 4

// Defaults of a Worker's settings left zero.
const (
	DefaultPoll        = time.Second
	DefaultLease       = 15 * time.Second
	DefaultBatch       = 16
	DefaultConcurrency = 4
	// DefaultKeep is how long finished deliveries are kept.
	DefaultKeep = 30 * 24 * time.Hour
)

// Worker claims and delivers due deliveries.
type Worker struct {
	Store tasktrack.OutboxStore
	Kinds map[string]Kind
	// Owner names this worker in the leases it takes; New makes one that
	// differs in every process.
	Owner string
	// Wake is signalled when new deliveries may have been committed (by
	// this process, or by any on PostgreSQL); Poll is how often the worker
	// looks anyway, for retries coming due and for rows written elsewhere.
	Wake <-chan struct{}
	Poll time.Duration
	// Lease is how long a claimed row is this worker's unless renewed:
	// Run renews the leases of the rows it holds every Lease/3, for as
	// long as it holds them (waiting for a slot, being made, or made and
	// not yet recorded), so an attempt may take longer than Lease. A
	// process that dies holding rows lets them become due again within
	// Lease, when another worker (or its own restart) takes them.
	Lease time.Duration
	// Concurrency deliveries are made at once, and at most Batch held
	// (claimed and not yet ended).
	Batch, Concurrency int
	// Now is the clock (for giving up); Rand draws the jitter in [0, 1).
	Now  func() time.Time
	Rand func() float64
	// Logger logs retries and failures; OnOutcome, when set, is told the
	// kind and outcome of each attempt, for metrics.
	Logger    *slog.Logger
	OnOutcome func(kind, outcome string)

	wg        sync.WaitGroup // the deliveries being made
	ended     chan struct{}  // signalled when room to claim frees
	mu        sync.Mutex
	stopped   bool                             // no more starts: Run is ending
	held      map[tasktrack.DeliveryTarget]int // claimed and not ended, by target
	busy      map[tasktrack.DeliveryTarget]int // being made, by target
	waiting   []*tasktrack.Delivery            // claimed, not started, oldest first
	nHeld     int
	nBusy     int
	succeeded []*tasktrack.Delivery // made, not yet recorded
	// leased are the rows whose leases this worker keeps renewing: from
	// their claim until their outcome is recorded or they are handed back.
	leased map[string]*tasktrack.Delivery
}

// New returns a worker with the defaults and an owner name of its own.
func New(store tasktrack.OutboxStore, kinds map[string]Kind, wake <-chan struct{}, logger *slog.Logger) *Worker {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	host, _ := os.Hostname()
	return &Worker{
		Store: store, Kinds: kinds, Wake: wake, Logger: logger,
		Owner: fmt.Sprintf("%s/%d/%s", host, os.Getpid(), hex.EncodeToString(b)),
		Poll:  DefaultPoll, Lease: DefaultLease, Batch: DefaultBatch, Concurrency: DefaultConcurrency,
		Now: time.Now, Rand: mathrand.Float64,
	}
}

// Run delivers until ctx ends: it claims at once when woken, when room
// frees, and every Poll otherwise, and again without pause while claims
// come back full. Finished rows older than DefaultKeep are deleted once an
// hour. When ctx ends, the deliveries claimed and not started are handed
// back as they were, and Run returns once those being made have ended
// (their handlers see ctx end) and the outcomes are recorded.
func (w *Worker) Run(ctx context.Context) {
	poll := time.NewTicker(w.Poll)
	defer poll.Stop()
	purge := time.NewTicker(time.Hour)
	defer purge.Stop()
	ended := w.endedChan()
	renewing := make(chan struct{})
	go func() {
		defer close(renewing)
		w.renewLoop(ctx)
	}()
	for ctx.Err() == nil {
		w.recordSucceeded(ctx)
		n, asked, err := w.claim(ctx)
		if err != nil && ctx.Err() == nil {
			w.Logger.Warn("outbox: claim failed", "err", err)
		}
		if err == nil && n > 0 && n == asked {
			continue
		}
		select {
		case <-ctx.Done():
		case <-ended:
		case <-w.Wake:
		case <-poll.C:
		case <-purge.C:
			if n, err := w.Store.PurgeDeliveries(ctx, DefaultKeep); err != nil {
				w.Logger.Warn("outbox: purge failed", "err", err)
			} else if n > 0 {
				w.Logger.Info("outbox: purged finished deliveries", "n", n)
			}
		}
	}
	<-renewing
	w.mu.Lock()
	w.stopped = true
	unstarted := w.waiting
	w.waiting = nil
	for _, d := range unstarted {
		w.unhold(d)
		delete(w.leased, d.ID)
	}
	w.mu.Unlock()
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := w.Store.ReleaseDeliveries(rctx, unstarted, w.Owner); err != nil {
		// The leases end the matter: the rows become due again.
		w.Logger.Error("outbox: could not hand back deliveries not started", "n", len(unstarted), "err", err)
	}
	w.wg.Wait()
	w.recordSucceeded(ctx)
	w.mu.Lock()
	w.stopped = false
	w.mu.Unlock()
}

// renewLoop renews the leases held, every Lease/3, until ctx ends. The
// deliveries still being made then are recorded within seconds (their
// handlers see ctx end), well inside the leases last renewed.
func (w *Worker) renewLoop(ctx context.Context) {
	tick := time.NewTicker(max(w.Lease/3, time.Millisecond))
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		w.mu.Lock()
		ds := make([]*tasktrack.Delivery, 0, len(w.leased))
		for _, d := range w.leased {
			ds = append(ds, d)
		}
		w.mu.Unlock()
		if len(ds) == 0 {
			continue
		}
		// A row recorded meanwhile is no longer this owner's, and the
		// renewal passes over it.
		if err := w.Store.RenewDeliveries(ctx, ds, w.Owner, w.Lease); err != nil && ctx.Err() == nil {
			w.Logger.Warn("outbox: could not renew leases", "n", len(ds), "err", err)
		}
	}
}

// RunOnce claims what it can hold now, makes those deliveries (and waits
// for any others being made), and records the outcomes; it returns how
// many it claimed. It does not renew leases: its attempts must end within
// Lease.
func (w *Worker) RunOnce(ctx context.Context) (int, error) {
	n, _, err := w.claim(ctx)
	w.wg.Wait()
	w.recordSucceeded(ctx)
	return n, err
}

func (w *Worker) endedChan() chan struct{} {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.ended == nil {
		w.ended = make(chan struct{}, 1)
	}
	return w.ended
}

func target(d *tasktrack.Delivery) tasktrack.DeliveryTarget {
	return tasktrack.DeliveryTarget{Kind: d.Kind, Target: d.Target}
}

// claim claims as many due deliveries as it has room to hold, Batch in
// all and holdPerSlot per slot of a target, and starts those it can; it
// returns how many it claimed and how many it asked for. One goroutine
// at a time claims, so the room it reads only grows until it has claimed.
func (w *Worker) claim(ctx context.Context) (n, asked int, err error) {
	kinds := make([]string, 0, len(w.Kinds))
	room := tasktrack.DeliveryRoom{PerTarget: map[string]int{}, Held: map[tasktrack.DeliveryTarget]int{}}
	for k, kind := range w.Kinds {
		kinds = append(kinds, k)
		room.PerTarget[k] = kind.PerTarget * holdPerSlot
	}
	slices.Sort(kinds)
	w.mu.Lock()
	asked = max(1, w.Batch) - w.nHeld
	maps.Copy(room.Held, w.held)
	w.mu.Unlock()
	if asked <= 0 {
		return 0, 0, nil
	}
	batch, err := w.Store.ClaimDeliveries(ctx, w.Owner, kinds, asked, w.Lease, room)
	if err != nil {
		return 0, asked, err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.held == nil {
		w.held, w.busy = map[tasktrack.DeliveryTarget]int{}, map[tasktrack.DeliveryTarget]int{}
		w.leased = map[string]*tasktrack.Delivery{}
	}
	for _, d := range batch {
		w.held[target(d)]++
		w.nHeld++
		w.leased[d.ID] = d
	}
	w.waiting = append(w.waiting, batch...)
	w.start(ctx)
	return len(batch), asked, nil
}

// start starts the waiting deliveries that have a slot, oldest first;
// w.mu is held.
func (w *Worker) start(ctx context.Context) {
	if w.stopped || ctx.Err() != nil {
		return
	}
	left := w.waiting[:0]
	for _, d := range w.waiting {
		t := target(d)
		if per := w.Kinds[d.Kind].PerTarget; w.nBusy >= max(1, w.Concurrency) || (per > 0 && w.busy[t] >= per) {
			left = append(left, d)
			continue
		}
		w.busy[t]++
		w.nBusy++
		w.wg.Go(func() { w.end(ctx, d, w.deliver(ctx, d)) })
	}
	clear(w.waiting[len(left):])
	w.waiting = left
}

// end counts a delivery made, starts what its slot lets start, and wakes
// the claiming loop when half of what a target (or, for a kind without
// slots, the worker) may hold is free, so that claims take several rows
// at a time.
func (w *Worker) end(ctx context.Context, d *tasktrack.Delivery, ok bool) {
	t := target(d)
	w.mu.Lock()
	if w.busy[t]--; w.busy[t] == 0 {
		delete(w.busy, t)
	}
	w.nBusy--
	w.unhold(d)
	if ok {
		w.succeeded = append(w.succeeded, d)
	} else {
		delete(w.leased, d.ID) // its outcome is recorded
	}
	w.start(ctx)
	per := w.Kinds[d.Kind].PerTarget
	wake := w.held[t] <= per*holdPerSlot/2
	if per <= 0 {
		wake = w.nHeld <= max(1, w.Batch)/2
	}
	ended := w.ended
	w.mu.Unlock()
	if wake {
		select {
		case ended <- struct{}{}:
		default:
		}
	}
}

// unhold forgets a delivery held; w.mu is held.
func (w *Worker) unhold(d *tasktrack.Delivery) {
	t := target(d)
	if w.held[t]--; w.held[t] == 0 {
		delete(w.held, t)
	}
	w.nHeld--
}

// recordSucceeded records the deliveries made since it last did.
func (w *Worker) recordSucceeded(ctx context.Context) {
	w.mu.Lock()
	delivered := w.succeeded
	w.succeeded = nil
	w.mu.Unlock()
	if len(delivered) == 0 {
		return
	}
	// The successes are recorded together, before each claim (which the
	// worker makes when half of a target's room has freed, or woken, or
	// every Poll): one write for several instead of one per message, which
	// on SQLite's single writer is what the requests of the API wait for.
	// Until then a crash would send them again, as it would between any
	// send and its record.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := w.Store.DeliveriesSucceeded(rctx, delivered); err != nil {
		// The leases end the matter: the rows become due again, and are
		// sent again.
		w.Logger.Error("outbox: could not record deliveries made", "n", len(delivered), "err", err)
	}
	w.mu.Lock()
	for _, d := range delivered {
		delete(w.leased, d.ID)
	}
	w.mu.Unlock()
	if w.OnOutcome != nil {
		for _, d := range delivered {
			w.OnOutcome(d.Kind, Delivered)
		}
	}
}

// deliver makes one attempt at d and reports whether it was delivered;
// a failure's outcome is recorded here, even when ctx ends meanwhile (the
// server shutting down).
func (w *Worker) deliver(ctx context.Context, d *tasktrack.Delivery) bool {
	kind := w.Kinds[d.Kind]
	err := kind.Handler.Deliver(ctx, d)
	if err == nil {
		return true
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	log := w.Logger.With("delivery", d.ID, "kind", d.Kind, "attempt", d.Attempt)
	var outcome string
	var rerr error
	switch {
	case (kind.Permanent != nil && kind.Permanent(err)) || w.Now().Sub(d.CreatedAt) >= kind.GiveUpAfter ||
		(len(kind.Schedule) > 0 && d.Attempt > len(kind.Schedule)):
		outcome = Failed
		var details map[string]any
		if kind.FailedDetails != nil {
			details = kind.FailedDetails(d, err)
		}
		log.Warn("outbox: delivery given up", "err", err)
		rerr = w.Store.FailDelivery(rctx, d, w.Owner, err.Error(), kind.FailedAction, details)
	default:
		outcome = Retrying
		delay := w.backoff(kind, d.Attempt)
		log.Info("outbox: delivery failed; will retry", "err", err, "in", delay)
		rerr = w.Store.RetryDelivery(rctx, d, w.Owner, delay, err.Error())
	}
	if rerr != nil {
		// The lease ends the matter: the row becomes due again.
		log.Error("outbox: could not record an outcome", "outcome", outcome, "err", rerr)
	}
	if w.OnOutcome != nil {
		w.OnOutcome(d.Kind, outcome)
	}
	return false
}

// backoff is the wait after the given attempt failed: the upper half of
// the schedule's step, or full jitter over an exponential ceiling.
func (w *Worker) backoff(k Kind, attempt int) time.Duration {
	if len(k.Schedule) > 0 {
		step := k.Schedule[min(max(attempt, 1), len(k.Schedule))-1]
		return step/2 + time.Duration(w.Rand()*float64(step/2))
	}
	ceiling := float64(k.Base) * math.Pow(2, float64(max(attempt, 1)-1))
	if ceiling > float64(k.Cap) {
		ceiling = float64(k.Cap)
	}
	return time.Duration(w.Rand() * ceiling)
}
