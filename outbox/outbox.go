// Package outbox delivers the outbox: the rows of outside effects (emails;
// later webhook calls) that the store writes in the transaction of the
// change that caused them. A Worker runs in every serve process: it claims
// due rows under a lease (replicas never hold the same row at once),
// delivers each outside any transaction through the Handler of its kind,
// and records the outcome: delivered, due again after a backoff with full
// jitter, or given up with an audit entry.
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

// Defaults of a Worker's settings left zero.
const (
	DefaultPoll        = time.Second
	DefaultLease       = 2 * time.Minute
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
	// Lease is how long a claimed row is this worker's: longer than any
	// attempt takes, since at its end another worker may take the row.
	Lease time.Duration
	// Batch rows are claimed at a time and delivered Concurrency at once.
	Batch, Concurrency int
	// Now is the clock (for giving up); Rand draws the jitter in [0, 1).
	Now  func() time.Time
	Rand func() float64
	// Logger logs retries and failures; OnOutcome, when set, is told the
	// kind and outcome of each attempt, for metrics.
	Logger    *slog.Logger
	OnOutcome func(kind, outcome string)
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

// Run delivers until ctx ends: at once when woken, every Poll otherwise,
// and without pause while full batches keep coming. Finished rows older
// than DefaultKeep are deleted once an hour.
func (w *Worker) Run(ctx context.Context) {
	poll := time.NewTicker(w.Poll)
	defer poll.Stop()
	purge := time.NewTicker(time.Hour)
	defer purge.Stop()
	for ctx.Err() == nil {
		n, err := w.RunOnce(ctx)
		if err != nil && ctx.Err() == nil {
			w.Logger.Warn("outbox: claim failed", "err", err)
		}
		if err == nil && n == w.Batch {
			continue
		}
		select {
		case <-ctx.Done():
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
}

// RunOnce claims one batch of due deliveries, delivers them and records
// the outcomes; it returns how many it claimed.
func (w *Worker) RunOnce(ctx context.Context) (int, error) {
	kinds := make([]string, 0, len(w.Kinds))
	for k := range w.Kinds {
		kinds = append(kinds, k)
	}
	slices.Sort(kinds)
	batch, err := w.Store.ClaimDeliveries(ctx, w.Owner, kinds, w.Batch, w.Lease)
	if err != nil {
		return 0, err
	}
	sem := make(chan struct{}, max(1, w.Concurrency))
	var (
		wg        sync.WaitGroup
		mu        sync.Mutex
		delivered []*tasktrack.Delivery
	)
	for _, d := range batch {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			if w.deliver(ctx, d) {
				mu.Lock()
				delivered = append(delivered, d)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	// The successes of a batch are recorded together: one write instead of
	// one per message, which on SQLite's single writer is what the
	// requests of the API wait for. Until then a crash would send them
	// again, as it would between any send and its record.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := w.Store.DeliveriesSucceeded(rctx, delivered); err != nil {
		// The leases end the matter: the rows become due again, and are
		// sent again.
		w.Logger.Error("outbox: could not record deliveries made", "n", len(delivered), "err", err)
	}
	if w.OnOutcome != nil {
		for _, d := range delivered {
			w.OnOutcome(d.Kind, Delivered)
		}
	}
	return len(batch), nil
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
