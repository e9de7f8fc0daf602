package queue

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/smsgw/smsgw/sms"
)

// Sender is a modem as the queue sees it (modem.Session implements it).
type Sender interface {
	Name() string
	// Send submits one PDU and returns the message reference. more says another part
	// of the same message follows at once.
	Send(ctx context.Context, pdu sms.PDU, more bool) (int, error)
	// WaitReady blocks until the modem can send or ctx ends.
	WaitReady(ctx context.Context) error
}

// outcomer is implemented by errors that know whether the SMS may have gone out
// (modem.SendError). Errors without it are treated as unknown: the safe assumption.
type outcomer interface {
	Outcome() (class string, pduSent bool)
}

// Route is one modem and what it may send.
type Route struct {
	Sender Sender
	// Lines the modem serves; messages for other named lines are not its to send.
	Lines []string
	// RatePerMinute limits sends on this SIM (0 = unlimited); sends are spaced with
	// jitter so the traffic does not look machine-made.
	RatePerMinute int
	// MonthlyQuota stops sending on this SIM for the rest of the calendar month once
	// reached (0 = unlimited).
	MonthlyQuota int
}

// Run dispatches until ctx is cancelled: one worker per route, plus housekeeping
// (expiry, statistics). A part being submitted when ctx is cancelled is finished first,
// so the outcome is recorded; Run returns after every worker has stopped.
func (q *Queue) Run(ctx context.Context, routes []Route) error {
	n, err := q.db.RecoverSubmitting(ctx, q.now())
	if err != nil {
		return err
	}
	if n > 0 {
		q.log.Warn("parts were being submitted when the gateway stopped; their outcome is unknown and they are not resent automatically",
			"parts", n)
		q.m.recovered.Add(float64(n))
	}
	var wg sync.WaitGroup
	for _, r := range routes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := &worker{q: q, r: r, name: r.Sender.Name()}
			w.run(ctx)
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		q.housekeeping(ctx)
	}()
	wg.Wait()
	return nil
}

