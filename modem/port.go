package modem

import (
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"

	"go.bug.st/serial"
)

// ErrClosed means the session's port is closed.
var ErrClosed = errors.New("modem: port closed")

// Opener opens a serial port by path. Production uses OpenSerial; it is a parameter so
// a session can be pointed at anything that behaves like a port.
type Opener func(path string, baud int) (io.ReadWriteCloser, error)

// OpenSerial opens a serial port with go.bug.st/serial: 8N1, blocking reads with no read
// timeout (the AT reader must never see a zero-length read; see CONVENTIONS.md §10).
func OpenSerial(path string, baud int) (io.ReadWriteCloser, error) {
	p, err := serial.Open(path, &serial.Mode{BaudRate: baud, DataBits: 8, Parity: serial.NoParity, StopBits: serial.OneStopBit})
	if err != nil {
		return nil, fmt.Errorf("modem: open %s: %w", path, err)
	}
	return p, nil
}

// tracedPort records traffic in the trace and counts Ctrl-Z writes, which tell whether a
// PDU went out during an AT+CMGS that then failed.
type tracedPort struct {
	rw     io.ReadWriteCloser
	norm   normalizer
	trace  *Trace
	ctrlZ  atomic.Int64
	once   sync.Once
	closed chan struct{}
}

func newTracedPort(rw io.ReadWriteCloser, t *Trace) *tracedPort {
	return &tracedPort{rw: rw, trace: t, closed: make(chan struct{})}
}

func (p *tracedPort) Read(b []byte) (int, error) {
	n, err := p.norm.read(p.rw, b, p.trace)
	if err == nil && n == 0 {
		// Never hand a zero-length read to bufio.Scanner: after 100 of them it gives up
		// with io.ErrNoProgress and the AT closes. Treat it as the port going away.
		return 0, io.EOF
	}
	return n, err
}

func (p *tracedPort) Write(b []byte) (int, error) {
	select {
	case <-p.closed:
		return 0, ErrClosed
	default:
	}
	p.trace.record(0, b)
	for _, c := range b {
		if c == 0x1a {
			p.ctrlZ.Add(1)
		}
	}
	return p.rw.Write(b)
}

func (p *tracedPort) Close() error {
	var err error
	p.once.Do(func() {
		close(p.closed)
		err = p.rw.Close()
	})
	return err
}

// vendorFinals are final result lines some modems send instead of ERROR; the AT engine
// knows only the standard ones and would wait for a final result until it times out.
var vendorFinals = []string{"COMMAND NOT SUPPORT", "TOO MANY PARAMETERS"}

// normalizer rewrites vendor final results to ERROR as bytes pass. Bytes flow through at
// once except while the current line could still become one of vendorFinals; those few
// bytes are held until the line is decided, so a "> " prompt is never delayed.
type normalizer struct {
	line    []byte // bytes of the current line seen so far
	held    []byte // bytes held back (a prefix of a vendor final)
	pending []byte // output not yet returned to the reader
}

func (n *normalizer) read(r io.Reader, b []byte, t *Trace) (int, error) {
	for len(n.pending) == 0 {
		buf := make([]byte, len(b))
		k, err := r.Read(buf)
		if k > 0 {
			t.record(1, buf[:k])
			n.feed(buf[:k])
		}
		if err != nil || k == 0 {
			if len(n.pending) == 0 {
				return 0, err
			}
			break
		}
	}
	k := copy(b, n.pending)
	n.pending = n.pending[k:]
	return k, nil
}

func (n *normalizer) feed(in []byte) {
	for _, c := range in {
		if c == '\r' || c == '\n' {
			if len(n.held) > 0 {
				if isVendorFinal(string(n.held)) {
					n.pending = append(n.pending, "ERROR"...)
				} else {
					n.pending = append(n.pending, n.held...)
				}
				n.held = n.held[:0]
			}
			n.pending = append(n.pending, c)
			n.line = n.line[:0]
			continue
		}
		n.line = append(n.line, c)
		if len(n.held) > 0 || len(n.line) == 1 {
			n.held = append(n.held, c)
			if !isVendorFinalPrefix(string(n.line)) {
				n.pending = append(n.pending, n.held...)
				n.held = n.held[:0]
			}
			continue
		}
		n.pending = append(n.pending, c)
	}
}

func isVendorFinal(s string) bool {
	for _, v := range vendorFinals {
		if s == v {
			return true
		}
	}
	return false
}

func isVendorFinalPrefix(s string) bool {
	for _, v := range vendorFinals {
		if len(s) <= len(v) && v[:len(s)] == s {
			return true
		}
	}
	return false
}
