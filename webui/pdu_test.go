package webui

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/smsgw/smsgw/router"
)

func TestDecodePDUText(t *testing.T) {
	cases := []struct {
		name, in, as string
		read, want   string // substrings of the reading and of the fields
		err          string
	}{
		{"deliver with SMSC", "07911326040000F0040B911346610089F60000208062917314080CC8F71D14969741F977FD07", "auto",
			"from a modem", "How are you?", ""},
		{"status report", "0006D60B911326880736F4111011719551401110117195714000", "mt",
			"from a modem", "0x00", ""},
		{"submit as gammu sends it", "0011000B916407281553F80000AA0AE8329BFD4697D9EC37", "mo",
			"sent to a modem", "hellohello", ""},
		{"garbage", "ZZ", "auto", "", "", "Not a valid PDU"},
		{"truncated", "07911326040000F0040B9113", "auto", "", "", "field"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			read, fields, errText := decodePDUText(tc.in, tc.as)
			if tc.err != "" {
				if !strings.Contains(errText, tc.err) {
					t.Fatalf("error %q, want %q", errText, tc.err)
				}
				return
			}
			var all []string
			for _, f := range fields {
				all = append(all, f.Name+"="+f.Value)
			}
			if errText != "" || !strings.Contains(read, tc.read) || !strings.Contains(strings.Join(all, "|"), tc.want) {
				t.Fatalf("read %q fields %v err %q", read, all, errText)
			}
		})
	}
}

func TestPDUPage(t *testing.T) {
	s := newStack(t, router.Permissions{})
	s.user("ana", "Ana Lima", "admin")
	c := s.client()
	s.login(c, "ana")
	// A DELIVER whose text is markup: it must come back escaped.
	pdu := "0791947101670000040B919471010000F00000621112014433400BBC0F9B6C0F9B6C0F9B6C"
	resp, err := c.Get(s.url + "/tools/pdu?" + url.Values{"pdu": {pdu}}.Encode())
	if err != nil {
		t.Fatal(err)
	}
	body := readBody(t, resp)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "Read as a PDU") {
		t.Fatalf("%s\n%s", resp.Status, body)
	}
	resp, err = c.Get(s.url + "/tools/pdu?" + url.Values{"pdu": {"<script>alert(1)</script>"}}.Encode())
	if err != nil {
		t.Fatal(err)
	}
	body = readBody(t, resp)
	if strings.Contains(body, "<script>alert(1)") || !strings.Contains(body, "Not a valid PDU") {
		t.Fatalf("hostile input not escaped or not refused:\n%s", body)
	}
	resp, err = s.client().Get(s.url + "/tools/pdu")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/login") {
		t.Fatalf("anonymous: %s %s", resp.Status, resp.Header.Get("Location"))
	}
}
