package webui

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/smsgw/smsgw/router"
	"github.com/smsgw/smsgw/store"
)

const chromium = "/usr/bin/chromium"

// browser is one headless Chromium with a fresh profile.
type browser struct {
	t       *testing.T
	ctx     context.Context // the first tab; runs without a timeout
	dialogs atomic.Int64    // JavaScript dialogs that opened (alert, confirm, prompt)
}

func newBrowser(t *testing.T) *browser {
	t.Helper()
	if _, err := os.Stat(chromium); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("CI needs %s (scripts/test-deps installs it): %v", chromium, err)
		}
		t.Skipf("no %s; install Debian's chromium to run the browser tests", chromium)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromium),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-background-timer-throttling", true),
		chromedp.Flag("disable-renderer-backgrounding", true),
		chromedp.Flag("disable-backgrounding-occluded-windows", true),
		chromedp.Flag("metrics-recording-only", true),
		chromedp.Flag("password-store", "basic"),
		chromedp.Flag("lang", "en-US"),
		chromedp.WindowSize(1440, 900),
	}
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(alloc)
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
	})
	b := &browser{t: t, ctx: ctx}
	if err := chromedp.Do(ctx); err != nil { // starts the browser, without a timeout
		t.Fatalf("start chromium: %v", err)
	}
	b.prepare(ctx)
	return b
}

// tab opens a tab in a new browser context: its own cookies, like a second person.
func (b *browser) tab() context.Context {
	b.t.Helper()
	ctx, cancel := chromedp.NewContext(b.ctx, chromedp.WithNewBrowserContext())
	b.t.Cleanup(cancel)
	if err := chromedp.Do(ctx); err != nil {
		b.t.Fatalf("new browser context: %v", err)
	}
	b.prepare(ctx)
	return ctx
}

// prepare records CSP violations in every document and counts (and dismisses) every
// JavaScript dialog: an XSS payload that runs would open one or set window.__xss.
func (b *browser) prepare(ctx context.Context) {
	b.t.Helper()
	_, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{
		Source: `window.__xss = 0; window.__csp = [];
document.addEventListener("securitypolicyviolation", e => window.__csp.push(e.violatedDirective + " " + e.blockedURI));`,
	})
	if err != nil {
		b.t.Fatal(err)
	}
	dialogs := chromedp.Events(ctx, page.JavascriptDialogOpening)
	go func() {
		for ev, err := range dialogs {
			if err != nil {
				return
			}
			b.dialogs.Add(1)
			b.t.Logf("dialog opened: %s %q", ev.Type, ev.Message)
			_, _ = chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: false})
		}
	}()
}

