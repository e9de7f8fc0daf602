package main

import (
	"context"
	"database/sql"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/smsgw/smsgw/event"
	"github.com/smsgw/smsgw/router"
	"github.com/smsgw/smsgw/store"
)

func TestJournalLines(t *testing.T) {
	j := newJournal(nil, nil, nil, 0)
	failed := store.Message{UID: "m1", Peer: "+4915112345678", Status: "failed", Error: "part 1/1: +CMS ERROR 1"}
	cases := []struct {
		name  string
		e     event.Event
		ok    bool
		level string
		text  string
	}{
		{"alert fired", event.Event{Type: event.SystemAlertFired, Data: store.SystemAlert{Check: "modem_offline", Subject: "modem0",
			Severity: "critical", Message: "modem modem0 is offline"}}, true, "critical", "modem modem0 is offline"},
		{"alert cleared", event.Event{Type: event.SystemAlertCleared, Data: store.SystemAlert{Message: "modem modem0 is offline"}},
			true, "info", "cleared: modem modem0 is offline"},
		{"failed delivery", event.Event{Type: event.MessageDelivery, Data: failed}, true, "warning", "+CMS ERROR 1"},
		{"same failure again", event.Event{Type: event.MessageDelivery, Data: failed}, false, "", ""},
		{"sent is not logged", event.Event{Type: event.MessageDelivery, Data: store.Message{UID: "m2", Status: "sent"}}, false, "", ""},
		{"unmatched report", event.Event{Type: event.StatusReportUnmatched, Data: router.StatusEvent{
			StatusReport: router.StatusReport{Modem: "modem1", MR: 7}}}, true, "info", "matched no sent message"},
		{"other events", event.Event{Type: event.ConversationCreated}, false, "", ""},
	}
	for _, tc := range cases {
		l, ok := j.line(tc.e)
		if ok != tc.ok || (ok && (l.Level != tc.level || !strings.Contains(l.Message, tc.text))) {
			t.Errorf("%s: %+v %v", tc.name, l, ok)
		}
	}
}

// Unplugging a demo modem leaves its trail in the event log.
func TestEventLogRecordsModemStates(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "demo")
	out, errb := &syncBuffer{}, &syncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() { done <- run(ctx, []string{"demo", "--dir", dir, "--listen", "127.0.0.1:0"}, out, errb, noEnv) }()
	defer func() {
		cancel()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			t.Error("demo did not stop")
		}
	}()
	var control string
	deadline := time.Now().Add(30 * time.Second)
	for control == "" {
		if m := controlRE.FindStringSubmatch(out.String()); m != nil {
			control = m[1]
		}
		if time.Now().After(deadline) {
			t.Fatalf("no banner: %s", errb.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	waitReady(t, regexp.MustCompile(`Open:\s+(http://\S+)`).FindStringSubmatch(out.String())[1])
	resp, err := http.Post(control+"/api/modems/modem0/unplug", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	db, err := sql.Open("sqlite3", "file:"+filepath.Join(dir, "smsgw.db")+"?mode=ro&_busy_timeout=5000")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	deadline = time.Now().Add(20 * time.Second)
	for {
		var n int
		_ = db.QueryRow(`SELECT COUNT(*) FROM event_log WHERE module = 'modem' AND level <> 'info'
			AND message LIKE 'modem modem0 is %'`).Scan(&n)
		if n > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no modem state change logged after an unplug; gateway log:\n%s", errb.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}
