package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/smsgw/smsgw/sms"
)

// runIn runs the pdu command in-process with stdin.
func runIn(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	e := env{stdout: &out, stderr: &errb, lookup: noEnv}
	if args[0] == "pdu" {
		code = runPDU(context.Background(), e, args[1:], strings.NewReader(stdin))
	} else {
		code = run(context.Background(), args, &out, &errb, noEnv)
	}
	return code, out.String(), errb.String()
}

func TestPDURoundTrip(t *testing.T) {
	const to = "+4915112345678"
	x152 := strings.Repeat("x", 152)
	cases := []struct {
		name     string
		text     string
		flags    []string
		parts    int
		encoding string
		refBits  int    // 0: single part
		ref      int    // expected reference of a long message
		part2    string // prefix part 2 must start with ("" = not checked)
		check    func(t *testing.T, p pduJSON)
	}{
		{name: "short gsm7", text: "Hello world", parts: 1, encoding: "gsm7"},
		{name: "euro at the segment boundary", text: x152 + "€" + strings.Repeat("y", 20), parts: 2, encoding: "gsm7", refBits: 8, part2: "€yyy"},
		{name: "brace at the segment boundary", text: x152 + "{" + strings.Repeat("y", 20), flags: []string{"--ref", "200"}, parts: 2, encoding: "gsm7", refBits: 8, ref: 200, part2: "{y"},
		{name: "emoji at the UCS-2 boundary", text: strings.Repeat("ä", 66) + "😁" + strings.Repeat("z", 10), parts: 2, encoding: "ucs2", refBits: 8, part2: "😁z"},
		{name: "16-bit reference", text: strings.Repeat("0123456789", 40), flags: []string{"--ref16", "--ref", "4660"}, parts: 3, encoding: "gsm7", refBits: 16, ref: 4660},
		{name: "forced ucs2", text: "plain", flags: []string{"--ucs2"}, parts: 1, encoding: "ucs2"},
		{name: "report, validity, smsc", text: "Technician arrives 10:30", flags: []string{"--report", "--validity", "2d", "--smsc", "+491720000000"}, parts: 1, encoding: "gsm7",
			check: func(t *testing.T, p pduJSON) {
				if p.StatusReportRequested == nil || !*p.StatusReportRequested {
					t.Error("status report not requested")
				}
				if p.Validity != (48 * time.Hour).String() {
					t.Errorf("validity %q, want 48h", p.Validity)
				}
				if p.SMSC != "+491720000000" {
					t.Errorf("smsc %q", p.SMSC)
				}
			}},
		{name: "newline and tab", text: "line1\nline2\ttab", parts: 1, encoding: "ucs2"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"pdu", "encode", "--to", to, "--text", tc.text, "--json"}, tc.flags...)
			code, out, errOut := runIn(t, "", args...)
			if code != 0 {
				t.Fatalf("encode exit %d: %s", code, errOut)
			}
			var enc encodeJSON
			if err := json.Unmarshal([]byte(out), &enc); err != nil {
				t.Fatalf("encode JSON: %v\n%s", err, out)
			}
			if len(enc.Parts) != tc.parts || enc.Encoding != tc.encoding {
				t.Fatalf("got %d parts %s, want %d %s", len(enc.Parts), enc.Encoding, tc.parts, tc.encoding)
			}
			// Count agrees with encode.
			code, out, _ = runIn(t, "", "pdu", "count", "--json", tc.text)
			var cnt countJSON
			if code != 0 || json.Unmarshal([]byte(out), &cnt) != nil {
				t.Fatalf("count exit %d: %s", code, out)
			}
			if !containsFlag(tc.flags, "--ucs2") && !containsFlag(tc.flags, "--ref16") && cnt.Segments != tc.parts {
				t.Errorf("count says %d segments, encode made %d", cnt.Segments, tc.parts)
			}
			// Decode each part on its own, with the hex only (SMSC field auto-detected).
			var text strings.Builder
			for i, p := range enc.Parts {
				code, out, errOut := runIn(t, "", "pdu", "decode", "--json", p.Hex)
				if code != 0 {
					t.Fatalf("decode part %d exit %d: %s", i+1, code, errOut)
				}
				var d pduJSON
				if err := json.Unmarshal([]byte(out), &d); err != nil {
					t.Fatal(err)
				}
				if d.Type != "SUBMIT" || d.Recipient == nil || d.Recipient.Number != to || d.Recipient.TONName != "international" {
					t.Errorf("part %d: type %s recipient %+v", i+1, d.Type, d.Recipient)
				}
				if d.TPDULength != p.TPDULength {
					t.Errorf("part %d: decoded TPDU length %d, encode said %d", i+1, d.TPDULength, p.TPDULength)
				}
				if d.Text == nil {
					t.Fatalf("part %d has no text", i+1)
				}
				if tc.refBits != 0 {
					c := d.Concat
					if c == nil || c.Total != tc.parts || c.Sequence != i+1 || c.ReferenceBits != tc.refBits || c.Reference != tc.ref {
						t.Errorf("part %d concat %+v, want %d/%d ref %d (%d-bit)", i+1, c, i+1, tc.parts, tc.ref, tc.refBits)
					}
				}
				if i == 1 && tc.part2 != "" && !strings.HasPrefix(*d.Text, tc.part2) {
					t.Errorf("part 2 starts %q, want %q", clip(*d.Text, 10), tc.part2)
				}
				if tc.check != nil {
					tc.check(t, d)
				}
				text.WriteString(*d.Text)
			}
			if text.String() != tc.text {
				t.Errorf("round trip text %q, want %q", text.String(), tc.text)
			}
			// The plain output piped into decode on stdin: AT+CMGS=n gives the hint.
			code, out, errOut = runIn(t, "", append([]string{"pdu", "encode", "--to", to, "--text", tc.text}, tc.flags...)...)
			if code != 0 {
				t.Fatalf("encode exit %d: %s", code, errOut)
			}
			code, out2, errOut := runIn(t, out, "pdu", "decode", "--json")
			if code != 0 {
				t.Fatalf("stdin decode exit %d: %s", code, errOut)
			}
			var all []pduJSON
			if err := json.Unmarshal([]byte(out2), &all); err != nil || len(all) != tc.parts {
				t.Fatalf("stdin decode gave %d results (%v): %s", len(all), err, out2)
			}
			for i, d := range all {
				if d.Line != i+1 || d.Type != "SUBMIT" || d.SMSCField == nil || !*d.SMSCField {
					t.Errorf("stdin result %d: %+v", i, d)
				}
			}
		})
	}
}

