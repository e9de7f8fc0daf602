package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

var controlRE = regexp.MustCompile(`curl -X POST (http://\S+)/api/phones`)

// The demo is the whole gateway on virtual modems: a message queued with `smsgw send`
// reaches the virtual network, and a virtual phone's SMS becomes an inbound message in a
// conversation, with nothing but real ptys, SQLite and HTTP in between.
func TestDemoSendsAndReceivesEndToEnd(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "demo")
	out, errb := &syncBuffer{}, &syncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() { done <- run(ctx, []string{"demo", "--dir", dir, "--listen", "127.0.0.1:0"}, out, errb, noEnv) }()
	defer func() {
		cancel()
		select {
		case code := <-done:
			if code != 0 {
				t.Errorf("demo exited %d: %s", code, errb.String())
			}
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
			t.Fatalf("no control URL in the banner:\n%s\n%s", out.String(), errb.String())
		}
		time.Sleep(20 * time.Millisecond)
	}

	// Outbound: the CLI queues, the running gateway sends.
	var sout, serr bytes.Buffer
	code := run(context.Background(), []string{"send", "--state-dir", dir, "--to", "+12025550199",
		"--text", "Your technician is on the way", "--wait", "--timeout", "60s"}, &sout, &serr, noEnv)
	if code != 0 || !(strings.Contains(sout.String(), " sent ") || strings.Contains(sout.String(), " delivered ")) {
		t.Fatalf("send exited %d: %s %s\ngateway log:\n%s", code, sout.String(), serr.String(), errb.String())
	}
	var msgs []struct{ To, Text string }
	getJSON(t, control+"/api/messages", &msgs)
	found := false
	for _, m := range msgs {
		found = found || (m.To == "+12025550199" && m.Text == "Your technician is on the way")
	}
	if !found {
		t.Fatalf("the virtual network did not get the message: %+v", msgs)
	}

	// Inbound: a virtual phone texts the first modem.
	body := `{"to":"+12025550100","text":"<script>alert(1)</script> running late?"}`
	resp, err := http.Post(control+"/api/phones/+12025550199/send", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode >= 300 {
		t.Fatalf("phone send: %s", resp.Status)
	}
	db, err := sql.Open("sqlite3", "file:"+filepath.Join(dir, "smsgw.db")+"?mode=ro&_busy_timeout=5000")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	deadline = time.Now().Add(30 * time.Second)
	for {
		var text, peer string
		var thread sql.NullInt64
		err := db.QueryRow(`SELECT body, peer, thread_id FROM messages WHERE direction = 'in' ORDER BY id DESC LIMIT 1`).Scan(&text, &peer, &thread)
		if err == nil {
			if text != "<script>alert(1)</script> running late?" || peer != "+12025550199" || !thread.Valid {
				t.Fatalf("inbound message %q from %q thread %v", text, peer, thread)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no inbound message after 30s (%v)\ngateway log:\n%s", err, errb.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	// The modems report ready.
	url := regexp.MustCompile(`Open:\s+(http://\S+)`).FindStringSubmatch(out.String())[1]
	if code, body := get(t, url+"readyz"); code != 200 || !strings.Contains(body, `"modem:modem0":"ok"`) {
		t.Fatalf("readyz %d %s", code, body)
	}
}

func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("GET %s: %v: %s", url, err, b)
	}
}
