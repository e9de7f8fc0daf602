package store

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)

func out(peer string, parts int, mod func(*NewOutbound)) NewOutbound {
	m := NewOutbound{Kind: "api", Peer: peer, Body: "body", Encoding: "gsm7", Report: true}
	for i := range parts {
		m.Parts = append(m.Parts, NewPart{PDU: []byte{0, byte(i)}, TPDULen: 1})
	}
	if mod != nil {
		mod(&m)
	}
	return m
}

func enqueue(t *testing.T, db *DB, ms ...NewOutbound) []Message {
	t.Helper()
	got, _, err := db.Enqueue(context.Background(), ms)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func claim(t *testing.T, db *DB, f ClaimFilter) *Job {
	t.Helper()
	if f.Now.IsZero() {
		f.Now = t0
	}
	if f.Modem == "" {
		f.Modem = "m0"
	}
	j, err := db.ClaimPart(context.Background(), f)
	if err != nil {
		t.Fatal(err)
	}
	return j
}

func status(t *testing.T, db *DB, uid string) Message {
	t.Helper()
	m, err := db.MessageByUID(context.Background(), uid)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestEnqueueAndIdempotency(t *testing.T) {
	ctx := context.Background()
	db := openMigrated(t)
	first, dup, err := db.Enqueue(ctx, []NewOutbound{out("+15550001", 3, func(m *NewOutbound) { m.IdempotencyKey = "k1" })})
	if err != nil || dup[0] {
		t.Fatalf("%v %v", err, dup)
	}
	m := first[0]
	if m.Status != "queued" || len(m.Parts) != 3 || m.Segments != 3 || m.Parts[2].Seq != 3 || m.Parts[0].MR != -1 {
		t.Fatalf("enqueued %+v", m)
	}
	again, dup, err := db.Enqueue(ctx, []NewOutbound{out("+15550002", 1, func(m *NewOutbound) { m.IdempotencyKey = "k1" })})
	if err != nil || !dup[0] || again[0].UID != m.UID || again[0].Peer != "+15550001" {
		t.Fatalf("repeat with the same key: %v %v %+v", err, dup, again)
	}
	var n int
	if err := db.r.QueryRow(`SELECT COUNT(*) FROM messages`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("%d messages (%v), want 1", n, err)
	}
	// A batch is one transaction: a bad message rolls back the good ones.
	_, _, err = db.Enqueue(ctx, []NewOutbound{out("+15550003", 1, nil), {Peer: "+1", Body: "x", Encoding: "gsm7"}})
	if err == nil {
		t.Fatal("a message without parts was accepted")
	}
	if err := db.r.QueryRow(`SELECT COUNT(*) FROM messages`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("%d messages after a failed batch, want 1", n)
	}
}

func TestClaimOrderAndFilters(t *testing.T) {
	db := openMigrated(t)
	ms := enqueue(t, db,
		out("+1555000001", 1, nil),                                                   // 0: plain
		out("+1555000002", 1, func(m *NewOutbound) { m.Priority = 5 }),               // 1: urgent
		out("+1555000003", 1, func(m *NewOutbound) { m.SendAt = t0.Add(time.Hour) }), // 2: later
		out("+1555000004", 1, func(m *NewOutbound) { m.Line = "sales" }),             // 3: another line
		out("+1555000005", 1, func(m *NewOutbound) { m.Kind = "automated" }),         // 4: automated
	)
	cases := []struct {
		name string
		f    ClaimFilter
		want int // index into ms, -1 for none
	}{
		{"priority first", ClaimFilter{}, 1},
		{"then oldest", ClaimFilter{}, 0},
		{"quiet hours hold automated", ClaimFilter{HoldAutomated: true}, -1},
		{"automated outside quiet hours", ClaimFilter{}, 4},
		{"line needs its modem", ClaimFilter{}, -1},
		{"modem of the line", ClaimFilter{Modem: "m1", Lines: []string{"sales"}}, 3},
		{"scheduled when due", ClaimFilter{Now: t0.Add(2 * time.Hour)}, 2},
	}
	for _, tc := range cases {
		j := claim(t, db, tc.f)
		switch {
		case tc.want < 0 && j != nil:
			t.Fatalf("%s: claimed %s, want nothing", tc.name, j.Peer)
		case tc.want >= 0 && (j == nil || j.MessageUID != ms[tc.want].UID):
			t.Fatalf("%s: claimed %+v, want %s", tc.name, j, ms[tc.want].Peer)
		}
	}
	if st := status(t, db, ms[0].UID); st.Status != "sending" || st.Parts[0].State != PartSubmitting || st.Modem != "m0" {
		t.Fatalf("claimed message %+v", st)
	}
}

func TestPartsGoInOrderThroughOneModem(t *testing.T) {
	ctx := context.Background()
	db := openMigrated(t)
	m := enqueue(t, db, out("+1555000009", 3, nil))[0]
	j1 := claim(t, db, ClaimFilter{Modem: "m0"})
	if j1 == nil || j1.Seq != 1 {
		t.Fatalf("first claim %+v", j1)
	}
	if j := claim(t, db, ClaimFilter{Modem: "m0"}); j != nil {
		t.Fatalf("part %d claimed while part 1 is submitting", j.Seq)
	}
	if err := db.PartSent(ctx, j1.PartID, 17, t0); err != nil {
		t.Fatal(err)
	}
	if j := claim(t, db, ClaimFilter{Modem: "m1"}); j != nil {
		t.Fatal("another modem took part 2 of a message m0 started")
	}
	j2 := claim(t, db, ClaimFilter{Modem: "m0"})
	if j2 == nil || j2.Seq != 2 {
		t.Fatalf("second claim %+v", j2)
	}
	if st := status(t, db, m.UID); st.Status != "sending" || st.Parts[0].MR != 17 {
		t.Fatalf("%+v", st)
	}
}

func TestOutcomesRollUp(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name   string
		parts  int
		act    func(db *DB, jobs []*Job) error
		status string
		states []string
	}{
		{"all sent", 2, func(db *DB, js []*Job) error {
			return errors.Join(db.PartSent(ctx, js[0].PartID, 1, t0))
		}, "sending", []string{PartSent, PartQueued}},
		{"retry keeps it queued", 1, func(db *DB, js []*Job) error {
			return db.PartRetry(ctx, js[0].PartID, t0.Add(time.Minute), "network out of order", "temporary", true, t0)
		}, "queued", []string{PartQueued}},
		{"permanent failure fails the rest", 3, func(db *DB, js []*Job) error {
			return db.PartFailed(ctx, js[0].PartID, "+CMS ERROR 1 (unassigned number)", "permanent", t0)
		}, "failed", []string{PartFailed, PartFailed, PartFailed}},
		{"unknown", 1, func(db *DB, js []*Job) error {
			return db.PartUnknown(ctx, js[0].PartID, "no answer after the PDU was sent", t0)
		}, "unknown", []string{PartUnknown}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			db := openMigrated(t)
			m := enqueue(t, db, out("+1555000010", tc.parts, nil))[0]
			j := claim(t, db, ClaimFilter{})
			if err := tc.act(db, []*Job{j}); err != nil {
				t.Fatal(err)
			}
			st := status(t, db, m.UID)
			if st.Status != tc.status {
				t.Errorf("status %s, want %s (%s)", st.Status, tc.status, st.Error)
			}
			for i, want := range tc.states {
				if st.Parts[i].State != want {
					t.Errorf("part %d %s, want %s", i+1, st.Parts[i].State, want)
				}
			}
		})
	}
}

