package smsgate

import (
	"fmt"
	"time"

	"github.com/smsgw/smsgw/store"
)

// SMSGate processing states, as they go on the wire.
const (
	StatePending   = "Pending"
	StateProcessed = "Processed"
	StateSent      = "Sent"
	StateDelivered = "Delivered"
	StateFailed    = "Failed"
	StateCancelled = "Cancelled"
)

// rank orders the states a recipient or message moves through; terminal states rank
// highest, so nothing ever moves back from them.
func rank(s string) int {
	switch s {
	case StatePending:
		return 0
	case StateProcessed:
		return 1
	case StateSent:
		return 2
	case StateDelivered, StateFailed, StateCancelled:
		return 3
	}
	return -1
}

// UnknownDeadline is how long a part whose submission outcome is unknown may stay so
// (when its message has no expiry) before its recipient is reported Failed.
const UnknownDeadline = 24 * time.Hour

// RecipientState maps the parts of one recipient's outbound message to an SMSGate
// recipient state and error text (SMSGATE.md §8.5, first match wins):
//
//   - cancelled while every part was queued → Cancelled
//   - any part failed → Failed, the first failure's reason
//   - any part expired → Failed, "TTL expired" before submission, the SC status after
//   - a part whose submission outcome is unknown past the message's expiry (or
//     UnknownDeadline) → Failed, "submit result unknown"
//   - all parts queued → Pending
//   - any part submitting, queued beside sent parts, or submission outcome unknown → Processed
//   - all parts delivered → Delivered
//   - all parts sent, delivered or unknown after submission → Sent
//
// unknown is never shown as delivered, and Delivered needs every part's report.
func RecipientState(m store.Message, now time.Time) (state, errText string) {
	ps := m.Parts
	if len(ps) == 0 {
		if m.Status == store.PartCancelled {
			return StateCancelled, ""
		}
		return StatePending, ""
	}
	count := map[string]int{}
	for _, p := range ps {
		count[p.State]++
	}
	n := len(ps)
	label := func(p store.Part) string {
		if p.Total > 1 {
			return fmt.Sprintf("part %d/%d: ", p.Seq, p.Total)
		}
		return ""
	}
	if count[store.PartCancelled] > 0 && count[store.PartCancelled]+count[store.PartQueued] == n {
		return StateCancelled, ""
	}
	for _, p := range ps {
		if p.State == store.PartFailed {
			reason := p.Error
			if p.ReportStatus >= 0x40 {
				reason = fmt.Sprintf("delivery report: SC status 0x%02X", p.ReportStatus)
			} else if reason == "" {
				reason = "failed"
			}
			return StateFailed, label(p) + reason
		}
	}
	for _, p := range ps {
		if p.State == store.PartExpired {
			switch {
			case p.SubmittedAt.IsZero() && p.MR < 0:
				return StateFailed, label(p) + "TTL expired"
			case p.ReportStatus >= 0:
				return StateFailed, label(p) + fmt.Sprintf("delivery report: SC status 0x%02X", p.ReportStatus)
			default:
				return StateFailed, label(p) + "validity period expired"
			}
		}
	}
	deadline := m.ExpiresAt
	if deadline.IsZero() {
		deadline = m.UpdatedAt.Add(UnknownDeadline)
	}
	submitUnknown := 0
	for _, p := range ps {
		if p.State == store.PartUnknown && p.MR < 0 {
			submitUnknown++
			if now.After(deadline) {
				return StateFailed, label(p) + "submit result unknown"
			}
		}
	}
	switch {
	case count[store.PartQueued] == n:
		return StatePending, ""
	case count[store.PartSubmitting] > 0, count[store.PartQueued] > 0, submitUnknown > 0:
		return StateProcessed, ""
	case count[store.PartDelivered] == n:
		return StateDelivered, ""
	case count[store.PartSent]+count[store.PartDelivered]+count[store.PartUnknown] == n:
		return StateSent, ""
	}
	return StateProcessed, ""
}

// MessageState aggregates recipient states as SMSGate does: any Pending → Pending;
// else any Cancelled → Cancelled; else any Processed → Processed; else all Failed →
// Failed; else all Delivered → Delivered; else Sent.
func MessageState(recipients []string) string {
	has := map[string]int{}
	for _, s := range recipients {
		has[s]++
	}
	switch {
	case len(recipients) == 0 || has[StatePending] > 0:
		return StatePending
	case has[StateCancelled] > 0:
		return StateCancelled
	case has[StateProcessed] > 0:
		return StateProcessed
	case has[StateFailed] == len(recipients):
		return StateFailed
	case has[StateDelivered] == len(recipients):
		return StateDelivered
	}
	return StateSent
}

// advance returns the later of two states: a state never moves back, and a terminal
// state is kept.
func advance(old, cur string) string {
	if rank(cur) > rank(old) {
		return cur
	}
	return old
}
