package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/smsgw/smsgw/modem"
)

func cmdAT(ctx context.Context, e env, args []string) int {
	return runAT(ctx, e, args, os.Stdin)
}

// atStep is one command of a batch, with the PDU to send at its "> " prompt.
type atStep struct {
	cmd string
	pdu string
}

// needsPDU tells whether a command answers with the "> " prompt and wants a PDU.
func needsPDU(cmd string) bool {
	up := strings.ToUpper(strings.TrimSpace(cmd))
	return strings.HasPrefix(up, "AT+CMGS=") || strings.HasPrefix(up, "AT+CMGW=")
}

// parseATArgs turns the command-line commands into steps: AT+CMGS=n/AT+CMGW=n take the
// next argument as their PDU, and "AT+CMGS=n HEX" (what `smsgw pdu encode` prints) is
// split into both.
func parseATArgs(args []string) ([]atStep, error) {
	var steps []atStep
	for i := 0; i < len(args); i++ {
		a := strings.TrimSpace(args[i])
		if strings.ContainsAny(a, "\r\n\x1a\x1b") {
			return nil, fmt.Errorf("command %d %q contains a line break or control character; give one command per argument", i+1, clip(a, 40))
		}
		if len(a) < 2 || !strings.EqualFold(a[:2], "AT") {
			return nil, fmt.Errorf("%q is not an AT command (commands start with AT, e.g. 'AT+CSQ')", clip(a, 40))
		}
		if !needsPDU(a) {
			steps = append(steps, atStep{cmd: a})
			continue
		}
		if cmd, pdu, ok := strings.Cut(a, " "); ok && strings.TrimSpace(pdu) != "" {
			steps = append(steps, atStep{cmd: cmd, pdu: strings.TrimSpace(pdu)})
			continue
		}
		if i+1 >= len(args) {
			return nil, fmt.Errorf("%s needs the PDU as the next argument (see 'smsgw pdu encode')", a)
		}
		i++
		pdu := strings.TrimSpace(args[i])
		if hexOctets(pdu) <= 0 {
			return nil, fmt.Errorf("the argument after %s must be the PDU in hex, not %q", a, clip(pdu, 40))
		}
		steps = append(steps, atStep{cmd: a, pdu: pdu})
	}
	return steps, nil
}

// portEvent is a line from the modem, its "> " prompt, or the end of the port.
type portEvent struct {
	line   string
	prompt bool
	err    error
}

// readPort splits what the modem sends into lines and prompts until the port fails.
func readPort(r io.Reader, out chan<- portEvent) {
	buf := make([]byte, 512)
	var partial []byte
	for {
		n, err := r.Read(buf)
		for _, c := range buf[:n] {
			if c == '\r' || c == '\n' {
				if len(partial) > 0 {
					out <- portEvent{line: string(partial)}
					partial = partial[:0]
				}
				continue
			}
			partial = append(partial, c)
			if len(partial) >= maxLineLen {
				out <- portEvent{line: string(partial)}
				partial = partial[:0]
			}
		}
		if p := strings.TrimSpace(string(partial)); p == ">" {
			out <- portEvent{prompt: true}
			partial = partial[:0]
		}
		if err != nil || n == 0 {
			if len(partial) > 0 {
				out <- portEvent{line: string(partial)}
			}
			if err == nil {
				err = io.EOF
			}
			out <- portEvent{err: err}
			return
		}
	}
}

// isFinal classifies a final result line of a command.
func isFinal(line string) (final, failed bool) {
	switch {
	case line == "OK":
		return true, false
	case strings.HasPrefix(line, "CONNECT"):
		return true, false
	case strings.HasPrefix(line, "ERROR"), strings.HasPrefix(line, "+CME ERROR"), strings.HasPrefix(line, "+CMS ERROR"),
		line == "COMMAND NOT SUPPORT", line == "TOO MANY PARAMETERS",
		line == "NO CARRIER", line == "BUSY", line == "NO ANSWER", line == "NO DIALTONE":
		return true, true
	}
	return false, false
}

// console talks to one modem port, printing what it says and decoding PDUs inline.
type console struct {
	port    io.Writer
	events  <-chan portEvent
	out     io.Writer
	timeout time.Duration
	decode  bool
	hint    pduLine // the last line was a PDU header
	closed  error   // the port ended
}

// show prints one line from the modem; a PDU after a +CMGR/+CMGL/+CMT/+CDS header is
// decoded underneath, indented.
func (c *console) show(line string) {
	fmt.Fprintln(c.out, safeText(line, ""))
	if !c.decode {
		return
	}
	l := parsePDULine(line)
	hint := c.hint
	c.hint = pduLine{tpduLen: -1}
	switch {
	case l.kind == lineHeader && !strings.HasPrefix(strings.ToUpper(line), "AT"):
		c.hint = l
	case l.kind == linePDU && hint.kind == lineHeader:
		d, err := decodePDU(l.text, decodeOpts{smsc: "auto", tpduLen: hint.tpduLen, dir: hint.dir})
		if err != nil {
			fmt.Fprintf(c.out, "    (not a valid PDU: %v)\n", err)
			return
		}
		writeDecoded(c.out, d, "    ")
	}
}

