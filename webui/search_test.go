package webui

import (
	"net/url"
	"strings"
	"testing"

	"github.com/smsgw/smsgw/router"
)

// The inbox search finds conversations by words of their messages, not only by name or
// number.
func TestInboxSearchFindsMessageText(t *testing.T) {
	s := newStack(t, router.Permissions{})
	s.user("ana", "Ana Lima", "admin")
	s.text("+12025550177", "The boiler in the basement is leaking again")
	s.text("+12025550178", "Please reschedule my appointment")
	s.waitConversation("+12025550177")
	s.waitConversation("+12025550178")
	c := s.client()
	s.login(c, "ana")
	// Numbers are compared without the "+", which the page escapes as &#43;.
	for q, want := range map[string]string{"boiler leaking": "12025550177", "reschedule": "12025550178", "0177": "12025550177"} {
		resp, err := c.Get(s.url + "/ui/list?" + url.Values{"q": {q}}.Encode())
		if err != nil {
			t.Fatal(err)
		}
		body := readBody(t, resp)
		other := "12025550178"
		if want == other {
			other = "12025550177"
		}
		if !strings.Contains(body, want) || strings.Contains(body, other) {
			t.Errorf("search %q: want only %s in\n%s", q, want, body)
		}
	}
}
