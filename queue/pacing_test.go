package queue

import (
	"fmt"
	"testing"
	"time"
)

// The pacing caps sends per window and spaces them; lower bounds only, so load cannot
// make it flaky.
func TestPacing(t *testing.T) {
	b := newBench(t, benchOpts{})
	b.q.SetPacing(Pacing{Limit: 2, Period: time.Second, IntervalMin: 100 * time.Millisecond, IntervalMax: 150 * time.Millisecond})
	if p := b.q.Pacing(); p.Limit != 2 || p.Period != time.Second {
		t.Fatalf("pacing %+v", p)
	}
	start := time.Now()
	var uids []string
	for i := range 3 {
		uids = append(uids, b.enqueue(Request{To: fmt.Sprintf("+1202555%04d", 500+i), Body: "paced", NoReport: true}).UID)
	}
	msgs := b.waitStatus(20*time.Second, uids, "sent")
	var times []time.Time
	for _, m := range msgs {
		times = append(times, m.Parts[0].SubmittedAt)
	}
	// The third submission waits for the first to leave the one-second window.
	first, last := times[0], times[0]
	for _, ts := range times {
		if ts.Before(first) {
			first = ts
		}
		if ts.After(last) {
			last = ts
		}
	}
	if gap := last.Sub(first); gap < 900*time.Millisecond {
		t.Fatalf("3 sends with a limit of 2 per second spread over %s", gap)
	}
	if time.Since(start) < 900*time.Millisecond {
		t.Fatal("the limit was not applied")
	}
	// Lifting the pacing lets the queue run freely again.
	b.q.SetPacing(Pacing{})
	m := b.enqueue(Request{To: "+12025550600", Body: "free"})
	b.waitStatus(10*time.Second, []string{m.UID}, "sent", "delivered")
}