func containsFlag(flags []string, f string) bool {
	for _, x := range flags {
		if x == f {
			return true
		}
	}
	return false
}

func TestPDUDecodeStatusReportAndDeliver(t *testing.T) {
	zone := time.FixedZone("", 2*3600)
	scts := time.Date(2026, 11, 21, 10, 0, 0, 0, zone)
	discharge := time.Date(2026, 11, 21, 10, 0, 7, 0, zone)
	sr, err := sms.EncodeStatusReport(42, "+4915112345678", scts, discharge, 0x00, "+491720000000")
	if err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runIn(t, "", "pdu", "decode", "--json", sr.Hex())
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var d pduJSON
	if err := json.Unmarshal([]byte(out), &d); err != nil {
		t.Fatal(err)
	}
	r := d.StatusReport
	if d.Type != "STATUS-REPORT" || r == nil {
		t.Fatalf("got %s", out)
	}
	if r.MessageReference != 42 || r.Recipient.Number != "+4915112345678" || r.Status != 0 || r.Class != "delivered" ||
		r.ServiceCentreTime != "2026-11-21T10:00:00+02:00" || r.DischargeTime != "2026-11-21T10:00:07+02:00" || r.Meaning == "" {
		t.Errorf("status report %+v", r)
	}
	if d.SMSC != "+491720000000" {
		t.Errorf("smsc %q", d.SMSC)
	}
	// A failed report reads as failed, in the text form too.
	sr, err = sms.EncodeStatusReport(7, "+4915112345678", scts, discharge, 0x41, "")
	if err != nil {
		t.Fatal(err)
	}
	code, out, _ = runIn(t, "", "pdu", "decode", sr.Hex())
	if code != 0 || !strings.Contains(out, "STATUS-REPORT") || !strings.Contains(out, "0x41") || !strings.Contains(out, "failed") ||
		!strings.Contains(out, "2026-11-21 10:00:07 +02:00") {
		t.Errorf("text status report:\n%s", out)
	}

	// A DELIVER with its zone offset and a hostile text: escapes must not reach the terminal.
	parts, err := sms.EncodeDeliver("+4915112345678", "hi \x1b[31mred\u202e", sms.DeliverOptions{Time: scts})
	if err != nil {
		t.Fatal(err)
	}
	{
		code, out, _ = runIn(t, "", "pdu", "decode", parts[0].Hex())
		if code != 0 || strings.Contains(out, "\x1b") || strings.Contains(out, "\u202e") || !strings.Contains(out, `\x1b[31mred`) {
			t.Errorf("hostile text reached the output raw:\n%q", out)
		}
		if !strings.Contains(out, "2026-11-21 10:00:00 +02:00") || !strings.Contains(out, "DELIVER") {
			t.Errorf("deliver output:\n%s", out)
		}
	}

	// Port addressing (WAP push, 16-bit ports) in 8-bit data.
	const wap = "00440D91945111325476F8000462112211944540090605040B8423F06869"
	code, out, _ = runIn(t, "", "pdu", "decode", "--json", wap)
	if err := json.Unmarshal([]byte(out), &d); err != nil || code != 0 {
		t.Fatalf("exit %d: %s", code, out)
	}
	if d.Ports == nil || d.Ports.Destination != 2948 || d.Ports.Source != 9200 || d.DataHex != "6869" || d.Timestamp != "2026-11-22T11:49:54+01:00" {
		t.Errorf("ports PDU: %s", out)
	}
	// Without the SMSC field, and forced.
	code, out, errOut = runIn(t, "", "pdu", "decode", "--smsc=no", wap[2:])
	if code != 0 || !strings.Contains(out, "without SMSC field") {
		t.Errorf("--smsc=no: exit %d %s %s", code, out, errOut)
	}
	code, _, _ = runIn(t, "", "pdu", "decode", "--smsc=yes", wap[2:])
	if code != 1 {
		t.Errorf("--smsc=yes on a bare TPDU: exit %d, want 1", code)
	}
	// --submit refuses to read a DELIVER as one... unless it happens to parse.
	code, _, errOut = runIn(t, "", "pdu", "decode", "--submit", wap)
	if code != 1 || !strings.Contains(errOut, "MO (SUBMIT)") {
		t.Errorf("--submit on a DELIVER: exit %d %s", code, errOut)
	}
}

