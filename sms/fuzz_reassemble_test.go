package sms

import (
	"slices"
	"testing"
	"unicode/utf8"
)

// FuzzReassemble feeds Reassemble the decoded parts of arbitrary PDUs, as the inbound
// path does with what modems deliver: the input is a sequence of length-prefixed
// PDUs (SMSC field first). It must never panic, and an error must never come with text.
func FuzzReassemble(f *testing.F) {
	for _, text := range []string{
		"short",
		"x€y" + string(make([]byte, 0)),
		longGSM(),
		"Grüße 😁 " + longUCS2(),
	} {
		pdus, err := EncodeDeliver("+4915112345678", text, DeliverOptions{Ref: 7})
		if err != nil {
			f.Fatal(err)
		}
		var blob []byte
		for _, p := range pdus {
			blob = append(blob, byte(len(p.Bytes)))
			blob = append(blob, p.Bytes...)
		}
		f.Add(blob, false)
		f.Add(blob, true)
	}
	f.Fuzz(func(t *testing.T, blob []byte, reverse bool) {
		var parts []*Message
		for len(blob) > 0 {
			n := int(blob[0])
			blob = blob[1:]
			if n > len(blob) {
				n = len(blob)
			}
			m, err := Decode(blob[:n], MT, true)
			blob = blob[n:]
			if err != nil {
				continue
			}
			parts = append(parts, m)
		}
		if reverse {
			slices.Reverse(parts)
		}
		// As the inbound path does: order by sequence number when every part has one.
		sorted := slices.Clone(parts)
		ok := true
		for _, p := range sorted {
			if p.Concat == nil {
				ok = false
			}
		}
		if ok {
			slices.SortStableFunc(sorted, func(a, b *Message) int { return a.Concat.Seq - b.Concat.Seq })
		}
		text, err := Reassemble(sorted)
		if err != nil && text != "" {
			t.Fatalf("error %v with text %q", err, text)
		}
		if err == nil && !utf8.ValidString(text) {
			t.Fatalf("invalid UTF-8 from Reassemble: %q", text)
		}
	})
}

// FuzzReassembleRoundTrip encodes text as the SMS-DELIVER parts a phone would receive,
// decodes every part and reassembles them: the text must come back unchanged.
func FuzzReassembleRoundTrip(f *testing.F) {
	for _, s := range []string{"hello", "x€y", longGSM(), longUCS2(), "a😁b", "{{x}} <script>", "\r\n@$"} {
		f.Add(s, false, false)
		f.Add(s, true, true)
	}
	f.Fuzz(func(t *testing.T, text string, ucs2, ref16 bool) {
		if !utf8.ValidString(text) || text == "" {
			return
		}
		pdus, err := EncodeDeliver("+4915112345678", text, DeliverOptions{ForceUCS2: ucs2, Ref: 200, Ref16: ref16})
		if err != nil {
			return // too long or not encodable: the encoder says so
		}
		parts := make([]*Message, len(pdus))
		for i, p := range pdus {
			m, err := Decode(p.Bytes, MT, true)
			if err != nil {
				t.Fatalf("part %d of %q does not decode: %v", i+1, text, err)
			}
			parts[i] = m
		}
		got, err := Reassemble(parts)
		if err != nil {
			t.Fatalf("reassemble %q: %v", text, err)
		}
		if got != text {
			t.Fatalf("round trip changed the text:\n got %q\nwant %q", got, text)
		}
	})
}

func longGSM() string {
	s := ""
	for len(s) < 152 {
		s += "x"
	}
	return s + "€" + "yyyyyyyyyyyyyyyyyyyy"
}

func longUCS2() string {
	s := ""
	for range 66 {
		s += "ж"
	}
	return s + "😁" + "0123456789"
}
