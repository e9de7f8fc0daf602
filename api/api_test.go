package api

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/smsgw/smsgw/event"
	"github.com/smsgw/smsgw/modem"
	"github.com/smsgw/smsgw/modem/sim"
	"github.com/smsgw/smsgw/store"
	"github.com/smsgw/smsgw/webhook"
)

type sseEvent struct {
	ID, Type string
	Env      webhook.Envelope
}

// sseClient reads an event stream until closed.
type sseClient struct {
	events chan sseEvent
	cancel context.CancelFunc
	done   chan struct{}
}

func (e *testEnv) stream(token, lastID string) *sseClient {
	e.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", e.ts.URL+"/api/v1/events", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		e.t.Fatal(err)
	}
	if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/event-stream") {
		cancel()
		e.t.Fatalf("events: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	c := &sseClient{events: make(chan sseEvent, 1000), cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(c.done)
		defer res.Body.Close()
		sc := bufio.NewScanner(res.Body)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		var cur sseEvent
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if cur.Type != "" {
					c.events <- cur
				}
				cur = sseEvent{}
			case strings.HasPrefix(line, "id: "):
				cur.ID = line[4:]
			case strings.HasPrefix(line, "event: "):
				cur.Type = line[7:]
			case strings.HasPrefix(line, "data: "):
				_ = json.Unmarshal([]byte(line[6:]), &cur.Env)
			}
		}
	}()
	return c
}

func (c *sseClient) close() { c.cancel(); <-c.done }

// next returns the next event of type typ (skipping others) or fails.
func (c *sseClient) next(t *testing.T, typ string) sseEvent {
	t.Helper()
	timeout := time.After(15 * time.Second)
	for {
		select {
		case ev := <-c.events:
			if ev.Type == typ {
				return ev
			}
		case <-timeout:
			t.Fatalf("no %s event", typ)
		}
	}
}

// TestEndToEndOnVirtualModems: a message POSTed to the API reaches the virtual network;
// an SMS from a virtual phone appears in the conversation list, in the thread, on the
// SSE stream and at a webhook that checks the signature; a reply goes back to the phone.
func TestEndToEndOnVirtualModems(t *testing.T) {
	e := newEnv(t, true)
	waitFor(t, "modem ready", 20*time.Second, func() bool { return e.sess[0].Status().State == modem.StateReady })

	// A webhook receiver that verifies signatures.
	var mu sync.Mutex
	var hooked []webhook.Envelope
	var secret string
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		if err := webhook.Verify(secret, r.Header.Get(webhook.HeaderSignature), b, time.Minute, time.Now()); err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		var env webhook.Envelope
		_ = json.Unmarshal(b, &env)
		hooked = append(hooked, env)
	}))
	defer rcv.Close()
	r := e.do("POST", "/api/v1/webhooks", e.tok["admin"], map[string]any{"url": rcv.URL, "events": []string{"message.received"}})
	if r.Status != 201 {
		t.Fatalf("create webhook: %d %s", r.Status, r.Body)
	}
	var wh struct {
		ID     int64  `json:"id"`
		Secret string `json:"secret"`
	}
	r.json(t, &wh)
	mu.Lock()
	secret = wh.Secret
	mu.Unlock()

	sse := e.stream(e.tok["disp"], "")
	defer sse.close()

	// Outbound through the API.
	r = e.do("POST", "/api/v1/messages", e.tok["disp"], map[string]any{"to": "+12025550199", "body": "Your technician is on the way"})
	if r.Status != 202 || r.Header.Get("Location") == "" {
		t.Fatalf("send: %d %s", r.Status, r.Body)
	}
	var m store.Message
	r.json(t, &m)
	waitFor(t, "message sent", 20*time.Second, func() bool {
		e.do("GET", "/api/v1/messages/"+m.UID, e.tok["disp"], nil).json(t, &m)
		return m.Status == "sent" || m.Status == "delivered"
	})
	if _, err := e.net.Wait(context.Background(), func(ms []sim.SentMessage) bool {
		for _, x := range ms {
			if x.To == "+12025550199" && x.Text == "Your technician is on the way" && x.Complete {
				return true
			}
		}
		return false
	}); err != nil {
		t.Fatal(err)
	}

	// Inbound from a virtual phone, hostile text included.
	hostile := `<script>alert(1)</script> '; DROP TABLE messages; -- {{.}} =cmd|' /C calc'!A0`
	phone := e.net.Phone("+12025550123")
	if err := phone.Send(e.sims[0].Identity().MSISDN, hostile, sim.SendOptions{}); err != nil {
		t.Fatal(err)
	}
	var list struct {
		Items []struct {
			ID     int64  `json:"id"`
			Status string `json:"status"`
			Unread bool   `json:"unread"`
		} `json:"items"`
		Counts *store.ConversationCounts `json:"counts"`
	}
	waitFor(t, "conversation in the list", 20*time.Second, func() bool {
		e.do("GET", "/api/v1/conversations?status=NEW&owner=unowned&include=counts", e.tok["disp"], nil).json(t, &list)
		return len(list.Items) == 1
	})
	conv := list.Items[0]
	if !conv.Unread || list.Counts == nil || list.Counts.Unowned != 1 {
		t.Fatalf("list = %+v counts %+v", list.Items, list.Counts)
	}
	var msgs struct {
		Items []store.ThreadMessage `json:"items"`
	}
	e.do("GET", "/api/v1/conversations/"+itos(conv.ID)+"/messages", e.tok["viewer"], nil).json(t, &msgs)
	if len(msgs.Items) != 1 || msgs.Items[0].Body != hostile || msgs.Items[0].Peer != "+12025550123" {
		t.Fatalf("thread = %+v", msgs.Items)
	}
	ev := sse.next(t, event.MessageReceived)
	var data struct {
		Body string `json:"body"`
	}
	_ = json.Unmarshal(ev.Env.Data, &data)
	if data.Body != hostile || ev.Env.ConversationID != conv.ID || !strings.Contains(ev.ID, ":") {
		t.Fatalf("sse event = %+v", ev)
	}
	waitFor(t, "webhook delivery", 10*time.Second, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(hooked) == 1
	})

	// Accept: the viewer may not, the dispatcher wins, the admin loses the race.
	if r := e.do("POST", "/api/v1/conversations/"+itos(conv.ID)+"/accept", e.tok["viewer"], nil); r.Status != 403 {
		t.Fatalf("viewer accept: %d %s", r.Status, r.Body)
	}
	if r := e.do("POST", "/api/v1/conversations/"+itos(conv.ID)+"/accept", e.tok["disp"], nil); r.Status != 200 {
		t.Fatalf("accept: %d %s", r.Status, r.Body)
	}
	if r := e.do("POST", "/api/v1/conversations/"+itos(conv.ID)+"/accept", e.tok["admin"], nil); r.Status != 409 || r.errCode() != "already_accepted" {
		t.Fatalf("second accept: %d %s", r.Status, r.Body)
	}
	acc := sse.next(t, event.ConversationAccepted)
	if acc.Env.Changes["status"] != [2]any{"NEW", "OPEN"} {
		t.Fatalf("accepted changes = %+v", acc.Env.Changes)
	}
	// Reply reaches the phone.
	r = e.do("POST", "/api/v1/conversations/"+itos(conv.ID)+"/messages", e.tok["disp"], map[string]any{"body": "On our way"})
	if r.Status != 202 {
		t.Fatalf("reply: %d %s", r.Status, r.Body)
	}
	waitFor(t, "reply on the phone", 20*time.Second, func() bool {
		for _, x := range phone.Inbox() {
			if x.Text == "On our way" {
				return true
			}
		}
		return false
	})
	// Modems, trace and system alerts.
	var modems struct {
		Items []struct {
			Name  string `json:"name"`
			Ready bool   `json:"ready"`
		} `json:"items"`
	}
	e.do("GET", "/api/v1/modems", e.tok["viewer"], nil).json(t, &modems)
	if len(modems.Items) != 1 || !modems.Items[0].Ready {
		t.Fatalf("modems = %+v", modems)
	}
	if r := e.do("GET", "/api/v1/modems/m0/trace", e.tok["admin"], nil); r.Status != 200 || !strings.Contains(string(r.Body), "AT") {
		t.Fatalf("trace: %d", r.Status)
	}
	if r := e.do("GET", "/api/v1/modems/m0/trace", e.tok["viewer"], nil); r.Status != 403 {
		t.Fatalf("viewer trace: %d", r.Status)
	}
}