// drain prints what arrives until d passes (or the port ends).
func (c *console) drain(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	for c.closed == nil {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			return
		case ev := <-c.events:
			c.handleIdle(ev)
		}
	}
}

// handleIdle prints an event that arrived while no command was running.
func (c *console) handleIdle(ev portEvent) {
	switch {
	case ev.err != nil:
		c.closed = ev.err
	case ev.prompt:
		fmt.Fprintln(c.out, "> ")
	default:
		c.show(ev.line)
	}
}

// errPortGone means the port closed or failed while a command ran.
var errPortGone = errors.New("the port closed")

// run sends one command and prints everything up to its final result. pdu supplies the
// PDU when the modem prompts with "> "; "" cancels with ESC. It reports whether the
// command failed (ERROR, +CME/+CMS ERROR, no answer).
func (c *console) run(ctx context.Context, cmd string, pdu func() (string, bool)) (failed bool, err error) {
	if c.closed != nil {
		return true, fmt.Errorf("%w: %v", errPortGone, c.closed)
	}
	if _, err := io.WriteString(c.port, cmd+"\r"); err != nil {
		return true, fmt.Errorf("write to the port: %w", err)
	}
	d := c.timeout
	t := time.NewTimer(d)
	defer t.Stop()
	echo, sentPDU := true, ""
	for {
		select {
		case <-ctx.Done():
			return true, ctx.Err()
		case <-t.C:
			fmt.Fprintf(c.out, "(no final result within %s; raise --timeout if the modem is slow)\n", d)
			if sentPDU == "" && needsPDU(cmd) {
				_, _ = io.WriteString(c.port, "\x1b") // leave the prompt
			}
			return true, nil
		case ev := <-c.events:
			switch {
			case ev.err != nil:
				c.closed = ev.err
				return true, fmt.Errorf("%w: %v", errPortGone, ev.err)
			case ev.prompt:
				if !needsPDU(cmd) || sentPDU != "" {
					fmt.Fprintln(c.out, "> ")
					continue
				}
				p, ok := pdu()
				if !ok || strings.TrimSpace(p) == "" {
					fmt.Fprintln(c.out, "> (cancelled with ESC)")
					_, _ = io.WriteString(c.port, "\x1b")
					sentPDU = "\x1b"
					continue
				}
				sentPDU = strings.Join(strings.Fields(p), "")
				fmt.Fprintf(c.out, "> %s<Ctrl-Z>\n", safeText(sentPDU, ""))
				if _, err := io.WriteString(c.port, sentPDU+"\x1a"); err != nil {
					return true, fmt.Errorf("write to the port: %w", err)
				}
				// The network takes seconds to accept an SMS.
				d = max(c.timeout, 60*time.Second)
				t.Reset(d)
			default:
				line := strings.TrimSpace(ev.line)
				if echo && strings.EqualFold(line, cmd) {
					echo = false
					continue
				}
				if sentPDU != "" && strings.EqualFold(strings.Trim(strings.TrimLeft(line, "> "), "\x1a"), sentPDU) {
					continue // the modem echoes the PDU too
				}
				echo = false
				c.show(line)
				if final, bad := isFinal(line); final {
					return bad, nil
				}
			}
		}
	}
}

