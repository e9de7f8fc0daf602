// Package hostile loads the hostile-input corpus in testdata/hostile/corpus.json for the
// tests that push it through every entry point (API fields, inbound SMS body and sender
// id, contact names, tags, notes, quick replies, the web UI).
package hostile

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// Entry is one payload. Exactly one of Text, Hex and UCS2 is set in the file.
type Entry struct {
	ID    string `json:"id"`
	Class string `json:"class"`
	Text  string `json:"text,omitempty"`
	Hex   string `json:"hex,omitempty"`  // raw bytes, not valid UTF-8
	UCS2  string `json:"ucs2,omitempty"` // UTF-16 code units (big-endian hex) for a UCS-2 PDU
}

// Raw returns the payload's bytes as a Go string: the text, the raw bytes of a hex
// entry, or the UCS-2 units decoded as Go decodes UTF-16 (a lone surrogate becomes
// U+FFFD).
func (e Entry) Raw() string {
	switch {
	case e.Hex != "":
		b, _ := hex.DecodeString(e.Hex)
		return string(b)
	case e.UCS2 != "":
		return string(utf16.Decode(e.Units()))
	}
	return e.Text
}

// Units returns the UTF-16 code units of a UCS2 entry, or of the text otherwise.
func (e Entry) Units() []uint16 {
	if e.UCS2 == "" {
		return utf16.Encode([]rune(e.Raw()))
	}
	b, _ := hex.DecodeString(e.UCS2)
	u := make([]uint16, len(b)/2)
	for i := range u {
		u[i] = uint16(b[2*i])<<8 | uint16(b[2*i+1])
	}
	return u
}

// Valid reports whether the payload is valid UTF-8 (what JSON and SMS can carry
// unchanged).
func (e Entry) Valid() bool { return e.UCS2 == "" && utf8.ValidString(e.Raw()) }

// AfterJSON is what a JSON string holding the raw bytes decodes to in Go: each
// invalid byte becomes U+FFFD.
func (e Entry) AfterJSON() string {
	var b strings.Builder
	for _, r := range e.Raw() {
		b.WriteRune(r)
	}
	return b.String()
}

// Path returns the corpus file's path.
func Path() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "testdata", "hostile", "corpus.json")
}

// Load reads the corpus.
func Load() ([]Entry, error) {
	b, err := os.ReadFile(Path())
	if err != nil {
		return nil, fmt.Errorf("hostile: %w", err)
	}
	var es []Entry
	if err := json.Unmarshal(b, &es); err != nil {
		return nil, fmt.Errorf("hostile: %s: %w", Path(), err)
	}
	return es, nil
}