func TestRetryWaitsAndDoesNotBlockOthers(t *testing.T) {
	ctx := context.Background()
	db := openMigrated(t)
	ms := enqueue(t, db, out("+1555000011", 1, nil), out("+1555000012", 1, nil))
	j := claim(t, db, ClaimFilter{})
	if err := db.PartRetry(ctx, j.PartID, t0.Add(time.Minute), "congestion", "temporary", true, t0); err != nil {
		t.Fatal(err)
	}
	if j2 := claim(t, db, ClaimFilter{}); j2 == nil || j2.MessageUID != ms[1].UID {
		t.Fatalf("the second message did not go while the first waits: %+v", j2)
	}
	if j3 := claim(t, db, ClaimFilter{Now: t0.Add(2 * time.Minute)}); j3 == nil || j3.MessageUID != ms[0].UID || j3.Attempts != 2 {
		t.Fatalf("retry not claimed after its time: %+v", j3)
	}
}

func TestRecoverSubmittingBecomesUnknown(t *testing.T) {
	ctx := context.Background()
	db := openMigrated(t)
	m := enqueue(t, db, out("+1555000013", 2, nil))[0]
	claim(t, db, ClaimFilter{})
	n, err := db.RecoverSubmitting(ctx, t0)
	if err != nil || n != 1 {
		t.Fatalf("recovered %d (%v), want 1", n, err)
	}
	st := status(t, db, m.UID)
	if st.Parts[0].State != PartUnknown || st.Parts[1].State != PartQueued || st.Status != "sending" {
		t.Fatalf("%+v", st)
	}
	// The rest of the message still goes; the unknown part is never claimed again.
	j := claim(t, db, ClaimFilter{})
	if j == nil || j.Seq != 2 {
		t.Fatalf("claimed %+v, want part 2", j)
	}
	if err := db.PartSent(ctx, j.PartID, 3, t0); err != nil {
		t.Fatal(err)
	}
	if st := status(t, db, m.UID); st.Status != "unknown" || st.Error == "" {
		t.Fatalf("status %s %q, want unknown with the reason", st.Status, st.Error)
	}
	if j := claim(t, db, ClaimFilter{}); j != nil {
		t.Fatal("an unknown part was claimed again")
	}
	// An operator resends it.
	if _, err := db.ResendUnknown(ctx, m.UID, t0); err != nil {
		t.Fatal(err)
	}
	if j := claim(t, db, ClaimFilter{}); j == nil || j.Seq != 1 {
		t.Fatalf("resent part not claimed: %+v", j)
	}
	if _, err := db.ResendUnknown(ctx, m.UID, t0); !errors.Is(err, ErrNothingToResend) {
		t.Fatalf("second resend: %v", err)
	}
}

