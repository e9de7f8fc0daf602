package sim

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/smsgw/smsgw/sms"
)

func TestControlAPI(t *testing.T) {
	dir := t.TempDir()
	pre := filepath.Join(dir, "preload.txt")
	pdu := mustPDU(t, nil, "+4915550010", "preloaded")
	line := "# a comment\nME 1 " + strings.ToUpper(sms.PDU{Bytes: pdu}.Hex()) + "\n"
	if err := os.WriteFile(pre, []byte(line), 0o644); err != nil {
		t.Fatal(err)
	}
	preload, err := ReadPreload(pre)
	if err != nil {
		t.Fatal(err)
	}
	f, err := Start(Config{Modems: 2, LinkDir: filepath.Join(dir, "links"), ControlAddr: "127.0.0.1:0",
		Latency: LatencyInstant(), Preload: preload})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := f.Close(); err != nil {
			t.Error(err)
		}
	})
	base := f.ControlURL()
	call := func(method, path, body string, wantCode int, out any) {
		t.Helper()
		req, err := http.NewRequest(method, base+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != wantCode {
			t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, b)
		}
		if out != nil {
			if err := json.NewDecoder(bytes.NewReader(b)).Decode(out); err != nil {
				t.Fatalf("%s %s: %v in %s", method, path, err, b)
			}
		}
	}
	var modems []Status
	call("GET", "/api/modems", "", 200, &modems)
	if len(modems) != 2 || modems[1].Identity.MSISDN != "+4915100000002" || !modems[0].Plugged ||
		modems[0].Path == "" || modems[0].Memories[1].Used != 1 {
		t.Fatalf("modems %+v", modems)
	}
	m0 := f.Modems[0]
	c := dial(t, m0.Link())
	c.expect("ATE0;+CMEE=1;+CNMI=2,1,0,0,0", "OK")
	call("POST", "/api/phones/+4915550011/send", `{"to":"+4915100000001","text":"via control"}`, 202, nil)
	if out, ok := c.readUntil(regexp.MustCompile(`\+CMTI: "SM",1\r\n`), 2*time.Second); !ok {
		t.Fatalf("no +CMTI: %q", out)
	}
	call("POST", "/api/modems/modem0/inject", `{"route":"cmt","pdu":"`+sms.PDU{Bytes: pdu}.Hex()+`"}`, 202, nil)
	if out, ok := c.readUntil(regexp.MustCompile(`\+CMT: ,\d+\r\n`+sms.PDU{Bytes: pdu}.Hex()+`\r\n`), 2*time.Second); !ok {
		t.Fatalf("no +CMT: %q", out)
	}
	var stored []StoredMessage
	call("GET", "/api/modems/modem0/storage/me", "", 200, &stored)
	if len(stored) != 1 || stored[0].Stat != StatRecRead {
		t.Errorf("ME storage %+v", stored)
	}
	// A message from modem0 to modem1 reaches modem1; the network records it.
	p := submitPDU(t, "+4915100000002", "modem to modem", sms.SubmitOptions{})
	if out := c.send(p, 0); !strings.Contains(out, "+CMGS: 0") {
		t.Fatalf("send: %q", out)
	}
	var subs []Submission
	call("GET", "/api/submissions", "", 200, &subs)
	if len(subs) != 1 || subs[0].PDU != "00"+p.Hex()[2:] && subs[0].PDU != p.Hex() || subs[0].Time.IsZero() {
		t.Errorf("submissions %+v", subs)
	}
	var msgs []SentMessage
	call("GET", "/api/messages", "", 200, &msgs)
	if len(msgs) != 1 || msgs[0].Text != "modem to modem" {
		t.Errorf("messages %+v", msgs)
	}
	if got := f.Modems[1].Messages("SM"); len(got) != 1 {
		t.Errorf("modem1 SM %+v", got)
	}
	call("PUT", "/api/modems/modem0/fault", `{"send_error":331,"send_error_count":1}`, 200, nil)
	if out := c.send(p, 0); !strings.Contains(out, "+CMS ERROR: 331") {
		t.Errorf("fault: %q", out)
	}
	call("DELETE", "/api/modems/modem0/fault", "", 200, nil)
	call("PUT", "/api/ussd", `{"code":"*111#","reply":"hello"}`, 200, nil)
	var st Status
	call("POST", "/api/modems/modem0/unplug", "", 200, &st)
	if st.Plugged || st.Path != "" {
		t.Errorf("after unplug %+v", st)
	}
	call("POST", "/api/modems/modem0/inject", `{"pdu":"`+sms.PDU{Bytes: pdu}.Hex()+`"}`, 409, nil)
	call("POST", "/api/modems/modem0/replug", "", 200, &st)
	if !st.Plugged || st.Path == "" || st.Path == modems[0].Path {
		t.Errorf("after replug %+v (was %s)", st, modems[0].Path)
	}
	if target, err := os.Readlink(m0.Link()); err != nil || target != st.Path {
		t.Errorf("link %q %v, want %q", target, err, st.Path)
	}
	call("GET", "/api/modems/nope", "", 404, nil)
	call("POST", "/api/phones/+49/send", `{"to":"nope","text":"x"}`, 400, nil)
	call("POST", "/api/phones/+49/send", `{"bogus":1}`, 400, nil)
	call("DELETE", "/api/submissions", "", 204, nil)
	call("GET", "/api/submissions", "", 200, &subs)
	if len(subs) != 0 {
		t.Errorf("after reset %+v", subs)
	}
}

func TestLongInboundOutOfOrder(t *testing.T) {
	n, ms := testNet(t, ModemConfig{})
	m := ms[0]
	text := strings.Repeat("0123456789", 40) // 3 parts
	if err := n.Phone("+4915550012").Send(m.Identity().MSISDN, text, SendOptions{Shuffle: true, Drop: []int{2}, Ref16: true}); err != nil {
		t.Fatal(err)
	}
	got := m.Messages("SM")
	if len(got) != 2 {
		t.Fatalf("stored %d parts, want 2", len(got))
	}
	seqs := map[int]bool{}
	for _, s := range got {
		msg, err := sms.Decode(s.PDU, sms.MT, true)
		if err != nil || msg.Concat == nil || !msg.Concat.Ref16 || msg.Concat.Total != 3 {
			t.Fatalf("part %+v %v", msg, err)
		}
		seqs[msg.Concat.Seq] = true
	}
	if !seqs[1] || !seqs[3] || seqs[2] {
		t.Errorf("parts %v, want 1 and 3", seqs)
	}
}