// TestSSEResumesWithoutGaps: a client that reconnects with Last-Event-ID gets every
// event it missed, in order, then the live ones; an id from another run asks for a resync.
func TestSSEResumesWithoutGaps(t *testing.T) {
	e := newEnv(t, false)
	publish := func(n int) {
		for i := 0; i < n; i++ {
			e.bus.Publish(event.Event{Type: event.ContactUpdated, Data: map[string]any{"id": i + 1, "name": "c" + strconv.Itoa(i)}})
		}
	}
	s := e.stream(e.tok["admin"], "")
	publish(5)
	var last string
	for i := 0; i < 3; i++ {
		last = s.next(t, event.ContactUpdated).ID
	}
	s.close()
	publish(7) // while disconnected
	s2 := e.stream(e.tok["admin"], last)
	defer s2.close()
	go publish(3) // live ones, right after the replay
	_, seqText, _ := strings.Cut(last, ":")
	want, _ := strconv.ParseInt(seqText, 10, 64)
	for i := 0; i < 12; i++ {
		ev := s2.next(t, event.ContactUpdated)
		want++
		if ev.Env.Seq != want {
			t.Fatalf("event %d: seq %d, want %d (a gap or a repeat)", i, ev.Env.Seq, want)
		}
	}
	// An id from an earlier process run.
	s3 := e.stream(e.tok["admin"], "deadbeef:3")
	defer s3.close()
	s3.next(t, "resync")

	// A viewer does not get another user's alerts or system events.
	sv := e.stream(e.tok["viewer"], "")
	defer sv.close()
	e.bus.Publish(event.Event{Type: event.AlertCreated, UserID: e.disp.ID, Data: map[string]any{"id": 1}})
	e.bus.Publish(event.Event{Type: event.InboundUndecodable, Data: map[string]any{"pdu_id": 1}})
	e.bus.Publish(event.Event{Type: event.AlertCreated, UserID: e.viewer.ID, Data: map[string]any{"id": 2}})
	got := sv.next(t, event.AlertCreated)
	if !strings.Contains(string(got.Env.Data), `"id":2`) {
		t.Fatalf("viewer got %s", got.Env.Data)
	}
}
