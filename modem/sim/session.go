package sim

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// Serve runs the AT engine on rw until ctx is done or reading fails. Start
// uses it on the pty master; tests and in-process users may pass any
// connection (for example one end of net.Pipe). Only one Serve or pty
// session should run per modem at a time.
func (m *Modem) Serve(ctx context.Context, rw io.ReadWriter) error {
	m.mu.Lock()
	m.plugged = true
	m.mu.Unlock()
	return m.serve(ctx, rw)
}

// prompt is the state of the "> " input mode of +CMGS/+CMGW.
type prompt struct {
	cmd    string // "+CMGS", "+CMGW"
	pdu    bool   // PDU mode: hex; text mode: text
	length int    // TPDU length announced (PDU mode)
	da     string // destination (text mode)
	stat   int    // +CMGW stat
	buf    []byte
	over   bool
}

// session is one connection of the AT engine.
type session struct {
	m      *Modem
	w      io.Writer
	ctx    context.Context
	dead   chan struct{} // closed when reading fails
	line   []byte
	over   bool
	prompt *prompt
	echo   []byte
	lastIn time.Time // when the last byte arrived
}

const maxPrompt = 4096

func (m *Modem) serve(ctx context.Context, rw io.ReadWriter) error {
	s := &session{m: m, w: rw, ctx: ctx, dead: make(chan struct{})}
	in := make(chan []byte, 16)
	var readErr error
	go func() {
		defer close(s.dead)
		buf := make([]byte, 1024)
		for {
			n, err := rw.Read(buf)
			if n > 0 {
				b := append([]byte(nil), buf[:n]...)
				select {
				case in <- b:
				case <-ctx.Done():
					return
				}
			}
			if err != nil {
				readErr = err
				return
			}
		}
	}()
	noise := s.noiseChan()
	for {
		s.flushURC()
		select {
		case <-ctx.Done():
			return nil
		case <-s.dead:
			if readErr == nil {
				return nil
			}
			return fmt.Errorf("sim: read: %w", readErr)
		case b := <-in:
			s.input(b)
		case <-m.wake:
		case <-noise:
			s.emitNoise()
			noise = s.noiseChan()
		}
	}
}

// noiseChan returns a channel that fires at the next random noise time
// (exponentially distributed around NoiseEvery), or after a second when
// there is nothing to emit, so that switching noise or garbage on is seen.
func (s *session) noiseChan() <-chan time.Time {
	m := s.m
	m.mu.Lock()
	defer m.mu.Unlock()
	if (len(m.pers.Noise) == 0 || !m.set.curc) && !m.fault.Garbage {
		// Re-check every second in case noise or garbage is switched on.
		return time.After(time.Second)
	}
	mean := m.pers.NoiseEvery
	d := time.Duration(m.rng.ExpFloat64() * float64(mean))
	if d > 4*mean {
		d = 4 * mean
	}
	return time.After(d)
}

func (s *session) emitNoise() {
	m := s.m
	if s.typing() {
		return
	}
	m.mu.Lock()
	var out []byte
	if len(m.pers.Noise) > 0 && m.set.curc && !m.fault.Hang {
		line := m.pers.Noise[m.rng.IntN(len(m.pers.Noise))]
		line = strings.Replace(line, "%d", strconv.Itoa(5+m.rng.IntN(26)), 1)
		out = append(out, "\r\n"+line+"\r\n"...)
	}
	if m.fault.Garbage {
		out = append(out, garbage(m.rng)...)
	}
	m.mu.Unlock()
	s.write(out)
}

// write sends bytes to the client; errors end the session through Read.
// Pending echo goes out first, in the same write.
func (s *session) write(b []byte) {
	if len(s.echo) > 0 {
		b = append(s.echo, b...)
		s.echo = nil
	}
	if len(b) == 0 {
		return
	}
	_, _ = s.w.Write(b)
}

func (s *session) writeString(str string) { s.write([]byte(str)) }

// flushEcho writes pending echo.
func (s *session) flushEcho() {
	if len(s.echo) > 0 {
		s.write(nil)
	}
}