func runAT(ctx context.Context, e env, args []string, stdin io.Reader) int {
	const examples = `  smsgw at --port /dev/ttyUSB2                       # interactive console
  smsgw at --port /dev/ttyUSB2 AT 'AT+CSQ' 'AT+CREG?' 'AT+COPS?'
  smsgw at --port /dev/ttyUSB2 AT+CMGF=0 AT+CMGL=4  # list stored SMS, decoded
  smsgw at --port /dev/ttyUSB2 AT+CMGF=0 "$(smsgw pdu encode --to +4915112345678 --text hi)"
  smsgw at --port /dev/ttyUSB2 AT+CMGF=0 AT+CMGS=18 0001000B914971451234F1000002E834
  smsgw at --port /dev/ttyUSB2 --wait 15s 'AT+CUSD=1,"*100#",15'
`
	fs := newFlagSet(e, "at", "at --port PATH [flags] [COMMAND ...]\n\n"+
		"Talks AT to a modem. With COMMANDs it runs them one by one and exits (1 if any\n"+
		"answered ERROR, +CME ERROR or +CMS ERROR, or did not answer). Without, it is an\n"+
		"interactive console on stdin/stdout: type one command per line; lines the modem\n"+
		"sends on its own are shown as they come. PDUs after +CMGR/+CMGL/+CMT/+CDS are\n"+
		"decoded underneath, indented. AT+CMGS=n and AT+CMGW=n take the PDU as the next\n"+
		"argument (or the next line typed at the '>' prompt; an empty line cancels).\n"+
		"A port held by a running gateway is refused unless --force is given.", examples)
	port := fs.String("port", "", "serial port of the modem, e.g. /dev/ttyUSB2 (required)")
	baud := fs.Int("baud", 115200, "port speed")
	timeout := fs.Duration("timeout", 10*time.Second, "how long to wait for each command's final result (AT+CMGS waits at least 60s after the PDU)")
	wait := fs.Duration("wait", 0, "after the last command, keep showing what the modem sends for this long (e.g. for +CUSD or +CMTI)")
	force := fs.Bool("force", false, "use the port even if a running smsgw holds it (both will misread each other's answers)")
	noDecode := fs.Bool("no-decode", false, "do not decode PDUs inline")
	if code, stop := parseFlags(fs, args); stop {
		return code
	}
	if *port == "" {
		fmt.Fprintln(e.stderr, "smsgw at: --port is required, e.g. --port /dev/ttyUSB2 (list modems with 'smsgw modems')")
		return 2
	}
	if *timeout <= 0 {
		fmt.Fprintln(e.stderr, "smsgw at: --timeout must be positive")
		return 2
	}
	steps, err := parseATArgs(fs.Args())
	if err != nil {
		fmt.Fprintf(e.stderr, "smsgw at: %v\n", err)
		return 2
	}
	if !*force {
		unlock, err := modem.LockPort(*port)
		if err != nil {
			fmt.Fprintf(e.stderr, "smsgw at: %v", err)
			if errors.Is(err, modem.ErrPortInUse) {
				fmt.Fprint(e.stderr, "; stop it or pass --force")
			}
			fmt.Fprintln(e.stderr)
			return 1
		}
		defer unlock()
	}
	rw, err := modem.OpenSerial(*port, *baud)
	if err != nil {
		fmt.Fprintf(e.stderr, "smsgw at: %v\n", err)
		fmt.Fprintln(e.stderr, "  check the path ('smsgw modems' lists modems) and that you may use it (group dialout)")
		return 1
	}
	events := make(chan portEvent, 256)
	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		readPort(rw, events)
	}()
	defer func() {
		_ = rw.Close()
		// Unblock the reader if the channel is full, then wait for it.
		for {
			select {
			case <-events:
			case <-readerDone:
				return
			case <-time.After(2 * time.Second):
				return
			}
		}
	}()
	c := &console{port: rw, events: events, out: e.stdout, timeout: *timeout, decode: !*noDecode}

	if len(steps) > 0 {
		code := 0
		for _, s := range steps {
			fmt.Fprintf(e.stdout, ">> %s\n", safeText(s.cmd, ""))
			pdu := s.pdu
			failed, err := c.run(ctx, s.cmd, func() (string, bool) { return pdu, pdu != "" })
			if failed {
				code = 1
			}
			if err != nil {
				fmt.Fprintf(e.stderr, "smsgw at: %s: %v\n", s.cmd, err)
				return 1
			}
		}
		if *wait > 0 {
			c.drain(ctx, *wait)
		}
		return code
	}
	return interactive(ctx, e, c, *port, stdin)
}

// interactive runs the console on stdin until EOF, "exit" or the port going away.
func interactive(ctx context.Context, e env, c *console, port string, stdin io.Reader) int {
	fmt.Fprintf(e.stderr, "Connected to %s. Type AT commands, one per line; 'exit' or Ctrl-D quits.\n"+
		"After AT+CMGS=n type the PDU hex at the '>' prompt (an empty line cancels).\n", port)
	lines := make(chan string)
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stdin)
		sc.Buffer(make([]byte, 0, 1024), maxLineLen)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			case <-stop:
				return
			}
		}
	}()
	next := func() (string, bool) {
		select {
		case l, ok := <-lines:
			return strings.TrimSpace(l), ok
		case <-ctx.Done():
			return "", false
		}
	}
	for {
		select {
		case <-ctx.Done():
			return 0
		case ev := <-c.events:
			c.handleIdle(ev)
			if c.closed != nil {
				fmt.Fprintf(e.stderr, "smsgw at: the port closed: %v\n", c.closed)
				return 1
			}
		case l, ok := <-lines:
			l = strings.TrimSpace(l)
			if !ok || strings.EqualFold(l, "exit") || strings.EqualFold(l, "quit") {
				c.drain(ctx, 200*time.Millisecond) // show what is still arriving
				return 0
			}
			if l == "" {
				continue
			}
			if strings.ContainsAny(l, "\x1a\x1b") {
				fmt.Fprintln(e.stderr, "smsgw at: control characters are not sent; type the command only")
				continue
			}
			if _, err := c.run(ctx, l, next); err != nil {
				fmt.Fprintf(e.stderr, "smsgw at: %v\n", err)
				if errors.Is(err, errPortGone) {
					return 1
				}
			}
		}
	}
}