func TestExpireCancel(t *testing.T) {
	ctx := context.Background()
	db := openMigrated(t)
	ms := enqueue(t, db,
		out("+1555000014", 1, func(m *NewOutbound) { m.ExpiresAt = t0.Add(time.Minute) }),
		out("+1555000015", 1, nil),
		out("+1555000016", 1, nil))
	n, err := db.ExpireDue(ctx, t0.Add(2*time.Minute))
	if err != nil || n != 1 {
		t.Fatalf("expired %d (%v)", n, err)
	}
	if st := status(t, db, ms[0].UID); st.Status != "expired" {
		t.Fatalf("%+v", st)
	}
	c, err := db.CancelMessage(ctx, ms[1].UID, t0)
	if err != nil || c.Status != "cancelled" || c.Parts[0].State != PartCancelled {
		t.Fatalf("cancel: %+v %v", c, err)
	}
	j := claim(t, db, ClaimFilter{})
	if j == nil || j.MessageUID != ms[2].UID {
		t.Fatalf("claimed %+v", j)
	}
	if _, err := db.CancelMessage(ctx, ms[2].UID, t0); !errors.Is(err, ErrNotCancellable) {
		t.Fatalf("cancel of a submitting message: %v", err)
	}
	if _, err := db.CancelMessage(ctx, "nope", t0); !errors.Is(err, ErrNotFound) {
		t.Fatalf("cancel of an unknown id: %v", err)
	}
}

func TestStatusReports(t *testing.T) {
	ctx := context.Background()
	db := openMigrated(t)
	ms := enqueue(t, db, out("+4915112345678", 2, nil), out("+4915199999999", 1, nil))
	send := func(modem string, mr int, at time.Time) {
		j := claim(t, db, ClaimFilter{Modem: modem, Now: at})
		if j == nil {
			t.Fatal("nothing to claim")
		}
		if err := db.PartSent(ctx, j.PartID, mr, at); err != nil {
			t.Fatal(err)
		}
	}
	send("m0", 10, t0)
	send("m0", 11, t0)
	send("m0", 10, t0.Add(time.Minute)) // the other message reuses MR 10 later
	cases := []struct {
		name    string
		r       ReportMatch
		matched bool
	}{
		{"wrong modem", ReportMatch{Modem: "m1", MR: 11, Recipient: "+4915112345678", Class: "delivered"}, false},
		{"wrong recipient", ReportMatch{Modem: "m0", MR: 11, Recipient: "+4915100000000", Class: "delivered"}, false},
		{"national form matches", ReportMatch{Modem: "m0", MR: 11, Recipient: "015112345678", Class: "delivered"}, true},
		{"pending changes nothing", ReportMatch{Modem: "m0", MR: 10, Recipient: "+4915112345678", Class: "pending", Status: 0x20, Meaning: "congestion"}, true},
		{"same MR, older message by recipient", ReportMatch{Modem: "m0", MR: 10, Recipient: "+4915112345678", Class: "delivered"}, true},
		{"failure", ReportMatch{Modem: "m0", MR: 10, Recipient: "+4915199999999", Class: "failed", Status: 0x41, Meaning: "incompatible destination"}, true},
		{"outside the window", ReportMatch{Modem: "m0", MR: 11, Recipient: "+4915112345678", Class: "delivered", Now: t0.Add(30 * 24 * time.Hour)}, false},
	}
	for _, tc := range cases {
		if tc.r.Now.IsZero() {
			tc.r.Now = t0.Add(2 * time.Minute)
		}
		uid, err := db.ApplyStatusReport(ctx, tc.r)
		if got := uid != ""; err != nil || got != tc.matched {
			t.Fatalf("%s: matched %q (%v), want %v", tc.name, uid, err, tc.matched)
		}
	}
	if st := status(t, db, ms[0].UID); st.Status != "delivered" || st.Parts[0].ReportStatus != 0 {
		t.Fatalf("first message %s %+v", st.Status, st.Parts)
	}
	st := status(t, db, ms[1].UID)
	if st.Status != "failed" || st.Error != "part 1/1: delivery report: SC status 0x41 (incompatible destination)" {
		t.Fatalf("second message %s %q", st.Status, st.Error)
	}
}