func TestPDUDecodeMalformed(t *testing.T) {
	good := "0001000D91945111325476F8000005C8329BFD06"
	cases := []struct {
		name, hex string
		want      []string
	}{
		{"odd length", good[:len(good)-1], []string{"odd number of hex digits"}},
		{"non-hex", "0001000D9194511G325476F8000005C8329BFD06", []string{"'G'", "position 16"}},
		{"truncated", good[:20], []string{"malformed PDU", "truncated", "at octet"}},
		{"UDL too long", strings.Replace(good, "000005C8", "0000FFC8", 1), []string{"TP-UDL", "bad length"}},
		{"trailing data", good + "0000", []string{"trailing data"}},
		{"address length", "0001002091945111325476F8000005C8329BFD06", []string{"malformed PDU", "at octet"}},
		{"only SMSC", "07", []string{"malformed PDU"}},
		{"reserved type", "03", []string{"malformed PDU"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := runIn(t, "", "pdu", "decode", tc.hex)
			if code != 1 {
				t.Errorf("exit %d, want 1; stdout %s", code, out)
			}
			for _, w := range tc.want {
				if !strings.Contains(errOut, w) {
					t.Errorf("error %q lacks %q", errOut, w)
				}
			}
			code, out, _ = runIn(t, "", "pdu", "decode", "--json", tc.hex)
			var j pduJSON
			if code != 1 || json.Unmarshal([]byte(out), &j) != nil || j.Error == "" || j.ErrorField == "" || j.ErrorOffset == nil {
				t.Errorf("--json: exit %d, %s", code, out)
			}
		})
	}
	// On stdin, a bad line does not stop the good ones, and the exit code tells.
	in := "# from a trace\n" + good + "\nnot hex at all\n\n+CMGL: 1,2,,19\n00" + good[2:] + "\n" + strings.Repeat("A", maxLineLen+10) + "\n"
	code, out, errOut := runIn(t, in, "pdu", "decode")
	if code != 1 || !strings.Contains(out, "Line 2:") || !strings.Contains(out, "Line 3: not hex at all") ||
		!strings.Contains(out, "Line 6:") || !strings.Contains(errOut, "longer than") {
		t.Errorf("stdin: exit %d\n%s\n%s", code, out, errOut)
	}
	// Usage errors.
	for _, args := range [][]string{{"pdu"}, {"pdu", "frob"}, {"pdu", "decode", "--smsc=maybe", good}, {"pdu", "decode", ""},
		{"pdu", "encode", "--text", "x"}, {"pdu", "encode", "--to", "+4915112345678"}, {"pdu", "encode", "--to", "12", "--text", "x"},
		{"pdu", "encode", "--to", "+4915112345678", "--text", "x", "--validity", "soon"}, {"pdu", "count"}} {
		if code, _, _ := runIn(t, "", args...); code != 2 {
			t.Errorf("%q: exit %d, want 2", args, code)
		}
	}
	if code, _, _ := runIn(t, "", "pdu", "decode"); code != 2 {
		t.Errorf("empty stdin: exit %d, want 2", code)
	}
}