// housekeeping expires overdue parts and refreshes the cached statistics that metrics
// and health checks read.
func (q *Queue) housekeeping(ctx context.Context) {
	t := time.NewTicker(5 * time.Second)
	defer t.Stop()
	for {
		if n, err := q.db.ExpireDue(ctx, q.now()); err != nil {
			if ctx.Err() == nil {
				q.log.Error("expire overdue messages", "error", err)
			}
		} else if n > 0 {
			q.log.Info("messages expired before they could be sent", "messages", n)
		}
		if st, err := q.db.QueueStats(ctx); err == nil {
			q.mu.Lock()
			q.stats = st
			q.mu.Unlock()
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Stats returns the statistics as of the last housekeeping pass.
func (q *Queue) Stats() (parts map[string]int, oldestQueued time.Time) {
	q.mu.Lock()
	defer q.mu.Unlock()
	parts = make(map[string]int, len(q.stats.Parts))
	for k, v := range q.stats.Parts {
		parts[k] = v
	}
	return parts, q.stats.OldestQueued
}

type worker struct {
	q    *Queue
	r    Route
	name string

	next       time.Time // rate limit: earliest next send
	pause      time.Duration
	quotaMonth time.Time
	quotaUsed  int
	lastSend   time.Time   // pacing: when this modem last sent
	sends      []time.Time // pacing: sends inside the limit's window
}

func (w *worker) run(ctx context.Context) {
	log := w.q.log.With("modem", w.name)
	for ctx.Err() == nil {
		if err := w.r.Sender.WaitReady(ctx); err != nil {
			return
		}
		if !w.waitTurn(ctx) || !w.pace(ctx) {
			return
		}
		if w.quotaReached(ctx) {
			log.Warn("monthly quota reached; this SIM sends no more this month", "quota", w.r.MonthlyQuota)
			if !sleep(ctx, time.Minute) {
				return
			}
			continue
		}
		now := w.q.now()
		wake := w.q.wake.wait()
		job, err := w.q.db.ClaimPart(ctx, claimFilter(w, now))
		if err != nil {
			if ctx.Err() == nil {
				log.Error("claim a part", "error", err)
			}
			if !sleep(ctx, w.q.cfg.Poll) {
				return
			}
			continue
		}
		if job == nil {
			t := time.NewTimer(w.q.cfg.Poll)
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-wake:
			case <-t.C:
			}
			t.Stop()
			continue
		}
		w.send(context.WithoutCancel(ctx), job)
		if w.pause > 0 && !sleep(ctx, w.pause) {
			return
		}
	}
}

func claimFilter(w *worker, now time.Time) storeClaim {
	return storeClaim{Modem: w.name, Lines: w.r.Lines, Now: now, HoldAutomated: w.q.QuietHours().Active(now)}
}

// waitTurn waits until the rate limit allows the next send.
func (w *worker) waitTurn(ctx context.Context) bool {
	if w.r.RatePerMinute <= 0 || w.next.IsZero() {
		return true
	}
	d := time.Until(w.next)
	if d <= 0 {
		return true
	}
	return sleep(ctx, d)
}

func (w *worker) spaced() {
	if w.r.RatePerMinute <= 0 {
		return
	}
	interval := time.Minute / time.Duration(w.r.RatePerMinute)
	// ±25 % jitter around the interval.
	j := time.Duration(rand.Int64N(int64(interval)/2+1)) - interval/4
	w.next = time.Now().Add(interval + j)
}

// quotaReached counts this month's submissions (from the database once a month, then
// in memory) against the quota.
func (w *worker) quotaReached(ctx context.Context) bool {
	if w.r.MonthlyQuota <= 0 {
		return false
	}
	now := w.q.now()
	month := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, now.Location())
	if !month.Equal(w.quotaMonth) {
		n, err := w.q.db.SubmittedSince(ctx, w.name, month)
		if err != nil {
			return false
		}
		w.quotaMonth, w.quotaUsed = month, n
	}
	w.q.m.quotaUsed.WithLabelValues(w.name).Set(float64(w.quotaUsed))
	return w.quotaUsed >= w.r.MonthlyQuota
}

// send submits one claimed part and records the outcome. It runs to completion even
// while the gateway shuts down, so the part does not stay "submitting".
func (w *worker) send(ctx context.Context, job *storeJob) {
	q := w.q
	pdu := sms.PDU{Bytes: job.PDU, TPDULen: job.TPDULen}
	start := time.Now()
	mr, err := w.r.Sender.Send(ctx, pdu, job.Seq < job.Total)
	q.m.sendLatency.WithLabelValues(w.name).Observe(time.Since(start).Seconds())
	w.spaced()
	w.sent(time.Now())
	w.quotaUsed++
	now := q.now()
	if err == nil {
		w.pause = 0
		q.m.parts.WithLabelValues(w.name, "sent").Inc()
		if rerr := q.db.PartSent(ctx, job.PartID, mr, now); rerr != nil {
			q.log.Error("record a sent part", "part", job.PartID, "error", rerr)
			return
		}
		q.changed(ctx, job.MessageUID)
		return
	}
	class, sent := "unknown", true
	var oc outcomer
	if errors.As(err, &oc) {
		class, sent = oc.Outcome()
	}
	q.m.parts.WithLabelValues(w.name, class).Inc()
	log := q.log.With("modem", w.name, "message", job.MessageUID, "part", job.Seq, "error", err)
	var rerr error
	switch class {
	case "permanent":
		w.pause = 0
		log.Warn("part failed permanently")
		rerr = q.db.PartFailed(ctx, job.PartID, err.Error(), class, now)
	case "temporary":
		// The modem may be the problem (no network, not ready): slow this worker down
		// so it does not burn through the queue's retries.
		w.pause = min(max(2*w.pause, time.Second), time.Minute)
		switch {
		case !sent && job.Attempts <= q.cfg.MaxAttempts:
			log.Info("part not sent; retrying")
			rerr = q.db.PartRetry(ctx, job.PartID, now.Add(w.pause), err.Error(), class, false, now)
		case job.Attempts >= q.cfg.MaxAttempts:
			log.Warn("part failed: out of attempts", "attempts", job.Attempts)
			rerr = q.db.PartFailed(ctx, job.PartID, fmt.Sprintf("gave up after %d attempts: %v", job.Attempts, err), class, now)
		default:
			retry := now.Add(backoff(q.cfg.RetryBase, q.cfg.RetryMax, job.Attempts))
			log.Info("part failed temporarily; retrying later", "retry_at", retry)
			rerr = q.db.PartRetry(ctx, job.PartID, retry, err.Error(), class, true, now)
		}
	default:
		w.pause = 0
		log.Warn("part outcome unknown; it will not be resent unless an operator decides so")
		rerr = q.db.PartUnknown(ctx, job.PartID, err.Error(), now)
	}
	if rerr != nil {
		q.log.Error("record a part's outcome", "part", job.PartID, "error", rerr)
		return
	}
	q.changed(ctx, job.MessageUID)
}

// backoff is base·2^(attempt-1) with ±50 % jitter, capped at max.
func backoff(base, maxD time.Duration, attempt int) time.Duration {
	d := base
	for i := 1; i < attempt && d < maxD; i++ {
		d *= 2
	}
	d = min(d, maxD)
	return d/2 + time.Duration(rand.Int64N(int64(d)+1))
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
