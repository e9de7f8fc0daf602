package webui

import (
	"slices"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/smsgw/smsgw/router"
	"github.com/smsgw/smsgw/store"
)

// TestBrowserComposer: in headless Chromium, "/" and a quick reply's shortcut insert
// it by keyboard alone; the line picker shows each line's modem state, and a reply
// sent from another line goes out through that line's virtual modem while staying in
// the same thread. The settings and integrations pages load without CSP violations.
func TestBrowserComposer(t *testing.T) {
	b := newBrowser(t)
	start := time.Now()
	s := newStackN(t, router.Permissions{DispatcherSeeOthers: router.SeeAll}, 2)
	s.user("ana", "Ana Lima", "dispatcher")
	s.user("ada", "Ada Admin", "admin")
	ctx := t.Context()
	m0, m1 := s.farm.Modems[0].Name(), s.farm.Modems[1]
	if err := s.rt.SetLine(ctx, router.System, store.Line{Name: m1.Name(), QueueID: store.DefaultQueueID}); err != nil {
		t.Fatal(err)
	}
	if err := s.rt.SetLine(ctx, router.System, store.Line{Name: "spare", QueueID: store.DefaultQueueID}); err != nil {
		t.Fatal(err)
	}
	const quick = "Our technician is on the way."
	if _, err := s.rt.SaveQuickReply(ctx, router.System, store.QuickReply{Scope: store.ScopeGlobal, Shortcut: "otw", Body: quick}); err != nil {
		t.Fatal(err)
	}
	const phone = "+12025550190"
	s.text(phone, "Where is the technician?")
	conv := s.waitConversation(phone)

	a := b.ctx
	s.signIn(t, a, "ana")
	sel := paneSel(conv.ID)
	do(t, a, "open the conversation", chromedp.Click(chromedp.CSS(rowSel(conv.ID))),
		chromedp.WaitVisible(chromedp.CSS(sel+" textarea.js-body")))

	t.Run("slash shortcut inserts a quick reply by keyboard", func(t *testing.T) {
		do(t, a, "type /ot", chromedp.SendKeys(chromedp.CSS(sel+" textarea.js-body"), "Hi! /ot"))
		waitJS(t, a, "suggestion", `document.querySelector(`+jsString(sel+" .qr-suggest li.active")+`)?.textContent.startsWith("/otw")`)
		do(t, a, "Tab inserts it", chromedp.KeyEvent(kb.Tab))
		waitJS(t, a, "inserted", `document.querySelector(`+jsString(sel+" textarea.js-body")+`).value === `+jsString("Hi! "+quick))
		if open := mustJS[bool](t, a, `!!document.querySelector(`+jsString(sel+" .qr-suggest")+`)`); open {
			t.Error("the suggestions stay open after inserting")
		}
		if focused := mustJS[bool](t, a, `document.activeElement === document.querySelector(`+jsString(sel+" textarea.js-body")+`)`); !focused {
			t.Error("the composer lost the focus")
		}
		do(t, a, "Escape closes the list", chromedp.SendKeys(chromedp.CSS(sel+" textarea.js-body"), " /o"))
		waitJS(t, a, "suggestion again", `!!document.querySelector(`+jsString(sel+" .qr-suggest li")+`)`)
		do(t, a, "Escape", chromedp.KeyEvent(kb.Escape))
		waitJS(t, a, "closed", `!document.querySelector(`+jsString(sel+" .qr-suggest")+`)`)
		mustJS[bool](t, a, `(() => { const t = document.querySelector(`+jsString(sel+" textarea.js-body")+`); t.value = ""; t.dispatchEvent(new Event("input")); return true; })()`)
	})

	t.Run("a reply from another line goes through its modem", func(t *testing.T) {
		opts := mustJS[[]string](t, a, `Array.from(document.querySelectorAll(`+jsString(sel+" select.js-line option")+`)).map(o => o.value + "|" + o.textContent)`)
		if len(opts) != 3 || opts[0] != m0+"|"+m0+" · ready" || !slices.Contains(opts, m1.Name()+"|"+m1.Name()+" · ready") ||
			!slices.Contains(opts, "spare|spare · not ready (no modem)") {
			t.Fatalf("line picker options %q", opts)
		}
		if v := mustJS[string](t, a, `document.querySelector(`+jsString(sel+" select.js-line")+`).value`); v != m0 {
			t.Fatalf("picker defaults to %q, want the thread's line %s", v, m0)
		}
		const reply = "Sent from the second SIM."
		do(t, a, "choose the other line and send",
			chromedp.SetValue(chromedp.CSS(sel+" select.js-line"), m1.Name()),
			chromedp.SendKeys(chromedp.CSS(sel+" textarea.js-body"), reply),
			chromedp.Click(chromedp.CSS(sel+" .js-send")))
		deadline := time.Now().Add(20 * time.Second)
		for {
			var from string
			for _, m := range s.farm.Network.Phone(phone).Inbox() {
				if m.Text == reply {
					from = m.From
				}
			}
			if from != "" {
				if from != m1.Identity().MSISDN {
					t.Fatalf("the reply came from %s, want the second modem %s", from, m1.Identity().MSISDN)
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the phone did not get the reply: %+v", s.farm.Network.Phone(phone).Inbox())
			}
			time.Sleep(50 * time.Millisecond)
		}
		msgs, err := s.rt.Messages(ctx, router.System, conv.ID, 0, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(msgs) < 2 || msgs[0].Body != reply || msgs[0].Line != m1.Name() {
			t.Fatalf("thread after the reply: %+v", msgs)
		}
		waitJS(t, a, "reply shown in the same thread", `Array.from(document.querySelectorAll(`+jsString(sel+" .msg.out .body")+
			`)).some(e => e.textContent === `+jsString(reply)+`)`)
	})

	t.Run("admin pages load clean", func(t *testing.T) {
		ad := b.tab()
		s.signIn(t, ad, "ada")
		for _, path := range []string{"/admin/settings", "/admin/integrations"} {
			do(t, ad, path, chromedp.Navigate(s.url+path), chromedp.WaitVisible(chromedp.CSS("h1")))
		}
		do(t, ad, "new template", chromedp.Click(chromedp.CSS("#template-form summary")),
			chromedp.SendKeys(chromedp.CSS("#template-form textarea.js-tpl-body"), "ETA {{job.eta}} for {{customer.first_name}}"))
		waitJS(t, ad, "live preview", `document.querySelector("#template-form .js-tpl-text").textContent === "ETA 14:30 for Alex"`)
		if csp := mustJS[[]string](t, ad, `window.__csp`); len(csp) != 0 {
			t.Errorf("CSP violations: %v", csp)
		}
	})
	if n := b.dialogs.Load(); n != 0 {
		t.Errorf("%d dialogs opened", n)
	}
	t.Logf("composer browser test took %s", time.Since(start).Round(time.Millisecond))
}