func TestPDUCountAndHelp(t *testing.T) {
	code, out, _ := runIn(t, "", "pdu", "count", "Grüße {from} the €-team 👍")
	if code != 0 || !strings.Contains(out, "ucs2") || !strings.Contains(out, `"👍"`) || !strings.Contains(out, "Segments:          1") {
		t.Errorf("count:\n%s", out)
	}
	code, out, _ = runIn(t, "", "pdu", "count", strings.Repeat("€", 81))
	if code != 0 || !strings.Contains(out, "gsm7") || !strings.Contains(out, "Segments:          2") || !strings.Contains(out, "162 septets") {
		t.Errorf("count of extension characters:\n%s", out)
	}
	code, out, _ = runIn(t, "text from stdin\n", "pdu", "count", "--json", "-")
	var c countJSON
	if code != 0 || json.Unmarshal([]byte(out), &c) != nil || c.Characters != 15 || c.ForcingUCS2 == nil {
		t.Errorf("count stdin: %s", out)
	}
	for _, sub := range []string{"decode", "encode", "count"} {
		code, _, errOut := runIn(t, "", "pdu", sub, "--help")
		if code != 0 || !strings.Contains(errOut, "Examples:") {
			t.Errorf("pdu %s --help: exit %d\n%s", sub, code, errOut)
		}
	}
	if code, out, _ := runIn(t, "", "pdu", "--help"); code != 0 || !strings.Contains(out, "decode") {
		t.Errorf("pdu --help: %d %s", code, out)
	}
}

func TestParsePDULine(t *testing.T) {
	cases := []struct {
		in   string
		kind lineKind
		text string
		n    int
		dir  hintDir
	}{
		{"", lineSkip, "", -1, dirUnknown},
		{"  # comment", lineSkip, "", -1, dirUnknown},
		{"OK", lineSkip, "", -1, dirUnknown},
		{"+CSQ: 20,99", lineSkip, "", -1, dirUnknown},
		{"+CMGL: 3,1,,23", lineHeader, "", 23, dirMT},
		{"+CMGL: 3,2,,23", lineHeader, "", 23, dirMO},
		{"+CMGR: 0,,25", lineHeader, "", 25, dirMT},
		{`+CMT: "",24`, lineHeader, "", 24, dirMT},
		{"+CDS:25", lineHeader, "", 25, dirMT},
		{"AT+CMGS=19", lineHeader, "", 19, dirMO},
		{"AT+CMGS=19 0001AB", linePDU, "0001AB", 19, dirMO},
		{"> 0001AB\x1a", linePDU, "0001AB", -1, dirUnknown},
		{"0001AB^Z", linePDU, "0001AB", -1, dirUnknown},
		{`"00 01 ab"`, linePDU, "00 01 ab", -1, dirUnknown},
		{"0x0001", linePDU, "0001", -1, dirUnknown},
		{"\ufeff0001", linePDU, "0001", -1, dirUnknown},
	}
	for _, tc := range cases {
		l := parsePDULine(tc.in)
		if l.kind != tc.kind || l.text != tc.text || l.tpduLen != tc.n || l.dir != tc.dir {
			t.Errorf("parsePDULine(%q) = %+v, want kind %d text %q len %d dir %d", tc.in, l, tc.kind, tc.text, tc.n, tc.dir)
		}
	}
}

// FuzzPDULine feeds arbitrary lines through the line splitter and the decoder: they
// must never panic, and a line classified as a PDU keeps only text of the input.
func FuzzPDULine(f *testing.F) {
	for _, s := range []string{"", "+CMGL: 1,0,,23", "AT+CMGS=19 0001000D91945111325476F8000005C8329BFD06", "> 00\x1a",
		"0791947102000000040C9194715123456700006211221194454005C8329BFD06", "0x", `"`, "AT+CMGS=", "+CMGR:", "07FFFFFF"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		l := parsePDULine(s)
		if l.kind == linePDU && !strings.Contains(s, l.text) {
			t.Fatalf("PDU text %q is not from the input %q", l.text, s)
		}
		if l.tpduLen < -1 || l.tpduLen > 255 {
			t.Fatalf("tpdu length %d", l.tpduLen)
		}
		for _, smsc := range []string{"auto", "yes", "no"} {
			d, err := decodePDU(s, decodeOpts{smsc: smsc, tpduLen: l.tpduLen, dir: l.dir})
			if err == nil {
				var b bytes.Buffer
				writeDecoded(&b, d, "  ")
				_ = toJSON(d)
			} else if err.Error() == "" {
				t.Fatal("empty error")
			}
		}
		_ = safeText(s, "")
	})
}
