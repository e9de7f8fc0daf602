package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
)

// FuzzDecodeRequest pushes arbitrary bodies through the API's request decoder into
// every kind of request the REST API takes. It must never panic; every failure must be
// an *Error naming the problem (or the body limit); and whatever decodes must survive
// a re-encode and a second decode unchanged.
func FuzzDecodeRequest(f *testing.F) {
	for _, s := range []string{
		`{"to":"+4915112345678","body":"hi"}`,
		`{"messages":[{"to":"+4915112345678","body":"<script>alert(1)</script>","send_at":"2026-12-01T09:00:00Z"}]}`,
		`{"name":"'; DROP TABLE contacts; --","numbers":["+4915112345678"]}`,
		`{"scope":"personal","shortcut":"eta","body":"{{contact.name}} ${x}","fields":["eta"]}`,
		`{"body":"note","unknown":1}`,
		`{"ids":[1,2,3],"action":"resolve"}`,
		`{"to":1}`, `{"to":"x"} {"to":"y"}`, `[]`, `null`, ``, `{"body":"\ud800"}`, "{\"body\":\"\xff\xfe\"}",
		`{"priority":1e309}`, `{"priority":99999999999999999999}`,
	} {
		f.Add([]byte(s), uint8(0))
	}
	f.Fuzz(func(t *testing.T, body []byte, kind uint8) {
		targets := []func() any{
			func() any { return new(sendRequest) },
			func() any { return new(batchRequest) },
			func() any { return new(contactRequest) },
			func() any { return new(contactPatch) },
			func() any { return new(quickReplyRequest) },
			func() any { return new(replyRequest) },
			func() any { return new(noteRequest) },
			func() any { return new(bulkRequest) },
			func() any { return new(previewRequest) },
			func() any { return new(pduRequest) },
		}
		v := targets[int(kind)%len(targets)]()
		r := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
		err := decode(r, v)
		if err != nil {
			var e *Error
			var mb *http.MaxBytesError
			if !errors.As(err, &e) && !errors.As(err, &mb) {
				t.Fatalf("decode error %T %v is not an API error", err, err)
			}
			if e != nil && (e.Status < 400 || e.Status > 499 || e.Code == "") {
				t.Fatalf("decode error %+v", e)
			}
			return
		}
		again, err := json.Marshal(v)
		if err != nil {
			t.Fatalf("re-encode %T: %v", v, err)
		}
		w := targets[int(kind)%len(targets)]()
		if err := decode(httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(again)), w); err != nil {
			t.Fatalf("re-encoded %s does not decode: %v", again, err)
		}
		third, _ := json.Marshal(w)
		if !bytes.Equal(again, third) {
			t.Fatalf("decode is not stable:\n%s\n%s", again, third)
		}
	})
}