// do runs steps with a bound.
func do(t *testing.T, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	c, cancel := context.WithTimeout(ctx, 25*time.Second)
	defer cancel()
	if err := chromedp.Do(c, steps...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// waitJS waits until a JavaScript expression is truthy.
func waitJS(t *testing.T, ctx context.Context, what, expr string) {
	t.Helper()
	c, cancel := context.WithTimeout(ctx, 25*time.Second)
	defer cancel()
	_, err := chromedp.Run(c, chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingInterval(50*time.Millisecond),
		chromedp.WithPollingTimeout(20*time.Second)))
	if err != nil {
		html, _ := evalJS[string](ctx, `document.body ? document.body.innerText.slice(0, 3000) : ""`)
		t.Fatalf("%s: waiting for %s: %v\npage text:\n%s", what, expr, err, html)
	}
}

func evalJS[T any](ctx context.Context, expr string) (T, error) {
	c, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	return chromedp.Run(c, chromedp.Evaluate[T](expr))
}

func mustJS[T any](t *testing.T, ctx context.Context, expr string) T {
	t.Helper()
	v, err := evalJS[T](ctx, expr)
	if err != nil {
		t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func (s *stack) signIn(t *testing.T, ctx context.Context, username string) {
	t.Helper()
	do(t, ctx, "sign in as "+username,
		chromedp.Navigate(s.url+"/login"),
		chromedp.WaitVisible(chromedp.CSS("#username")),
		chromedp.SendKeys(chromedp.CSS("#username"), username),
		chromedp.SendKeys(chromedp.CSS("#password"), testPassword),
		chromedp.Click(chromedp.CSS("#signin")),
		chromedp.WaitVisible(chromedp.CSS("#inbox")),
	)
	waitJS(t, ctx, "live stream of "+username, `document.body.classList.contains("live-on") && document.body.dataset.ready === "1"`)
}

func rowSel(id int64) string { return fmt.Sprintf(`#list a.row[data-id="%d"]`, id) }

func paneSel(id int64) string { return fmt.Sprintf(`#panes .conv[data-id="%d"]`, id) }

// TestBrowser drives the inbox in real headless Chromium: two people sign in, an SMS
// from a virtual phone appears live for both, one accepts and replies, the other sees
// both live, the virtual phone gets the reply, the composer's counter agrees with the
// server on the shared table, and hostile SMS bodies and contact names stay text.
func TestBrowser(t *testing.T) {
	b := newBrowser(t)
	start := time.Now()
	s := newStack(t, router.Permissions{DispatcherSeeOthers: router.SeeAll})
	s.user("ana", "Ana Lima", "dispatcher")
	s.user("ben", "Ben Okafor", "dispatcher")

	a := b.ctx
	bb := b.tab()
	s.signIn(t, a, "ana")
	s.signIn(t, bb, "ben")

	t.Run("counter agrees with sms.Count", func(t *testing.T) {
		cases := loadCountCases(t)
		texts := make([]string, len(cases))
		for i, c := range cases {
			texts[i] = c.Text
		}
		in, _ := json.Marshal(texts)
		out := mustJS[string](t, a, `JSON.stringify(`+string(in)+`.map(t => { const c = window.smsgwCount(t);
			return {encoding: c.encoding, characters: c.characters, segments: c.segments, units_left: c.unitsLeft, forcing: c.forcing}; }))`)
		var got []countCase
		if err := json.Unmarshal([]byte(out), &got); err != nil {
			t.Fatal(err)
		}
		for i, c := range cases {
			g := got[i]
			if !sameCount(g, c) {
				t.Errorf("%s: browser counts %+v, server %+v", c.Name, g, c)
			}
		}
	})

	const phone = "+12025550142"
	var conv store.ConversationItem
	t.Run("an SMS appears live for both", func(t *testing.T) {
		s.text(phone, "Hi, is the technician still coming today?")
		conv = s.waitConversation(phone)
		for _, ctx := range []context.Context{a, bb} {
			waitJS(t, ctx, "row appears", `document.querySelector(`+jsString(rowSel(conv.ID))+`)?.textContent.includes("technician")`)
		}
		waitJS(t, a, "unread badge", `Number(document.querySelector("#counts")?.dataset.unowned) >= 1`)
	})
	if conv.ID == 0 {
		t.FailNow()
	}

	t.Run("accept and reply; the other browser sees both; the phone gets the reply", func(t *testing.T) {
		do(t, bb, "ben opens it", chromedp.Click(chromedp.CSS(rowSel(conv.ID))),
			chromedp.WaitVisible(chromedp.CSS(paneSel(conv.ID)+" .js-accept")))
		do(t, a, "ana opens it", chromedp.Click(chromedp.CSS(rowSel(conv.ID))),
			chromedp.WaitVisible(chromedp.CSS(paneSel(conv.ID)+" .js-accept")))
		do(t, a, "ana accepts", chromedp.Click(chromedp.CSS(paneSel(conv.ID)+" .js-accept")))
		waitJS(t, a, "open for ana", `document.querySelector(`+jsString(paneSel(conv.ID)+" .conv-head")+`)?.dataset.status === "OPEN"`)
		waitJS(t, bb, "ben sees the accept", `document.querySelector(`+jsString(paneSel(conv.ID)+" .owner-name")+`)?.textContent === "Ana Lima"`)

		reply := "Yes! Ana here, the technician arrives at 10:30."
		do(t, a, "ana replies",
			chromedp.SendKeys(chromedp.CSS(paneSel(conv.ID)+" textarea.js-body"), reply),
			chromedp.Click(chromedp.CSS(paneSel(conv.ID)+" .js-send")))
		waitJS(t, bb, "ben sees the reply", `Array.from(document.querySelectorAll(`+jsString(paneSel(conv.ID)+" .msg.out .body")+
			`)).some(e => e.textContent === `+jsString(reply)+`)`)
		deadline := time.Now().Add(20 * time.Second)
		for {
			got := false
			for _, m := range s.farm.Network.Phone(phone).Inbox() {
				got = got || m.Text == reply
			}
			if got {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the virtual phone did not receive the reply: %+v", s.farm.Network.Phone(phone).Inbox())
			}
			time.Sleep(50 * time.Millisecond)
		}
		// Delivery shows up in the thread without a reload.
		waitJS(t, a, "delivery status", `["Sent", "Delivered"].includes(document.querySelector(`+
			jsString(paneSel(conv.ID)+" .msg.out .st")+`)?.textContent)`)
	})

	t.Run("composer counts and warns", func(t *testing.T) {
		sel := paneSel(conv.ID)
		do(t, a, "type unicode", chromedp.SendKeys(chromedp.CSS(sel+" textarea.js-body"), "Don’t worry – we’re close"))
		waitJS(t, a, "unicode warning", `!document.querySelector(`+jsString(sel+" .unicode")+`).hidden`)
		enc := mustJS[string](t, a, `document.querySelector(`+jsString(sel+" .cnt-enc")+`).textContent`)
		if !strings.Contains(enc, "UCS-2") {
			t.Errorf("encoding shown: %q", enc)
		}
		do(t, a, "replace look-alikes", chromedp.Click(chromedp.CSS(sel+" .js-fix")))
		val := mustJS[string](t, a, `document.querySelector(`+jsString(sel+" textarea.js-body")+`).value`)
		if val != "Don't worry - we're close" {
			t.Errorf("after replacing look-alikes: %q", val)
		}
		enc = mustJS[string](t, a, `document.querySelector(`+jsString(sel+" .cnt-enc")+`).textContent`)
		if enc != "GSM-7" {
			t.Errorf("encoding after the fix: %q", enc)
		}
		mustJS[bool](t, a, `(() => { const t = document.querySelector(`+jsString(sel+" textarea.js-body")+`); t.value = ""; t.dispatchEvent(new Event("input")); return true; })()`)
	})

	t.Run("hostile SMS bodies and names render as text", func(t *testing.T) {
		payloads := xssPayloads()
		var ids []int64
		for i, p := range payloads {
			num := fmt.Sprintf("+1202555%04d", 1000+i)
			s.text(num, p)
			c := s.waitConversation(num)
			ids = append(ids, c.ID)
			name := p
			if len([]rune(name)) > 100 {
				name = string([]rune(name)[:100])
			}
			if _, err := s.rt.UpdateContact(t.Context(), router.System, c.ContactID, router.ContactChanges{Name: &name}); err != nil {
				t.Logf("name %q refused: %v", name, err)
			}
			if _, err := s.rt.AddNote(t.Context(), router.Actor{UserID: 1, Role: "dispatcher"}, c.ID, "note: "+p); err != nil {
				t.Fatal(err)
			}
		}
		do(t, a, "reload the inbox", chromedp.Navigate(s.url+"/inbox"), chromedp.WaitVisible(chromedp.CSS("#inbox")))
		for i, id := range ids {
			do(t, a, "open hostile conversation", chromedp.Click(chromedp.CSS(rowSel(id))))
			waitJS(t, a, "thread shows the payload as text", `Array.from(document.querySelectorAll(`+jsString(paneSel(id)+" .msg.in .body")+
				`)).some(e => e.textContent === `+jsString(payloads[i])+`)`)
		}
		// And once more as a full server render of one conversation.
		do(t, a, "full render", chromedp.Navigate(fmt.Sprintf("%s/inbox/c/%d", s.url, ids[0])), chromedp.WaitVisible(chromedp.CSS("#inbox")))
		time.Sleep(300 * time.Millisecond) // let any late handler (onerror, onload) fire
		for _, ctx := range []context.Context{a, bb} {
			if x := mustJS[int](t, ctx, `window.__xss`); x != 0 {
				t.Errorf("a payload ran: window.__xss = %d", x)
			}
			if csp := mustJS[[]string](t, ctx, `window.__csp`); len(csp) != 0 {
				t.Errorf("CSP violations: %v", csp)
			}
		}
		if n := b.dialogs.Load(); n != 0 {
			t.Errorf("%d dialogs opened", n)
		}
	})

	t.Logf("browser tests took %s", time.Since(start).Round(time.Millisecond))
}

// xssPayloads are hostile texts: each would set window.__xss or open a dialog if it
// ever ran.
func xssPayloads() []string {
	return []string{
		`<script>window.__xss=1</script>`,
		`<img src=x onerror="window.__xss=1">`,
		`<svg onload="window.__xss=1"><circle r=1 /></svg>`,
		`"><script>alert(1)</script>`,
		`'><img src=x onerror=alert(1)>`,
		`<iframe srcdoc="<script>parent.__xss=1</script>"></iframe>`,
		`<a href="javascript:window.__xss=1">tap</a>`,
		`<details open ontoggle="window.__xss=1">x</details>`,
		`<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>`,
		`{{.}} ${alert(1)} <%= 1 %> #{1}`,
		"<style>body{display:none}</style>\u202eevil\u202c",
		`<body onload=alert(1)>`,
		`<input autofocus onfocus="window.__xss=1">`,
		`javascript:alert(document.domain)`,
		`<object data="data:text/html,<script>alert(1)</script>"></object>`,
	}
}

// TestScreenshots saves the pages the README shows (docs/screenshots), at a laptop
// and a phone size, from a gateway with a few realistic conversations. It runs only
// with SMSGW_SCREENSHOTS=1.
func TestScreenshots(t *testing.T) {
	if os.Getenv("SMSGW_SCREENSHOTS") == "" {
		t.Skip("set SMSGW_SCREENSHOTS=1 to refresh docs/screenshots")
	}
	b := newBrowser(t)
	s := newStackN(t, router.Permissions{DispatcherSeeOthers: router.SeeAll}, 2)
	ana := s.user("ana", "Ana Lima", "admin")
	ben := s.user("ben", "Ben Okafor", "dispatcher")
	ctx := context.Background()
	if err := s.rt.SetLine(ctx, router.System, store.Line{Name: s.farm.Modems[1].Name(), QueueID: store.DefaultQueueID}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.db.SaveSettings(ctx, map[string]string{"grace_window": "2d", "quiet_start": "21:00", "quiet_end": "07:00"},
		nil, "ana", time.Now().Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	asAna := router.Actor{UserID: ana.ID, Role: ana.Role}
	asBen := router.Actor{UserID: ben.ID, Role: ben.Role}
	seed := []struct{ from, name, text, tag string }{
		{"+12025550174", "Tom Becker", "Great job today, thank you!", ""},
		{"+12025550173", "", "Please stop the survey texts, but I still need my invoice", ""},
		{"+12025550172", "Oak Street Bakery", "The fridge is still making that noise 😕 can someone come back this week?", "warranty"},
		{"+12025550175", "Priya Shah", "Can I move my appointment to Friday morning?", "reschedule"},
		{"+12025550171", "Maria Gonzalez", "Hi! Could the technician come after 3pm instead? Thanks", "reschedule"},
	}
	var maria store.ConversationItem
	for _, sd := range seed {
		s.text(sd.from, sd.text)
		c := s.waitConversation(sd.from)
		if sd.name != "" {
			n := sd.name
			if _, err := s.rt.UpdateContact(ctx, router.System, c.ContactID, router.ContactChanges{Name: &n}); err != nil {
				t.Fatal(err)
			}
		}
		if sd.tag != "" {
			if _, err := s.rt.Tag(ctx, router.System, c.ID, sd.tag, true); err != nil {
				t.Fatal(err)
			}
		}
		maria = c
	}
	bakery := s.waitConversation("+12025550172")
	if _, err := s.rt.Accept(ctx, asBen, bakery.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.rt.Reply(ctx, asBen, bakery.ID, "Sorry to hear that! Ben here, I can send someone Thursday 9–11am."); err != nil {
		t.Fatal(err)
	}
	if _, err := s.rt.Accept(ctx, asAna, maria.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.rt.AddNote(ctx, asAna, maria.ID, "@ben can Luis take the 3pm slot on Elm St?"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.rt.Reply(ctx, asAna, maria.ID, "Hi Maria, let me check the schedule and get back to you in a few minutes."); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond)
	s.text("+12025550171", "Perfect, thank you so much!")
	time.Sleep(500 * time.Millisecond)

	a := b.ctx
	s.signIn(t, a, "ana")
	dir := filepath.Join("..", "docs", "screenshots")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	shot := func(name string) {
		time.Sleep(400 * time.Millisecond)
		mustJS[bool](t, a, `(document.querySelectorAll(".toast").forEach(e => e.remove()), true)`)
		buf, err := chromedp.Run(a, chromedp.CaptureScreenshot())
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), buf, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	do(t, a, "viewport", chromedp.EmulateViewport(1440, 900))
	do(t, a, "inbox", chromedp.Navigate(s.url+"/inbox"), chromedp.WaitVisible(chromedp.CSS("#inbox")))
	shot("inbox.png")
	do(t, a, "conversation", chromedp.Navigate(fmt.Sprintf("%s/inbox/c/%d", s.url, maria.ID)),
		chromedp.WaitVisible(chromedp.CSS(paneSel(maria.ID))))
	shot("conversation.png")
	do(t, a, "composer", chromedp.SendKeys(chromedp.CSS(paneSel(maria.ID)+" textarea.js-body"),
		"Good news: Luis can be there between 3 and 4pm. Reply “OK” to confirm – or call us if that doesn’t work."))
	shot("composer.png")
	do(t, a, "side by side", chromedp.Click(chromedp.CSS(paneSel(maria.ID)+" .js-beside")),
		chromedp.Click(chromedp.CSS(rowSel(bakery.ID))), chromedp.WaitVisible(chromedp.CSS(paneSel(bakery.ID))))
	shot("side-by-side.png")
	do(t, a, "settings", chromedp.Navigate(s.url+"/admin/settings"), chromedp.WaitVisible(chromedp.CSS("#settings-form")))
	shot("settings.png")
	do(t, a, "phone", chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2)),
		chromedp.Navigate(fmt.Sprintf("%s/inbox/c/%d", s.url, maria.ID)), chromedp.WaitVisible(chromedp.CSS(paneSel(maria.ID))))
	shot("phone.png")
}
