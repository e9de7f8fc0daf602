package queue

import (
	"context"
	"time"

	"github.com/smsgw/smsgw/sms"
	"github.com/smsgw/smsgw/store"
)

// ApplyStatusReport records a status report received on modem against the part it
// reports on. It returns false when no sent part matches (an old or foreign report).
func (q *Queue) ApplyStatusReport(ctx context.Context, modem string, mr int, recipient string, discharge time.Time, st byte) (bool, error) {
	meaning, class := sms.StatusMeaning(st)
	c := "pending"
	switch class {
	case sms.Delivered:
		c = "delivered"
	case sms.Failed:
		c = "failed"
	}
	return q.db.ApplyStatusReport(ctx, store.ReportMatch{
		Modem: modem, MR: mr, Recipient: recipient, Discharge: discharge, Status: int(st),
		Class: c, Meaning: meaning, Now: q.now(),
	})
}
