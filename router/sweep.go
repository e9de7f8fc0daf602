package router

import (
	"context"
	"errors"

	"github.com/smsgw/smsgw/store"
)

// SweepResult counts what one Sweep did.
type SweepResult struct {
	Reassembled  int // incomplete sets delivered after the reassembly timeout
	Woken        int // T13
	TimedOut     int // T11
	AutoResolved int // T14, reason auto
	Closed       int // T15
	Expired      int // alerts past their 14 days
}

// Sweep runs the timers once, against the injected clock: reassembly timeouts, snoozes
// that end (T13), ownership timeouts (T11), auto-resolve (T14), grace windows that end
// (T15) and alert expiry. Run calls it every SweepInterval; tests call it directly.
func (r *Router) Sweep(ctx context.Context) error {
	_, err := r.SweepOnce(ctx)
	return err
}

// SweepOnce is Sweep, reporting what it did.
func (r *Router) SweepOnce(ctx context.Context) (SweepResult, error) {
	var res SweepResult
	r.mu.Lock()
	r.lastSweep = r.now()
	r.mu.Unlock()
	var errs []error
	n, err := r.deliverDueGroups(ctx)
	res.Reassembled, errs = n, append(errs, err)

	now := r.now()
	due, err := r.db.DueSnoozes(ctx, now, 200)
	errs = append(errs, err)
	for _, c := range due {
		err := r.update(ctx, func(tx *store.Tx, em *emitter) error {
			cur, err := tx.Conversation(c.ID)
			if err != nil || cur.Status != store.StatusSnoozed || cur.SnoozedUntil.IsZero() || cur.SnoozedUntil.After(r.now()) {
				return err
			}
			cur, err = r.wakeEpisode(tx, em, cur, "snooze time reached", r.now())
			if err != nil {
				return err
			}
			res.Woken++
			return r.alertFor(tx, em, cur, "snooze ended", 0, r.now())
		})
		errs = append(errs, err)
	}

	timeouts, err := r.db.DueOwnershipTimeouts(ctx, r.now(), 200)
	errs = append(errs, err)
	for _, c := range timeouts {
		err := r.update(ctx, func(tx *store.Tx, em *emitter) error {
			cur, err := tx.Conversation(c.ID)
			if err != nil || cur.Status != store.StatusOpen || cur.OwnerID != c.OwnerID || !cur.NeedsReply {
				return err
			}
			if cur.OwnerActivityAt.After(c.OwnerActivityAt) {
				return nil // the owner acted meanwhile
			}
			res.TimedOut++
			return r.release(tx, em, cur, 0, "ownership timeout: no reply from the owner", r.now())
		})
		errs = append(errs, err)
	}

	if r.Settings().AutoResolveAfter > 0 {
		stale, err := r.db.DueAutoResolve(ctx, r.now().Add(-r.Settings().AutoResolveAfter), 200)
		errs = append(errs, err)
		for _, c := range stale {
			err := r.update(ctx, func(tx *store.Tx, em *emitter) error {
				cur, err := tx.Conversation(c.ID)
				if err != nil || (cur.Status != store.StatusNew && cur.Status != store.StatusOpen) ||
					cur.LastActivityAt.After(r.now().Add(-r.Settings().AutoResolveAfter)) {
					return err
				}
				res.AutoResolved++
				return r.resolveEpisode(tx, em, cur, 0, "auto", "resolved after inactivity", r.now())
			})
			errs = append(errs, err)
		}
	}

	ended, err := r.db.DueGraceEnds(ctx, r.now().Add(-r.Settings().GraceWindow), 200)
	errs = append(errs, err)
	for _, c := range ended {
		err := r.update(ctx, func(tx *store.Tx, em *emitter) error {
			cur, err := tx.Conversation(c.ID)
			if err != nil || cur.Status != store.StatusResolved || cur.ResolvedAt.After(r.now().Add(-r.Settings().GraceWindow)) {
				return err
			}
			res.Closed++
			return r.closeEpisode(tx, em, cur, 0, "grace window ended", r.now())
		})
		errs = append(errs, err)
	}

	errs = append(errs, r.update(ctx, func(tx *store.Tx, em *emitter) error {
		n, err := tx.ExpireAlerts(r.now())
		res.Expired = n
		return err
	}))
	if err := r.SendPendingConfirmations(ctx); err != nil {
		r.log.Warn("opt-out confirmations", "error", err)
	}
	return res, errors.Join(errs...)
}
