package api

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/smsgw/smsgw/bench/hostile"
	"github.com/smsgw/smsgw/store"
)

// TestHostileCorpus pushes every entry of testdata/hostile/corpus.json through the
// REST API's text fields: contact name and custom field, message body (single and
// batch), conversation start, reply, note, tag and quick reply (shortcut and body).
// Nothing may answer 5xx (a SQL or template error would); what is accepted must come
// back exactly as sent (JSON turns invalid UTF-8 into U+FFFD before we see it); a
// refusal must be a 4xx with the error shape; and the server must still answer
// afterwards.
func TestHostileCorpus(t *testing.T) {
	corpus, err := hostile.Load()
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, false)
	tok := e.tok["admin"]
	type tally struct{ accepted, refused int }
	counts := map[string]*tally{}
	check := func(field string, r resp, ok int) bool {
		t.Helper()
		c := counts[field]
		if c == nil {
			c = &tally{}
			counts[field] = c
		}
		switch {
		case r.Status == ok:
			c.accepted++
			return true
		case r.Status >= 500:
			t.Errorf("%s: %d %s", field, r.Status, r.Body)
		case r.Status >= 400 && r.errCode() != "":
			if c.refused == 0 {
				t.Logf("%s: first refusal: %d %s", field, r.Status, r.Body)
			}
			c.refused++
		default:
			t.Errorf("%s: unexpected %d %s", field, r.Status, r.Body)
		}
		return false
	}
	same := func(field, got, want, id string) {
		t.Helper()
		if got != want {
			t.Errorf("%s %s: stored %q, sent %q", id, field, got, want)
		}
	}
	sendable := make([]bool, len(corpus))
	for i, h := range corpus {
		p := h.AfterJSON()
		num := fmt.Sprintf("+1202556%04d", i)

		// Contact name.
		r := e.do("POST", "/api/v1/contacts", tok, map[string]any{"name": h.Raw(), "numbers": []string{num}})
		var c store.Contact
		if check("contact.name", r, http.StatusCreated) {
			r.json(t, &c)
			var got store.Contact
			e.do("GET", "/api/v1/contacts/"+itos(c.ID), tok, nil).json(t, &got)
			// Names are stored without surrounding white space (Unicode white space
			// included); everything else must be exactly as sent.
			same("contact name", got.Name, strings.TrimSpace(p), h.ID)
		} else {
			r = e.do("POST", "/api/v1/contacts", tok, map[string]any{"name": "hostile " + h.ID, "numbers": []string{num}})
			if r.Status != http.StatusCreated {
				t.Fatalf("plain contact: %d %s", r.Status, r.Body)
			}
			r.json(t, &c)
		}
		// Custom field.
		r = e.do("PATCH", "/api/v1/contacts/"+itos(c.ID), tok, map[string]any{"fields": map[string]string{"note": h.Raw()}})
		if check("contact.fields", r, http.StatusOK) {
			var got store.Contact
			e.do("GET", "/api/v1/contacts/"+itos(c.ID), tok, nil).json(t, &got)
			same("contact field", got.Fields["note"], p, h.ID)
		}
		// Message body.
		r = e.do("POST", "/api/v1/messages", tok, map[string]any{"to": num, "body": h.Raw(), "external_id": h.Raw()})
		if check("message.body", r, http.StatusAccepted) {
			sendable[i] = true
			var m store.Message
			r.json(t, &m)
			e.do("GET", "/api/v1/messages/"+m.UID, tok, nil).json(t, &m)
			same("message body", m.Body, p, h.ID)
			same("external id", m.ExternalID, p, h.ID)
		}
		// Start a conversation, then reply, note and tag in it.
		r = e.do("POST", "/api/v1/conversations", tok, map[string]any{"to": num, "line": lineName, "body": h.Raw()})
		var conv struct {
			Conversation struct {
				ID int64 `json:"id"`
			} `json:"conversation"`
		}
		if !check("conversation.start", r, http.StatusCreated) {
			r = e.do("POST", "/api/v1/conversations", tok, map[string]any{"to": num, "line": lineName, "body": "hello " + h.ID})
			if r.Status != http.StatusCreated {
				t.Fatalf("plain conversation: %d %s", r.Status, r.Body)
			}
		}
		r.json(t, &conv)
		cid := itos(conv.Conversation.ID)
		r = e.do("POST", "/api/v1/conversations/"+cid+"/messages", tok, map[string]any{"body": h.Raw(), "force": true})
		check("conversation.reply", r, http.StatusAccepted)
		r = e.do("POST", "/api/v1/conversations/"+cid+"/notes", tok, map[string]any{"body": h.Raw()})
		if check("note", r, http.StatusCreated) {
			var notes struct {
				Items []store.Note `json:"items"`
			}
			e.do("GET", "/api/v1/conversations/"+cid+"/notes", tok, nil).json(t, &notes)
			if len(notes.Items) == 0 {
				t.Errorf("%s: note not listed", h.ID)
			} else {
				same("note", notes.Items[0].Body, strings.TrimSpace(p), h.ID) // notes are trimmed too
			}
		}
		if tag := h.AfterJSON(); tag != "" && len(tag) < 2000 {
			r = e.do("PUT", "/api/v1/conversations/"+cid+"/tags/"+url.PathEscape(tag), tok, nil)
			check("tag", r, http.StatusOK)
		}
		// Quick reply: the payload as body, and as shortcut.
		r = e.do("POST", "/api/v1/quick-replies", tok, map[string]any{"scope": "personal", "shortcut": fmt.Sprintf("h%d", i), "body": h.Raw()})
		if check("quick_reply.body", r, http.StatusCreated) {
			var q store.QuickReply
			r.json(t, &q)
			same("quick reply", q.Body, p, h.ID)
		}
		r = e.do("POST", "/api/v1/quick-replies", tok, map[string]any{"scope": "personal", "shortcut": h.Raw(), "body": "x"})
		check("quick_reply.shortcut", r, http.StatusCreated)
	}
	// A batch with every payload as a body (in chunks of 500).
	// (Only the bodies the single send accepted: one refused body refuses the batch.)
	var batch []map[string]any
	for i, h := range corpus {
		if sendable[i] {
			batch = append(batch, map[string]any{"to": fmt.Sprintf("+1202557%04d", i), "body": h.Raw()})
		}
	}
	r := e.do("POST", "/api/v1/messages/batch", tok, map[string]any{"messages": batch})
	check("batch", r, http.StatusAccepted)
	// Tags and the contact search with every payload as the query.
	r = e.do("GET", "/api/v1/tags", tok, nil)
	check("tags", r, http.StatusOK)
	for _, h := range corpus {
		r = e.do("GET", "/api/v1/contacts?q="+url.QueryEscape(h.AfterJSON()), tok, nil)
		check("contacts.search", r, http.StatusOK)
		r = e.do("GET", "/api/v1/conversations?q="+url.QueryEscape(h.AfterJSON()), tok, nil)
		check("conversations.search", r, http.StatusOK)
	}
	// Still healthy.
	if r := e.do("GET", "/api/v1/me", tok, nil); r.Status != http.StatusOK {
		t.Errorf("after the corpus: /me %d %s", r.Status, r.Body)
	}
	if err := e.db.IntegrityCheck(t.Context()); err != nil {
		t.Error(err)
	}
	for f, c := range counts {
		t.Logf("%-22s accepted %3d, refused (4xx) %3d", f, c.accepted, c.refused)
	}
}