// typing reports whether the client is in the middle of a command line or
// a prompt; indications wait until it is done (or has stalled for a second),
// as modems hold them while the link is "reserved".
func (s *session) typing() bool {
	return s.prompt != nil || (len(s.line) > 0 && time.Since(s.lastIn) < time.Second)
}

// flushURC writes queued indications unless the client is typing.
func (s *session) flushURC() {
	if s.typing() {
		return
	}
	m := s.m
	m.mu.Lock()
	lines := m.urc
	m.urc = nil
	verbose := m.set.verbose
	m.mu.Unlock()
	if len(lines) == 0 {
		return
	}
	var b strings.Builder
	for _, l := range lines {
		if verbose {
			b.WriteString("\r\n" + l + "\r\n")
		} else {
			b.WriteString(l + "\r\n")
		}
	}
	s.writeString(b.String())
}

// sleep waits d; it returns false when the session ends meanwhile.
func (s *session) sleep(d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-s.ctx.Done():
		return false
	case <-s.dead:
		return false
	}
}

// input processes bytes from the client.
func (s *session) input(b []byte) {
	m := s.m
	m.mu.Lock()
	hang, echo := m.fault.Hang, m.set.echo
	m.mu.Unlock()
	s.lastIn = time.Now()
	if hang {
		s.line, s.prompt = s.line[:0], nil
		return
	}
	for _, c := range b {
		if s.prompt != nil {
			s.promptByte(c, echo)
			continue
		}
		switch c {
		case '\r':
			if echo {
				s.echo = append(s.echo, c)
			}
			line, over := string(s.line), s.over
			s.line, s.over = s.line[:0], false
			s.execLine(line, over)
			m.mu.Lock()
			echo = m.set.echo
			hang = m.fault.Hang
			m.mu.Unlock()
			if hang {
				return
			}
		case '\n':
			if echo {
				s.echo = append(s.echo, c)
			}
		case 0x08, 0x7f:
			if echo {
				s.echo = append(s.echo, c)
			}
			if len(s.line) > 0 {
				s.line = s.line[:len(s.line)-1]
			}
		case 0x1b, 0x1a:
			// ESC or Ctrl-Z outside a prompt cancels the line.
			s.line, s.over = s.line[:0], false
		default:
			if echo {
				s.echo = append(s.echo, c)
			}
			if c < 0x20 {
				continue
			}
			if len(s.line) >= maxLine {
				s.over = true
				continue
			}
			s.line = append(s.line, c)
		}
	}
	s.flushEcho()
}

func (s *session) promptByte(c byte, echo bool) {
	p := s.prompt
	switch c {
	case 0x1a:
		s.flushEcho()
		s.prompt = nil
		s.finishPrompt(p)
	case 0x1b:
		s.flushEcho()
		s.prompt = nil
		s.respond(nil, "OK")
	case '\r':
		if !p.pdu {
			p.buf = append(p.buf, '\n')
			s.flushEcho()
			s.writeString("\r\n> ")
		}
	case '\n':
	case 0x08:
		if len(p.buf) > 0 {
			p.buf = p.buf[:len(p.buf)-1]
		}
	default:
		if echo {
			s.echo = append(s.echo, c)
		}
		if len(p.buf) >= maxPrompt {
			p.over = true
			return
		}
		p.buf = append(p.buf, c)
	}
}

// response is what a command produced.
type response struct {
	info   []string // information lines
	final  string   // "" = OK
	prompt *prompt  // enter "> " mode
	send   *sendJob // submit to the network (+CMSS)
}

func ok(info ...string) response { return response{info: info} }

