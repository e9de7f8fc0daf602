package webui

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/chromedp/chromedp"

	"github.com/smsgw/smsgw/bench/hostile"
	"github.com/smsgw/smsgw/modem/sim"
	"github.com/smsgw/smsgw/router"
	"github.com/smsgw/smsgw/sms"
	"github.com/smsgw/smsgw/store"
)

// TestHostileCorpusBrowser pushes testdata/hostile/corpus.json through the entry points
// a customer or an agent reaches: SMS bodies from virtual phones over the virtual
// network and a real modem session (lone surrogates as raw UCS-2 PDUs), alphanumeric
// sender ids, contact names, notes, tags and quick replies. Every SMS must be stored
// exactly as sent (as UTF-8: a lone surrogate becomes U+FFFD), no router call may fail
// with anything but a validation error, and headless Chromium must render every
// conversation (and the inbox list) without running a script, opening a dialog or
// violating the CSP. The gateway must still answer /healthz afterwards.
func TestHostileCorpusBrowser(t *testing.T) {
	corpus, err := hostile.Load()
	if err != nil {
		t.Fatal(err)
	}
	b := newBrowser(t)
	s := newStack(t, router.Permissions{DispatcherSeeOthers: router.SeeAll})
	s.user("ana", "Ana Lima", "admin")
	ctx := t.Context()
	m := s.farm.Modems[0]

	// 1. Inbound SMS bodies, spread over 20 virtual phones.
	const phones = 20
	phone := func(i int) string { return fmt.Sprintf("+1202555%04d", 100+i%phones) }
	want := map[string]int{} // body → times sent
	sent := 0
	for i, h := range corpus {
		switch {
		case h.UCS2 != "":
			units := h.Units()
			pdus, err := sms.EncodeDeliver(phone(i), "x", sms.DeliverOptions{ForceUCS2: true})
			if err != nil || len(pdus) != 1 {
				t.Fatal(err)
			}
			p := pdus[0].Bytes
			ud := make([]byte, 0, 2*len(units))
			for _, u := range units {
				ud = append(ud, byte(u>>8), byte(u))
			}
			p = append(append(p[:len(p)-3:len(p)-3], byte(len(ud))), ud...) // replace UDL and the "x"
			if err := m.Inject(sim.RouteNetwork, p); err != nil {
				t.Fatal(err)
			}
			want[h.Raw()]++
		case h.Valid() && h.Raw() != "":
			if err := s.farm.Network.Phone(phone(i)).Send(s.modemNo, h.Raw(), sim.SendOptions{}); err != nil {
				t.Fatalf("%s: %v", h.ID, err)
			}
			want[h.Raw()]++
		default:
			continue // invalid UTF-8 cannot be texted; the API test covers it
		}
		sent++
	}
	// 2. Alphanumeric sender ids (up to 11 GSM 7-bit characters).
	senders := map[string]bool{}
	for _, h := range corpus {
		id := h.Raw()
		if !h.Valid() || utf8.RuneCountInString(id) > 11 || strings.TrimSpace(id) != id || id == "" ||
			strings.Trim(id, "+-0123456789") == "" { // digits are a phone number, not an id
			continue
		}
		pdus, err := sms.EncodeDeliver(id, "from sender "+h.ID, sms.DeliverOptions{})
		if err != nil {
			continue // not GSM 7-bit, or all digits: not an alphanumeric id
		}
		if err := m.Inject(sim.RouteNetwork, pdus[0].Bytes); err != nil {
			t.Fatal(err)
		}
		senders[id] = true
		want["from sender "+h.ID]++
		sent++
	}
	if len(senders) < 50 {
		t.Fatalf("only %d sender ids", len(senders))
	}
	var stored []store.Message
	deadline := time.Now().Add(3 * time.Minute)
	for {
		stored = stored[:0]
		var before int64
		for {
			ms, err := s.db.Messages(ctx, store.MessageFilter{Direction: "in", BeforeID: before, Limit: 500})
			if err != nil {
				t.Fatal(err)
			}
			stored = append(stored, ms...)
			if len(ms) < 500 {
				break
			}
			before = ms[len(ms)-1].ID
		}
		if len(stored) >= sent {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d inbound messages stored after 3 minutes", len(stored), sent)
		}
		time.Sleep(200 * time.Millisecond)
	}
	got := map[string]int{}
	peers := map[string]bool{}
	for _, x := range stored {
		got[x.Body]++
		peers[x.Peer] = true
	}
	for body, n := range want {
		if got[body] != n {
			t.Errorf("inbound %q stored %d times, sent %d", body, got[body], n)
		}
	}
	for id := range senders {
		// The gateway drops control characters from sender ids ("a\nid" is stored as
		// "aid"); everything else must be kept.
		id = strings.Map(func(r rune) rune {
			if unicode.IsControl(r) {
				return -1
			}
			return r
		}, id)
		if !peers[id] {
			var near []string
			for p := range peers {
				if strings.Contains(p, "id") || strings.ContainsAny(p, "0123456789") && len(p) < 14 {
					near = append(near, fmt.Sprintf("%q", p))
				}
			}
			t.Errorf("sender id %q not stored as the peer (peers like it: %v)", id, near)
		}
	}
	t.Logf("%d inbound messages (%d sender ids) stored exactly as sent", sent, len(senders))

	// 3. Contact names, notes, tags and quick replies in the 20 conversations.
	admin := router.Actor{UserID: 1, Role: "admin"}
	var convs []store.ConversationItem
	for i := range phones {
		convs = append(convs, s.waitConversation(phone(i)))
	}
	refused := map[string]int{}
	for i, h := range corpus {
		if !h.Valid() {
			continue
		}
		c := convs[i%phones]
		p := h.Raw()
		if _, err := s.rt.AddNote(ctx, admin, c.ID, p); err != nil {
			refused["note"]++
			if !strings.Contains(err.Error(), "invalid") {
				t.Errorf("%s note: %v", h.ID, err)
			}
		}
		if _, err := s.rt.Tag(ctx, admin, c.ID, p, true); err != nil {
			refused["tag"]++
			if !strings.Contains(err.Error(), "invalid") {
				t.Errorf("%s tag: %v", h.ID, err)
			}
		}
		if _, err := s.rt.SaveQuickReply(ctx, admin, store.QuickReply{Scope: "global", Shortcut: fmt.Sprintf("h%d", i), Body: p}); err != nil {
			refused["quick reply"]++
			if !strings.Contains(err.Error(), "invalid") {
				t.Errorf("%s quick reply: %v", h.ID, err)
			}
		}
	}
	for i, c := range convs { // the names last, so each conversation shows one
		name := corpus[i*7%len(corpus)].Raw()
		if !utf8.ValidString(name) || utf8.RuneCountInString(name) > 200 {
			name = "<img src=x onerror=\"window.__xss=1\">"
		}
		if _, err := s.rt.UpdateContact(ctx, router.System, c.ContactID, router.ContactChanges{Name: &name}); err != nil {
			refused["contact name"]++
			if !strings.Contains(err.Error(), "invalid") {
				t.Errorf("name %q: %v", name, err)
			}
		}
	}
	t.Logf("refused as invalid (expected for NUL, empty, over-long): %v", refused)

	// 4. Render everything in Chromium.
	a := b.ctx
	s.signIn(t, a, "ana")
	pages := []string{s.url + "/inbox", s.url + "/inbox?status=all"}
	for _, c := range convs {
		pages = append(pages, fmt.Sprintf("%s/inbox/c/%d", s.url, c.ID))
	}
	for _, u := range pages {
		do(t, a, "open "+u, chromedp.Navigate(u), chromedp.WaitVisible(chromedp.CSS("#inbox")))
	}
	waitJS(t, a, "thread shows the inbound payloads", `document.querySelectorAll(".msg.in .body").length > 0`)
	time.Sleep(500 * time.Millisecond) // let any late handler (onerror, onload, ontoggle) fire
	if x := mustJS[int](t, a, `window.__xss`); x != 0 {
		t.Errorf("a payload ran: window.__xss = %d", x)
	}
	if csp := mustJS[[]string](t, a, `window.__csp`); len(csp) != 0 {
		t.Errorf("CSP violations: %v", csp)
	}
	if n := b.dialogs.Load(); n != 0 {
		t.Errorf("%d dialogs opened", n)
	}

	// 5. Still healthy.
	resp, err := http.Get(s.url + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("/healthz after the corpus: %s", resp.Status)
	}
	if err := s.db.IntegrityCheck(context.Background()); err != nil {
		t.Error(err)
	}
}
