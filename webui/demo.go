package webui

import (
	"errors"
	"net/http"
	"strings"

	"github.com/smsgw/smsgw/auth"
	"github.com/smsgw/smsgw/modem/sim"
)

// The demo's virtual phones: only mounted when Options.Demo is set, so a person trying
// `smsgw demo` can text the gateway from the browser and see its replies arrive.

type demoModem struct{ Name, Number string }

type demoPhone struct {
	Number string
	Inbox  []sim.SentMessage
}

type demoData struct {
	Modems []demoModem
	Phones []demoPhone
	From   string
}

// DemoPhone is the virtual phone the demo page texts from unless told otherwise.
const DemoPhone = "+12025550199"

func (u *UI) demoPage(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	f := u.opts.Demo
	d := demoData{From: DemoPhone}
	if v := r.URL.Query().Get("from"); v != "" {
		d.From = v
	}
	for _, m := range f.Modems {
		d.Modems = append(d.Modems, demoModem{Name: m.Name(), Number: m.Identity().MSISDN})
	}
	numbers := f.Network.Phones()
	if len(numbers) == 0 {
		numbers = []string{DemoPhone}
	}
	for _, n := range numbers {
		inbox := f.Network.Phone(n).Inbox()
		// Newest first, at most 20.
		for i, j := 0, len(inbox)-1; i < j; i, j = i+1, j-1 {
			inbox[i], inbox[j] = inbox[j], inbox[i]
		}
		if len(inbox) > 20 {
			inbox = inbox[:20]
		}
		d.Phones = append(d.Phones, demoPhone{Number: n, Inbox: inbox})
	}
	u.render(w, r, "demo.html", u.base(r, p, "Virtual phones", "demo"), d)
	return nil
}

func (u *UI) demoPost(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	from := strings.TrimSpace(r.PostFormValue("from"))
	to := strings.TrimSpace(r.PostFormValue("to"))
	text := r.PostFormValue("text")
	if from == "" || to == "" || strings.TrimSpace(text) == "" {
		return errors.Join(errBadInput, errors.New("a virtual phone number, a modem and a text are needed"))
	}
	if err := u.opts.Demo.Network.Phone(from).Send(to, text, sim.SendOptions{}); err != nil {
		return errors.Join(errBadInput, err)
	}
	redirectBack(w, r, "/demo/phones?from="+urlQueryEscape(from), "Sent from "+from+" to "+to+".")
	return nil
}