// execLine runs one command line.
func (s *session) execLine(line string, over bool) {
	m := s.m
	rest, found := findAT(line)
	if !found {
		if strings.EqualFold(strings.TrimSpace(line), "A/") {
			m.mu.Lock()
			rest, found = m.lastLine, m.lastLine != ""
			m.mu.Unlock()
		}
		if !found {
			return // V.250: text without "AT" is ignored
		}
	}
	m.log.Debug("command", "line", redactPIN(line))
	m.mu.Lock()
	m.lastLine = rest
	delay := m.lat.Command.draw(m.rng) + time.Duration(m.fault.Delay)
	m.mu.Unlock()
	if over {
		s.finish(nil, "ERROR", delay)
		return
	}
	cmds, okSyntax := parseLine(rest)
	if !okSyntax {
		s.finish(nil, "ERROR", delay)
		return
	}
	var blocks [][]string
	final := ""
	for _, c := range cmds {
		m.mu.Lock()
		if sp, ok := m.lat.PerCommand[c.name]; ok {
			delay += sp.draw(m.rng)
		}
		m.mu.Unlock()
		r := s.exec(c)
		if len(r.info) > 0 {
			blocks = append(blocks, r.info)
		}
		if r.send != nil {
			if !s.sleep(delay) {
				return
			}
			delay = 0
			rr := s.runSend(r.send)
			if len(rr.info) > 0 {
				blocks = append(blocks, rr.info)
			}
			if rr.final != "" {
				final = rr.final
				break
			}
			continue
		}
		if r.prompt != nil {
			if !s.sleep(delay) {
				return
			}
			s.writeBlocks(blocks)
			s.prompt = r.prompt
			s.writeString("\r\n> ")
			return
		}
		if r.final != "" {
			final = r.final
			break
		}
	}
	if final == "" {
		final = "OK"
	}
	s.finish(blocks, final, delay)
	m.pump()
}

// finish waits delay and writes the answer.
func (s *session) finish(blocks [][]string, final string, delay time.Duration) {
	if !s.sleep(delay) {
		return
	}
	s.respondBlocks(blocks, final)
}

func (s *session) respond(info []string, final string) {
	var blocks [][]string
	if len(info) > 0 {
		blocks = append(blocks, info)
	}
	s.respondBlocks(blocks, final)
}

func (s *session) respondBlocks(blocks [][]string, final string) {
	m := s.m
	m.mu.Lock()
	mute, verbose, quiet := m.fault.Mute, m.set.verbose, m.set.quiet
	var out []byte
	if m.fault.Garbage {
		out = garbage(m.rng)
	}
	m.mu.Unlock()
	if !mute {
		out = append(out, formatBlocks(blocks, verbose)...)
		switch {
		case quiet || final == "":
		case verbose:
			out = append(out, "\r\n"+final+"\r\n"...)
		default:
			out = append(out, numericResult(final)+"\r"...)
		}
	}
	// One write, as a modem sends its answer in one burst.
	s.write(out)
}

func (s *session) writeBlocks(blocks [][]string) {
	m := s.m
	m.mu.Lock()
	verbose := m.set.verbose
	m.mu.Unlock()
	s.writeString(formatBlocks(blocks, verbose))
}

// formatBlocks frames information responses: "\r\n<lines>\r\n" per command.
func formatBlocks(blocks [][]string, verbose bool) string {
	var b strings.Builder
	for _, bl := range blocks {
		if verbose {
			b.WriteString("\r\n")
		}
		b.WriteString(strings.Join(bl, "\r\n"))
		b.WriteString("\r\n")
	}
	return b.String()
}

// numericResult maps verbose result codes to ATV0 digits.
func numericResult(final string) string {
	switch final {
	case "OK":
		return "0"
	case "CONNECT":
		return "1"
	case "RING":
		return "2"
	case "NO CARRIER":
		return "3"
	case "ERROR", "COMMAND NOT SUPPORT":
		return "4"
	case "NO DIALTONE":
		return "6"
	case "BUSY":
		return "7"
	case "NO ANSWER":
		return "8"
	}
	return final
}

// redactPIN hides the argument of +CPIN in logs.
func redactPIN(line string) string {
	if i := strings.Index(asciiUpper(line), "+CPIN="); i >= 0 {
		return line[:i+6] + "***"
	}
	return line
}

// asciiUpper upper-cases ASCII letters only, so byte offsets stay valid.
func asciiUpper(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'a' && c <= 'z' {
			b[i] = c - 'a' + 'A'
		}
	}
	return string(b)
}
