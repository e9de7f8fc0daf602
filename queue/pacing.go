package queue

import (
	"context"
	"math/rand/v2"
	"time"
)

// Pacing spaces and caps the sends of every modem, on top of each route's own rate
// limit: carriers throttle or block SIMs that send like machines (SMSGate's
// messages.send_interval_* and limit_* settings map onto it).
type Pacing struct {
	// IntervalMin and IntervalMax bound a random pause between two sends of one modem
	// (0 and 0: none).
	IntervalMin, IntervalMax time.Duration
	// Limit caps the sends of one modem in any window of Period (0: no cap).
	Limit  int
	Period time.Duration
}

// SetPacing replaces the pacing while the queue runs.
func (q *Queue) SetPacing(p Pacing) {
	if p.IntervalMax < p.IntervalMin {
		p.IntervalMax = p.IntervalMin
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	q.pacing = p
}

// Pacing returns the pacing in force.
func (q *Queue) Pacing() Pacing {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.pacing
}

// pace waits until the pacing lets this worker send again: the pause after its last
// send, and room in the window of the limit. It returns false when ctx ends.
func (w *worker) pace(ctx context.Context) bool {
	p := w.q.Pacing()
	if p.IntervalMax > 0 && !w.lastSend.IsZero() {
		gap := p.IntervalMin
		if d := p.IntervalMax - p.IntervalMin; d > 0 {
			gap += time.Duration(rand.Int64N(int64(d) + 1))
		}
		if wait := time.Until(w.lastSend.Add(gap)); wait > 0 && !sleep(ctx, wait) {
			return false
		}
	}
	if p.Limit <= 0 || p.Period <= 0 {
		w.sends = w.sends[:0]
		return true
	}
	for {
		cutoff := time.Now().Add(-p.Period)
		kept := w.sends[:0]
		for _, t := range w.sends {
			if t.After(cutoff) {
				kept = append(kept, t)
			}
		}
		w.sends = kept
		if len(w.sends) < p.Limit {
			return true
		}
		// Full: wait until the oldest send leaves the window (checking again at least
		// every minute, so a raised limit takes effect soon).
		if !sleep(ctx, min(time.Until(w.sends[0].Add(p.Period))+time.Millisecond, time.Minute)) {
			return false
		}
		p = w.q.Pacing()
		if p.Limit <= 0 || p.Period <= 0 {
			return true
		}
	}
}

// sent records a send for the pacing.
func (w *worker) sent(at time.Time) {
	w.lastSend = at
	if w.q.Pacing().Limit > 0 {
		w.sends = append(w.sends, at)
	}
}
