package queue

import (
	"testing"
	"time"
)

// TestSetQuietHoursReleasesHeld: an automated message held by quiet hours goes out
// once the quiet hours are switched off at run time, without a restart.
func TestSetQuietHoursReleasesHeld(t *testing.T) {
	now := time.Now()
	start := now.Hour()*60 + now.Minute()
	qh := QuietHours{Start: start, End: (start + 120) % 1440, Location: time.Local}
	b := newBench(t, benchOpts{cfg: Config{QuietHours: qh}})
	if got := b.q.QuietHours(); got != qh {
		t.Fatalf("QuietHours() = %+v, want %+v", got, qh)
	}
	auto := b.enqueue(Request{To: "+12025550040", Body: "reminder", Kind: KindAutomated})
	time.Sleep(300 * time.Millisecond)
	if m := b.waitStatus(time.Second, []string{auto.UID}, "queued")[0]; m.Parts[0].Attempts != 0 {
		t.Fatalf("automated message was tried in quiet hours: %+v", m)
	}
	b.q.SetQuietHours(QuietHours{})
	if got := b.q.QuietHours(); got.Start != got.End {
		t.Fatalf("QuietHours() after SetQuietHours = %+v", got)
	}
	b.waitStatus(10*time.Second, []string{auto.UID}, "sent", "delivered")
}
