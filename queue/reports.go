package queue

import (
	"context"
	"errors"
	"time"

	"github.com/smsgw/smsgw/sms"
	"github.com/smsgw/smsgw/store"
)

// ApplyStatusReport records a status report received on modem against the part it
// reports on. It returns false when no sent part matches (an old or foreign report). A
// report that arrives before its submission is recorded (a fast network answers while
// the worker is still writing "sent") is retried for up to five seconds, not dropped.
func (q *Queue) ApplyStatusReport(ctx context.Context, modem string, mr int, recipient string, discharge time.Time, st byte) (bool, error) {
	meaning, class := sms.StatusMeaning(st)
	c := "pending"
	switch class {
	case sms.Delivered:
		c = "delivered"
	case sms.Failed:
		c = "failed"
	}
	for range 50 {
		uid, err := q.db.ApplyStatusReport(ctx, store.ReportMatch{
			Modem: modem, MR: mr, Recipient: recipient, Discharge: discharge, Status: int(st),
			Class: c, Meaning: meaning, Now: q.now(),
		})
		if errors.Is(err, store.ErrReportEarly) {
			if !sleep(ctx, 100*time.Millisecond) {
				return false, ctx.Err()
			}
			continue
		}
		if err != nil || uid == "" {
			return false, err
		}
		q.changed(ctx, uid)
		return true, nil
	}
	return false, nil
}

// changed tells the OnChange hook about a message's new state.
func (q *Queue) changed(ctx context.Context, uid string) {
	q.mu.Lock()
	fn := q.onChange
	q.mu.Unlock()
	if fn == nil {
		return
	}
	m, err := q.db.MessageByUID(ctx, uid)
	if err != nil {
		q.log.Warn("reload a changed message", "message", uid, "error", err)
		return
	}
	fn(m)
}
