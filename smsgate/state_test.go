package smsgate

import (
	"testing"
	"time"

	"github.com/smsgw/smsgw/store"
)

func TestRecipientState(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	sub := now.Add(-time.Minute)
	part := func(seq, total int, state string) store.Part {
		p := store.Part{Seq: seq, Total: total, State: state, MR: -1, ReportStatus: -1}
		switch state {
		case store.PartSent, store.PartDelivered:
			p.MR, p.SubmittedAt = seq, sub
		}
		if state == store.PartDelivered {
			p.ReportStatus = 0
		}
		return p
	}
	with := func(p store.Part, f func(*store.Part)) store.Part { f(&p); return p }
	msg := func(ps ...store.Part) store.Message {
		return store.Message{Status: "sending", Parts: ps, UpdatedAt: now.Add(-time.Hour), ExpiresAt: now.Add(time.Hour)}
	}
	cases := []struct {
		name      string
		m         store.Message
		state     string
		errorText string
	}{
		{"queued", msg(part(1, 1, store.PartQueued)), StatePending, ""},
		{"all parts queued", msg(part(1, 2, store.PartQueued), part(2, 2, store.PartQueued)), StatePending, ""},
		{"submitting", msg(part(1, 1, store.PartSubmitting)), StateProcessed, ""},
		{"queued beside sent", msg(part(1, 2, store.PartSent), part(2, 2, store.PartQueued)), StateProcessed, ""},
		{"sent", msg(part(1, 1, store.PartSent)), StateSent, ""},
		{"one of two delivered", msg(part(1, 2, store.PartDelivered), part(2, 2, store.PartSent)), StateSent, ""},
		{"every part delivered", msg(part(1, 2, store.PartDelivered), part(2, 2, store.PartDelivered)), StateDelivered, ""},
		{"submit outcome unknown", msg(part(1, 1, store.PartUnknown)), StateProcessed, ""},
		{"unknown never shows delivered", msg(part(1, 2, store.PartDelivered), part(2, 2, store.PartUnknown)), StateProcessed, ""},
		{"unknown after submission is sent", msg(part(1, 2, store.PartDelivered), with(part(2, 2, store.PartUnknown), func(p *store.Part) { p.MR = 7 })), StateSent, ""},
		{"unknown past the expiry", func() store.Message {
			m := msg(part(1, 1, store.PartUnknown))
			m.ExpiresAt = now.Add(-time.Second)
			return m
		}(), StateFailed, "submit result unknown"},
		{"unknown past the deadline without expiry", func() store.Message {
			m := msg(part(1, 1, store.PartUnknown))
			m.ExpiresAt = time.Time{}
			m.UpdatedAt = now.Add(-UnknownDeadline - time.Minute)
			return m
		}(), StateFailed, "submit result unknown"},
		{"failed part", msg(part(1, 3, store.PartSent), with(part(2, 3, store.PartFailed), func(p *store.Part) { p.Error = "+CMS ERROR: 500" }), part(3, 3, store.PartQueued)),
			StateFailed, "part 2/3: +CMS ERROR: 500"},
		{"failed by report", msg(with(part(1, 1, store.PartFailed), func(p *store.Part) { p.ReportStatus = 0x41; p.MR = 3 })), StateFailed, "delivery report: SC status 0x41"},
		{"expired before submission", msg(part(1, 1, store.PartExpired)), StateFailed, "TTL expired"},
		{"expired by report", msg(with(part(1, 1, store.PartExpired), func(p *store.Part) { p.ReportStatus = 0x46; p.MR = 3; p.SubmittedAt = sub })),
			StateFailed, "delivery report: SC status 0x46"},
		{"failure wins over delivery", msg(part(1, 2, store.PartDelivered), with(part(2, 2, store.PartFailed), func(p *store.Part) { p.Error = "x" })), StateFailed, "part 2/2: x"},
		{"cancelled", msg(part(1, 2, store.PartCancelled), part(2, 2, store.PartCancelled)), StateCancelled, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st, e := RecipientState(c.m, now)
			if st != c.state || e != c.errorText {
				t.Errorf("got %s %q, want %s %q", st, e, c.state, c.errorText)
			}
		})
	}
}

func TestMessageStateAggregation(t *testing.T) {
	cases := []struct {
		in   []string
		want string
	}{
		{[]string{StatePending, StateDelivered}, StatePending},
		{[]string{StateCancelled, StateSent}, StateCancelled},
		{[]string{StateProcessed, StateDelivered}, StateProcessed},
		{[]string{StateFailed, StateFailed}, StateFailed},
		{[]string{StateDelivered, StateDelivered}, StateDelivered},
		{[]string{StateDelivered, StateFailed}, StateSent},
		{[]string{StateSent, StateDelivered}, StateSent},
	}
	for _, c := range cases {
		if got := MessageState(c.in); got != c.want {
			t.Errorf("%v: %s, want %s", c.in, got, c.want)
		}
	}
}

func TestStatesNeverMoveBack(t *testing.T) {
	for _, c := range [][3]string{
		{StateDelivered, StateSent, StateDelivered},
		{StateSent, StateProcessed, StateSent},
		{StatePending, StateSent, StateSent},
		{StateFailed, StateSent, StateFailed},
		{StateSent, StateFailed, StateFailed},
	} {
		if got := advance(c[0], c[1]); got != c[2] {
			t.Errorf("advance(%s, %s) = %s, want %s", c[0], c[1], got, c[2])
		}
	}
}
