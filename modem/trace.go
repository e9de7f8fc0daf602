package modem

import (
	"fmt"
	"io"
	"regexp"
	"strings"
	"sync"
	"time"
)

// TraceLine is one line of AT traffic.
type TraceLine struct {
	Time time.Time `json:"time"`
	// Dir is "tx" for what we wrote, "rx" for what the modem sent, "ev" for session events.
	Dir  string `json:"dir"`
	Text string `json:"text"`
}

// Trace keeps the last lines of AT traffic of one modem for bug reports. PINs are always
// masked; PDUs (which carry message bodies and numbers) are masked when RedactPDUs is set.
type Trace struct {
	mu         sync.Mutex
	lines      []TraceLine
	next       int
	full       bool
	redactPDUs bool
	partial    [2]strings.Builder // unfinished tx and rx lines
	now        func() time.Time
}

// NewTrace returns a ring buffer of n lines (0 disables tracing).
func NewTrace(n int, redactPDUs bool) *Trace {
	return &Trace{lines: make([]TraceLine, n), redactPDUs: redactPDUs, now: time.Now}
}

var (
	pinRE    = regexp.MustCompile(`(?i)(\+CPIN\s*=\s*)"?[0-9]*"?(\s*,\s*"?[0-9]*"?)?`)
	pduLenRE = regexp.MustCompile(`^[0-9A-Fa-f]{20,}$`)
)

func (t *Trace) redact(s string) string {
	s = pinRE.ReplaceAllString(s, `${1}"****"`)
	if t.redactPDUs {
		body, ctrlZ := strings.CutSuffix(s, " ^Z")
		if pduLenRE.MatchString(body) {
			s = fmt.Sprintf("<PDU %d octets redacted>", len(body)/2)
			if ctrlZ {
				s += " ^Z"
			}
		}
	}
	return s
}

// Event records a session event (opened, recovered, ...).
func (t *Trace) Event(format string, args ...any) {
	t.add("ev", fmt.Sprintf(format, args...))
}

func (t *Trace) add(dir, text string) {
	if t == nil || len(t.lines) == 0 {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.lines[t.next] = TraceLine{Time: t.now(), Dir: dir, Text: t.redact(text)}
	t.next = (t.next + 1) % len(t.lines)
	if t.next == 0 {
		t.full = true
	}
}

// record splits raw bytes into lines. Control characters other than CR/LF are shown as
// escapes so garbage on the line stays visible.
func (t *Trace) record(dir int, b []byte) {
	if t == nil || len(t.lines) == 0 {
		return
	}
	name := [2]string{"tx", "rx"}[dir]
	var done []string
	t.mu.Lock()
	p := &t.partial[dir]
	for _, c := range b {
		switch {
		case c == '\r' || c == '\n':
			if p.Len() > 0 {
				done = append(done, p.String())
				p.Reset()
			}
		case c == 0x1a:
			p.WriteString("^Z")
			done = append(done, p.String())
			p.Reset()
		case c == 0x1b:
			p.WriteString("<ESC>")
		case c < 0x20 || c >= 0x7f:
			fmt.Fprintf(p, "\\x%02x", c)
		default:
			p.WriteByte(c)
		}
		if p.Len() > 4096 {
			done = append(done, p.String()+"…")
			p.Reset()
		}
	}
	// A prompt "> " has no line end: show it at once.
	if dir == 1 && strings.TrimSpace(p.String()) == ">" {
		done = append(done, ">")
		p.Reset()
	}
	t.mu.Unlock()
	for _, l := range done {
		t.add(name, strings.TrimSuffix(l, "^Z")+map[bool]string{true: " ^Z", false: ""}[strings.HasSuffix(l, "^Z")])
	}
}

// Lines returns the buffered lines, oldest first.
func (t *Trace) Lines() []TraceLine {
	if t == nil {
		return nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.full {
		return append([]TraceLine(nil), t.lines[:t.next]...)
	}
	out := make([]TraceLine, 0, len(t.lines))
	out = append(out, t.lines[t.next:]...)
	return append(out, t.lines[:t.next]...)
}

// WriteTo writes the trace as text, one line each: time, direction, text.
func (t *Trace) WriteTo(w io.Writer) (int64, error) {
	var n int64
	for _, l := range t.Lines() {
		k, err := fmt.Fprintf(w, "%s %s %s\n", l.Time.UTC().Format("2006-01-02T15:04:05.000Z"), l.Dir, l.Text)
		n += int64(k)
		if err != nil {
			return n, err
		}
	}
	return n, nil
}
