package router

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"unicode"

	"github.com/smsgw/smsgw/event"
	"github.com/smsgw/smsgw/store"
)

// keyword kinds
const (
	kwNone = ""
	kwOut  = "out"
	kwIn   = "in"
)

// matchKeyword reports whether body is an opt-out or opt-in keyword, and in which
// language. Only a message that is nothing but the keyword matches ("stop", "Stop!",
// " STOP "), so "please don't stop by" does not opt anyone out.
func (r *Router) matchKeyword(body string) (kind, lang string) {
	norm := normalizeKeyword(body)
	if norm == "" || len(norm) > 32 {
		return kwNone, ""
	}
	langs := make([]string, 0, len(r.cfg.Keywords))
	for l := range r.cfg.Keywords {
		langs = append(langs, l)
	}
	sort.Strings(langs) // deterministic when two languages share a word
	for _, l := range langs {
		k := r.cfg.Keywords[l]
		for _, w := range k.OptOut {
			if normalizeKeyword(w) == norm {
				return kwOut, l
			}
		}
		for _, w := range k.OptIn {
			if normalizeKeyword(w) == norm {
				return kwIn, l
			}
		}
	}
	return kwNone, ""
}

// normalizeKeyword upper-cases, trims and drops surrounding punctuation and symbols,
// and folds inner runs of spaces to one.
func normalizeKeyword(s string) string {
	s = strings.TrimFunc(s, func(c rune) bool { return unicode.IsSpace(c) || unicode.IsPunct(c) || unicode.IsSymbol(c) })
	return strings.ToUpper(strings.Join(strings.Fields(s), " "))
}

// applyKeyword records an opt-out or opt-in from an inbound message (T20) and notes
// the confirmation to send. A repeated STOP while opted out sends nothing again.
func (r *Router) applyKeyword(tx *store.Tx, em *emitter, c store.Contact, kind, lang, line, number string, msgID int64) error {
	now := r.now()
	optedOut := kind == kwOut
	if c.OptedOut == optedOut {
		return nil // already so: confirm only once
	}
	conf := store.Confirmation{Kind: kind, Key: fmt.Sprintf("opt%s:%d:%d", kind, c.ID, msgID), Line: line, Number: number}
	k := r.cfg.Keywords[lang]
	text := k.OptOutConfirmation
	if !optedOut {
		text = k.OptInConfirmation
	}
	if text == "" {
		conf = store.Confirmation{}
	}
	if err := tx.SetOptOut(c.ID, optedOut, lang, conf, now); err != nil {
		return err
	}
	c2, err := tx.Contact(c.ID)
	if err != nil {
		return err
	}
	typ := event.ContactOptedOut
	if !optedOut {
		typ = event.ContactOptedIn
	}
	em.emit(event.Event{Type: typ, Data: c2})
	return nil
}

// SendPendingConfirmations sends the opt-out/opt-in confirmations still owed. The
// idempotency key makes a retry after a crash harmless.
func (r *Router) SendPendingConfirmations(ctx context.Context) error {
	list, err := r.db.PendingConfirmations(ctx, 50)
	if err != nil {
		return err
	}
	for _, c := range list {
		k := r.cfg.Keywords[c.Language]
		text := k.OptOutConfirmation
		if c.ConfirmPending == kwIn {
			text = k.OptInConfirmation
		}
		if text != "" {
			if r.out == nil {
				return fmt.Errorf("router: no outbox to send the opt-%s confirmation", c.ConfirmPending)
			}
			var threadID int64
			if ths, err := r.db.ThreadsOfContact(ctx, c.ID); err == nil {
				for _, th := range ths {
					if th.Line == c.ConfirmLine {
						threadID = th.ID
					}
				}
			}
			if _, err := r.out.Send(ctx, Outgoing{To: c.ConfirmNumber, Line: c.ConfirmLine, Body: text, Kind: "automated",
				ThreadID: threadID, IdempotencyKey: c.ConfirmKey}); err != nil {
				return fmt.Errorf("router: send opt-%s confirmation: %w", c.ConfirmPending, err)
			}
		}
		if err := r.db.ConfirmationSent(ctx, c.ID, c.ConfirmKey); err != nil {
			return err
		}
	}
	return nil
}