func TestReserveConcatRefsWraps(t *testing.T) {
	ctx := context.Background()
	db := openMigrated(t)
	a, _ := db.ReserveConcatRefs(ctx, 3)
	b, _ := db.ReserveConcatRefs(ctx, 1)
	if a != 0 || b != 3 {
		t.Fatalf("refs %d %d, want 0 3", a, b)
	}
	if _, err := db.w.Exec(`UPDATE concat_refs SET next = 65535`); err != nil {
		t.Fatal(err)
	}
	c, _ := db.ReserveConcatRefs(ctx, 2)
	d, _ := db.ReserveConcatRefs(ctx, 1)
	if c != 65535 || d != 1 {
		t.Fatalf("refs around the wrap %d %d, want 65535 1", c, d)
	}
}

// Several dispatchers claiming at once never get the same part.
func TestConcurrentClaimsAreExclusive(t *testing.T) {
	ctx := context.Background()
	db := openMigrated(t)
	var batch []NewOutbound
	for i := range 200 {
		batch = append(batch, out(fmt.Sprintf("+1555%07d", i), 1, nil))
	}
	enqueue(t, db, batch...)
	var mu sync.Mutex
	seen := map[int64]bool{}
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				j, err := db.ClaimPart(ctx, ClaimFilter{Modem: fmt.Sprintf("m%d", w), Now: t0})
				if err != nil {
					t.Error(err)
					return
				}
				if j == nil {
					return
				}
				mu.Lock()
				if seen[j.PartID] {
					t.Errorf("part %d claimed twice", j.PartID)
				}
				seen[j.PartID] = true
				mu.Unlock()
				if err := db.PartSent(ctx, j.PartID, 1, t0); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if len(seen) != 200 {
		t.Fatalf("%d parts claimed, want 200", len(seen))
	}
	total := 0
	for w := range 4 {
		n, err := db.SubmittedSince(ctx, fmt.Sprintf("m%d", w), t0.Add(-time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		total += n
	}
	if total != 200 {
		t.Fatalf("submissions counted per modem add up to %d, want 200", total)
	}
	st, err := db.QueueStats(ctx)
	if err != nil || st.Parts[PartSent] != 200 || !st.OldestQueued.IsZero() {
		t.Fatalf("stats %+v %v", st, err)
	}
}

func TestStatusReportBeforeSubmissionIsRecorded(t *testing.T) {
	ctx := context.Background()
	db := openMigrated(t)
	enqueue(t, db, out("+4915112345678", 1, nil))
	j := claim(t, db, ClaimFilter{})
	r := ReportMatch{Modem: "m0", MR: 5, Recipient: "+4915112345678", Class: "delivered", Now: t0}
	if _, err := db.ApplyStatusReport(ctx, r); !errors.Is(err, ErrReportEarly) {
		t.Fatalf("report while submitting: %v, want ErrReportEarly", err)
	}
	if err := db.PartSent(ctx, j.PartID, 5, t0); err != nil {
		t.Fatal(err)
	}
	if uid, err := db.ApplyStatusReport(ctx, r); uid == "" || err != nil {
		t.Fatalf("retried report: %q %v", uid, err)
	}
	// With nothing in flight, an unmatched report is simply unmatched.
	r.MR = 99
	if uid, err := db.ApplyStatusReport(ctx, r); uid != "" || err != nil {
		t.Fatalf("foreign report: %q %v", uid, err)
	}
}
