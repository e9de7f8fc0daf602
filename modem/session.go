package modem

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/warthog618/modem/at"

	"github.com/smsgw/smsgw/sms"
)

// Errors a session reports to callers.
var (
	// ErrNotReady means the modem is not connected and initialised right now.
	ErrNotReady = errors.New("modem: not ready")
	// ErrWrongPIN means the configured PIN was refused; it is never tried again.
	ErrWrongPIN = errors.New("modem: SIM PIN refused")
	// ErrSIMLocked means the SIM needs a PIN that is not configured, or a PUK.
	ErrSIMLocked = errors.New("modem: SIM locked")
	// ErrWrongModem means the port answered with another IMEI than the session's.
	ErrWrongModem = errors.New("modem: another modem is on this port")
)

// State is where a session is in its life.
type State string

// Session states.
const (
	StateConnecting State = "connecting"
	StateReady      State = "ready"
	StateRecovering State = "recovering"
	// StateAbsent: the port is gone; waiting for the modem to reappear on any port.
	StateAbsent State = "absent"
	// StateLocked: the SIM refused the PIN or needs a PUK; an operator must act.
	StateLocked  State = "sim-locked"
	StateStopped State = "stopped"
)

// Config configures one session.
type Config struct {
	// Name labels the modem in logs, metrics and the UI.
	Name string
	// Port is the first path to try (a stable symlink is best).
	Port string
	// IMEI is the identity to insist on; empty learns it at the first connect and
	// insists on it afterwards.
	IMEI string
	Baud int
	// PIN is entered once if the SIM asks for it.
	PIN string
	// SMSC is written with AT+CSCA when the SIM has none or another one.
	SMSC           string
	CommandTimeout time.Duration
	SendTimeout    time.Duration
	HealthInterval time.Duration
	SweepInterval  time.Duration
	// USSDTimeout bounds the wait for a network USSD answer.
	USSDTimeout time.Duration
	TraceLines  int
	RedactPDUs  bool
	// RejectCalls hangs up incoming calls (reported as events either way).
	RejectCalls bool
	// Open opens a port; nil means OpenSerial.
	Open Opener
	// Find lists candidate ports to search when the modem is gone from Port; nil means
	// only Port is tried again.
	Find func() []string
	// Claim reserves a port path for this session while it probes or holds it, so
	// sessions never write to each other's ports; nil means no coordination.
	Claim func(path string) (release func(), ok bool)
	// ReconnectMin and ReconnectMax bound the backoff between reconnect attempts.
	ReconnectMin, ReconnectMax time.Duration
	// QuietTime is how long the line must stay idle after a timed-out command before a
	// probe, so a late answer is not taken for the probe's.
	QuietTime time.Duration
}

func (c *Config) defaults() {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&c.CommandTimeout, 10*time.Second)
	def(&c.SendTimeout, 60*time.Second)
	def(&c.HealthInterval, 30*time.Second)
	def(&c.SweepInterval, time.Minute)
	def(&c.USSDTimeout, 30*time.Second)
	def(&c.ReconnectMin, 500*time.Millisecond)
	def(&c.ReconnectMax, 30*time.Second)
	def(&c.QuietTime, time.Second)
	if c.Baud <= 0 {
		c.Baud = 115200
	}
	if c.Open == nil {
		c.Open = OpenSerial
	}
}

// Inbound is one message read from a modem, handed over before it is deleted there.
type Inbound struct {
	Modem string // session name
	IMEI  string
	IMSI  string
	// Storage and Index locate it in the modem ("" and -1 for a direct +CMT/+CDS).
	Storage string
	Index   int
	// PDU is the SMSC field and the TPDU, exactly as read.
	PDU []byte
	// Report is true when it came as a status-report indication (+CDS/+CDSI) or from the
	// SR storage; the PDU's own type is authoritative.
	Report bool
}

// InboundHandler stores an inbound message durably and only then returns nil; the
// session deletes the message from the modem after that. An error leaves it in the
// modem for the next sweep.
type InboundHandler func(ctx context.Context, in Inbound) error

// Event is something that happened on a modem that is not a message.
type Event struct {
	Modem string
	Kind  string // "call", "state"
	From  string // caller for "call"
	State State  // new state for "state"
	Text  string
}

// Status is a snapshot of a session, cheap to read (never runs AT commands).
type Status struct {
	Name         string      `json:"name"`
	State        State       `json:"state"`
	Since        time.Time   `json:"since"`
	Port         string      `json:"port"`
	Manufacturer string      `json:"manufacturer"`
	Model        string      `json:"model"`
	Revision     string      `json:"revision"`
	IMEI         string      `json:"imei"`
	IMSI         string      `json:"imsi"`
	ICCID        string      `json:"iccid"`
	SMSC         string      `json:"smsc"`
	SignalDBm    int         `json:"signal_dbm"`
	RSSI         int         `json:"rssi"`
	Registration string      `json:"registration"`
	Registered   bool        `json:"registered"`
	Operator     string      `json:"operator"`
	Storage      []MemoryUse `json:"storage"`
	// StorageFull names storages that are full (new SMS cannot arrive there).
	StorageFull []string `json:"storage_full,omitempty"`
	// PINRetries is the remaining PIN attempts when known, else -1.
	PINRetries int       `json:"pin_retries"`
	LastError  string    `json:"last_error,omitempty"`
	Reconnects int       `json:"reconnects"`
	LastSeen   time.Time `json:"last_seen"`
}

// Session drives one physical modem: it connects, initialises, reads and deletes inbound
// messages, sends PDUs, polls health and recovers from faults, for as long as Run runs.
// It never takes the process down: every failure becomes a state and a retry.
type Session struct {
	cfg     Config
	log     *slog.Logger
	trace   *Trace
	handle  InboundHandler
	onEvent func(Event)
	metrics *Metrics

	mu        sync.Mutex
	status    Status
	conn      *conn
	pinTried  bool // the configured PIN was sent once; never again
	imei      string
	connected chan struct{} // closed and replaced on every transition to ready

	opMu   sync.Mutex // one multi-command operation at a time
	ussdMu sync.Mutex
}

// conn is one open port with its AT engine.
type conn struct {
	port    *tracedPort
	at      *at.AT
	path    string
	release func()
	notes   chan note
	ussd    chan string
	suspect chan struct{}
	cmms    bool
	mems    []string // readable storages
	// stalled is set when a command timed out: later commands fail at once instead of
	// each waiting its own timeout, so the probe runs within one timeout, not five.
	stalled atomic.Bool
}

type noteKind int

const (
	noteStored noteKind = iota // +CMTI/+CDSI: mem, index
	noteDirect                 // +CMT/+CDS with the PDU
	noteCall                   // RING/+CLIP
)

type note struct {
	kind   noteKind
	report bool
	mem    string
	index  int
	pdu    []byte
	from   string
}

// NewSession returns a session; Run starts it. handler receives inbound messages;
// onEvent (may be nil) receives calls and state changes; metrics may be nil.
func NewSession(cfg Config, log *slog.Logger, handler InboundHandler, onEvent func(Event), metrics *Metrics) *Session {
	cfg.defaults()
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if onEvent == nil {
		onEvent = func(Event) {}
	}
	s := &Session{
		cfg: cfg, log: log.With("modem", cfg.Name), trace: NewTrace(cfg.TraceLines, cfg.RedactPDUs),
		handle: handler, onEvent: onEvent, metrics: metrics, imei: cfg.IMEI,
		connected: make(chan struct{}),
	}
	s.status = Status{Name: cfg.Name, State: StateStopped, Since: time.Now(), Port: cfg.Port, PINRetries: -1, IMEI: cfg.IMEI}
	return s
}

// Name is the session's name.
func (s *Session) Name() string { return s.cfg.Name }

// Trace is the session's AT trace.
func (s *Session) Trace() *Trace { return s.trace }

// Status returns a snapshot.
func (s *Session) Status() Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.status
	st.Storage = append([]MemoryUse(nil), s.status.Storage...)
	st.StorageFull = append([]string(nil), s.status.StorageFull...)
	return st
}

func (s *Session) setState(st State, errText string) {
	s.mu.Lock()
	changed := s.status.State != st
	s.status.State = st
	if changed {
		s.status.Since = time.Now()
	}
	if errText != "" || st == StateReady {
		s.status.LastError = errText
	}
	if st == StateReady {
		close(s.connected)
		s.connected = make(chan struct{})
	}
	s.mu.Unlock()
	if changed {
		s.trace.Event("state %s %s", st, errText)
		s.log.Info("modem state", "state", string(st), "reason", errText)
		s.metrics.setUp(s.cfg.Name, st == StateReady)
		s.onEvent(Event{Modem: s.cfg.Name, Kind: "state", State: st, Text: errText})
	}
}

func (s *Session) update(fn func(*Status)) {
	s.mu.Lock()
	fn(&s.status)
	s.mu.Unlock()
}

// WaitReady blocks until the session is ready or ctx ends.
func (s *Session) WaitReady(ctx context.Context) error {
	for {
		s.mu.Lock()
		ready := s.status.State == StateReady && s.conn != nil
		ch := s.connected
		s.mu.Unlock()
		if ready {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("modem %s: %w: %w", s.cfg.Name, ErrNotReady, ctx.Err())
		case <-ch:
		}
	}
}

func (s *Session) current() (*conn, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conn == nil || s.status.State != StateReady {
		return nil, fmt.Errorf("modem %s: %w (%s)", s.cfg.Name, ErrNotReady, s.status.State)
	}
	return s.conn, nil
}

// Run keeps the modem connected until ctx is cancelled. It returns nil on cancel.
func (s *Session) Run(ctx context.Context) error {
	defer s.setState(StateStopped, "")
	backoff := s.cfg.ReconnectMin
	first := true
	for ctx.Err() == nil {
		if !first {
			s.update(func(st *Status) { st.Reconnects++ })
			s.metrics.reconnect(s.cfg.Name)
		}
		first = false
		c, err := safely(func() (*conn, error) { return s.connect(ctx) })
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			if errors.Is(err, ErrWrongPIN) || errors.Is(err, ErrSIMLocked) {
				s.setState(StateLocked, err.Error())
				<-ctx.Done() // an operator must act; retrying would burn PIN attempts
				return nil
			}
			s.log.Warn("connect failed", "error", err, "retry_in", backoff)
			if !sleep(ctx, jitter(backoff)) {
				return nil
			}
			backoff = min(backoff*2, s.cfg.ReconnectMax)
			continue
		}
		backoff = s.cfg.ReconnectMin
		_, err = safely(func() (*conn, error) { return nil, s.serve(ctx, c) })
		s.mu.Lock()
		s.conn = nil
		s.mu.Unlock()
		c.close()
		if ctx.Err() != nil {
			return nil
		}
		s.log.Warn("connection lost", "error", err)
		s.setState(StateRecovering, err.Error())
	}
	return nil
}

// safely runs fn and turns a panic into an error, so a bug met on one modem (a reply no
// test foresaw) costs a reconnect of that modem, never the process.
func safely(fn func() (*conn, error)) (c *conn, err error) {
	defer func() {
		if v := recover(); v != nil {
			c, err = nil, fmt.Errorf("modem: internal error (recovered): %v\n%s", v, debug.Stack())
		}
	}()
	return fn()
}

func (c *conn) close() {
	_ = c.port.Close()
	select {
	case <-c.at.Closed():
	case <-time.After(2 * time.Second):
	}
	if c.release != nil {
		c.release()
	}
}

func jitter(d time.Duration) time.Duration {
	return d/2 + time.Duration(rand.Int64N(int64(d)/2+1))
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// connect opens the modem at its last known port, or searches the candidate ports for
// its IMEI, and initialises it.
func (s *Session) connect(ctx context.Context) (*conn, error) {
	s.setState(StateConnecting, "")
	paths := []string{s.Status().Port}
	if s.cfg.Port != "" && s.cfg.Port != paths[0] {
		paths = append(paths, s.cfg.Port)
	}
	if s.cfg.Find != nil {
		paths = append(paths, s.cfg.Find()...)
	}
	seen := map[string]bool{}
	var errs []error
	for _, p := range paths {
		if p == "" || seen[p] {
			continue
		}
		seen[p] = true
		c, err := s.open(ctx, p)
		if err == nil {
			return c, nil
		}
		if errors.Is(err, ErrWrongPIN) || errors.Is(err, ErrSIMLocked) || ctx.Err() != nil {
			return nil, err
		}
		errs = append(errs, err)
	}
	if len(errs) == 0 {
		errs = append(errs, errors.New("no port to try"))
	}
	s.setState(StateAbsent, errors.Join(errs...).Error())
	return nil, errors.Join(errs...)
}

// open opens path, checks the IMEI and initialises the modem.
func (s *Session) open(ctx context.Context, path string) (*conn, error) {
	var release func()
	if s.cfg.Claim != nil {
		var ok bool
		if release, ok = s.cfg.Claim(path); !ok {
			return nil, fmt.Errorf("modem: %s is held by another session", path)
		}
	}
	rw, err := s.cfg.Open(path, s.cfg.Baud)
	if err != nil {
		if release != nil {
			release()
		}
		return nil, err
	}
	c := s.newConn(rw, path)
	c.release = release
	if err := s.init(ctx, c); err != nil {
		c.close()
		return nil, fmt.Errorf("modem: %s: %w", path, err)
	}
	s.mu.Lock()
	s.conn = c
	s.status.Port = path
	s.status.LastSeen = time.Now()
	s.mu.Unlock()
	s.trace.Event("connected on %s", path)
	s.setState(StateReady, "")
	return c, nil
}

func (s *Session) newConn(rw io.ReadWriteCloser, path string) *conn {
	c := &conn{
		port:    newTracedPort(rw, s.trace),
		path:    path,
		notes:   make(chan note, 64),
		ussd:    make(chan string, 4),
		suspect: make(chan struct{}, 1),
	}
	push := func(n note) {
		select {
		case c.notes <- n:
		case <-c.port.closed:
		case <-time.After(10 * time.Second):
			// Nobody is reading; the sweep finds stored messages anyway.
			s.log.Warn("dropped a modem notification", "kind", int(n.kind))
		}
	}
	stored := func(report bool) at.InfoHandler {
		return func(lines []string) {
			mem, idx, err := parseNotify(lines[0])
			if err != nil {
				s.log.Warn("bad indication", "line", lines[0], "error", err)
				return
			}
			push(note{kind: noteStored, report: report, mem: mem, index: idx})
		}
	}
	direct := func(report bool) at.InfoHandler {
		return func(lines []string) {
			pdu, err := parseDirect(lines[0], lines[1])
			if err != nil {
				s.log.Warn("bad direct delivery", "line", lines[0], "error", err)
				return
			}
			push(note{kind: noteDirect, report: report, pdu: pdu, index: -1})
		}
	}
	ignore := func([]string) {}
	opts := []at.Option{
		at.WithTimeout(s.cfg.CommandTimeout),
		at.WithIndication("+CMTI:", stored(false)),
		at.WithIndication("+CDSI:", stored(true)),
		at.WithIndication("+CMT:", direct(false), at.WithTrailingLine),
		at.WithIndication("+CDS:", direct(true), at.WithTrailingLine),
		at.WithIndication("+CUSD:", func(l []string) {
			select {
			case c.ussd <- l[0]:
			default:
			}
		}),
		at.WithIndication("RING", func([]string) { push(note{kind: noteCall}) }),
		at.WithIndication("+CLIP:", func(l []string) {
			f := splitFields(strings.TrimSpace(strings.TrimPrefix(l[0], "+CLIP:")))
			push(note{kind: noteCall, from: f[0]})
		}),
	}
	// Vendor status lines that arrive at any time (Huawei and others).
	for _, p := range []string{"^RSSI:", "^BOOT:", "^MODE:", "^SRVST:", "^SIMST:", "^HCSQ:", "^DSFLOWRPT:",
		"^RSSILVL:", "^HRSSILVL:", "^SYSSTART", "^STIN:", "^CEND:", "^ORIG:", "^CONF:", "^CONN:", "+QIND:",
		"*PSNWID:", "*PSUTTZ:", "DST:", "+CTZV:", "+PACSP", "+CPIN: READY", "SMS Ready", "Call Ready", "RDY"} {
		opts = append(opts, at.WithIndication(p, ignore))
	}
	c.at = at.New(c.port, opts...)
	return c
}

// timeout returns d, shortened to ctx's deadline.
func timeout(ctx context.Context, d time.Duration) time.Duration {
	if dl, ok := ctx.Deadline(); ok {
		if left := time.Until(dl); left < d {
			return max(left, time.Millisecond)
		}
	}
	return d
}

// cmd runs one AT command (without "AT") with the command timeout, recording metrics.
// A timeout marks the connection suspect so the serve loop probes it.
func (s *Session) cmd(ctx context.Context, c *conn, command string) ([]string, error) {
	return s.cmdTimeout(ctx, c, command, s.cfg.CommandTimeout)
}

func (s *Session) cmdTimeout(ctx context.Context, c *conn, command string, d time.Duration) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if c.stalled.Load() {
		return nil, fmt.Errorf("AT%s: %w (an earlier command timed out; waiting for the probe)", command, at.ErrDeadlineExceeded)
	}
	start := time.Now()
	info, err := c.at.Command(command, at.WithTimeout(timeout(ctx, d)))
	s.metrics.command(s.cfg.Name, cmdName(command), err, time.Since(start))
	if errors.Is(err, at.ErrDeadlineExceeded) {
		c.stalled.Store(true)
		c.markSuspect()
	}
	if err != nil {
		return info, fmt.Errorf("AT%s: %w", command, err)
	}
	s.update(func(st *Status) { st.LastSeen = time.Now() })
	return info, nil
}

func (c *conn) markSuspect() {
	select {
	case c.suspect <- struct{}{}:
	default:
	}
}

// cmdName is the command without parameters, a bounded metric label ("+CMGS").
func cmdName(command string) string {
	if i := strings.IndexAny(command, "=?"); i >= 0 {
		command = command[:i]
	}
	if len(command) > 12 {
		command = command[:12]
	}
	if command == "" {
		return "AT"
	}
	return command
}

// init brings a freshly opened modem into the state the session relies on.
func (s *Session) init(ctx context.Context, c *conn) error {
	c.at.Escape() // leave a half-finished PDU prompt from a previous life
	// The first commands may meet garbage or a modem still booting: try a few times.
	var err error
	for range 3 {
		if _, err = s.cmdTimeout(ctx, c, "E0", 3*time.Second); err == nil {
			break
		}
	}
	if err != nil {
		return fmt.Errorf("no answer to ATE0: %w", err)
	}
	if _, err := s.cmd(ctx, c, "+CMEE=1"); err != nil {
		s.log.Debug("modem refuses +CMEE=1", "error", err)
	}
	imei := parseIMEI(mustLines(s.cmd(ctx, c, "+CGSN")))
	if imei == "" {
		return errors.New("modem gave no IMEI (AT+CGSN)")
	}
	s.mu.Lock()
	want := s.imei
	s.mu.Unlock()
	if want != "" && imei != want {
		return fmt.Errorf("%w: IMEI %s, want %s", ErrWrongModem, imei, want)
	}
	s.mu.Lock()
	s.imei = imei
	s.mu.Unlock()
	manu := firstInfo(mustLines(s.cmd(ctx, c, "+CGMI")), "+CGMI:")
	model := firstInfo(mustLines(s.cmd(ctx, c, "+CGMM")), "+CGMM:")
	rev := firstInfo(mustLines(s.cmd(ctx, c, "+CGMR")), "+CGMR:")
	s.update(func(st *Status) { st.IMEI, st.Manufacturer, st.Model, st.Revision = imei, manu, model, rev })

	if err := s.unlockSIM(ctx, c); err != nil {
		return err
	}
	imsi := firstInfo(mustLines(s.cmd(ctx, c, "+CIMI")), "+CIMI:")
	iccid := ""
	for _, q := range []struct{ cmd, prefix string }{{"+CCID", "+CCID:"}, {"^ICCID?", "^ICCID:"}, {"+QCCID", "+QCCID:"}, {"+ICCID", "+ICCID:"}} {
		if lines, err := s.cmd(ctx, c, q.cmd); err == nil {
			for _, l := range lines {
				if rest, ok := strings.CutPrefix(l, q.prefix); ok {
					iccid = strings.Trim(strings.TrimSpace(rest), `"`)
				} else if isDigits(strings.TrimSpace(l)) {
					iccid = strings.TrimSpace(l)
				}
			}
			if iccid != "" {
				break
			}
		}
	}
	s.update(func(st *Status) { st.IMSI, st.ICCID = imsi, iccid })

	if _, err := s.cmd(ctx, c, "+CMGF=0"); err != nil {
		return fmt.Errorf("modem refuses PDU mode: %w", err)
	}
	if err := s.setupStorage(ctx, c); err != nil {
		return err
	}
	// Store-and-notify for SMS, status reports stored and notified (+CDSI); fall back to
	// direct status reports, then to no indications at all (the sweep still finds all).
	for _, cnmi := range []string{"+CNMI=2,1,0,2,0", "+CNMI=2,1,0,1,0", "+CNMI=1,1,0,2,0", "+CNMI=1,1,0,0,0"} {
		if _, err := s.cmd(ctx, c, cnmi); err == nil {
			break
		}
	}
	if err := s.checkSMSC(ctx, c, false); err != nil {
		s.log.Warn("SMSC not set; sends will fail until it is", "error", err)
	}
	if _, err := s.cmd(ctx, c, "+CMMS=0"); err == nil {
		c.cmms = true
	}
	if s.cfg.RejectCalls {
		_, _ = s.cmd(ctx, c, "+CLIP=1")
	}
	return nil
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if (s[i] < '0' || s[i] > '9') && s[i] != 'F' && s[i] != 'f' {
			return false
		}
	}
	return true
}

// mustLines drops the error of a query whose answer is optional.
func mustLines(lines []string, err error) []string {
	if err != nil {
		return nil
	}
	return lines
}

// unlockSIM enters the configured PIN once if the SIM asks for it. A refused PIN is
// never sent again by this session, whatever happens later.
func (s *Session) unlockSIM(ctx context.Context, c *conn) error {
	lines, err := s.cmd(ctx, c, "+CPIN?")
	if err != nil {
		var cme at.CMEError
		if errors.As(err, &cme) && (string(cme) == "10" || strings.Contains(strings.ToLower(string(cme)), "not inserted")) {
			return fmt.Errorf("%w: no SIM inserted", ErrSIMLocked)
		}
		return fmt.Errorf("SIM state unknown: %w", err)
	}
	code, _ := parseCPIN(lines)
	s.readPINRetries(ctx, c)
	switch code {
	case "READY":
		return nil
	case "SIM PIN":
		s.mu.Lock()
		tried := s.pinTried
		s.mu.Unlock()
		if s.cfg.PIN == "" {
			return fmt.Errorf("%w: the SIM needs a PIN and none is configured", ErrSIMLocked)
		}
		if tried {
			return fmt.Errorf("%w: the SIM still asks for its PIN after one attempt; not trying again", ErrWrongPIN)
		}
		s.mu.Lock()
		s.pinTried = true
		s.mu.Unlock()
		if _, err := s.cmd(ctx, c, `+CPIN="`+s.cfg.PIN+`"`); err != nil {
			s.readPINRetries(ctx, c)
			st := s.Status()
			return fmt.Errorf("%w (%v); %d attempts left", ErrWrongPIN, errors.Unwrap(err), st.PINRetries)
		}
		// SIMs take a moment after the PIN before SMS commands work.
		for range 20 {
			lines, err := s.cmd(ctx, c, "+CPIN?")
			if code, _ := parseCPIN(lines); err == nil && code == "READY" {
				s.readPINRetries(ctx, c)
				return nil
			}
			if !sleep(ctx, 250*time.Millisecond) {
				return ctx.Err()
			}
		}
		return errors.New("SIM not ready after the PIN was accepted")
	default:
		return fmt.Errorf("%w: the SIM asks for %q", ErrSIMLocked, code)
	}
}

func (s *Session) readPINRetries(ctx context.Context, c *conn) {
	for _, q := range []string{`+CPINR="SIM PIN"`, `+QPINC="SC"`, "+SPIC", "^CPIN?"} {
		if lines, err := s.cmd(ctx, c, q); err == nil {
			if n, ok := parsePINRetries(lines); ok {
				s.update(func(st *Status) { st.PINRetries = n })
				return
			}
		}
	}
}

// setupStorage learns the readable storages and prefers ME (larger) for new messages.
func (s *Session) setupStorage(ctx context.Context, c *conn) error {
	lines, err := s.cmd(ctx, c, "+CPMS=?")
	mems, perr := parseCPMSTest(lines)
	if err != nil || perr != nil || len(mems) == 0 {
		mems = []string{"SM"}
	}
	c.mems = nil
	for _, m := range mems {
		if m == "MT" || m == "BM" || m == "TA" {
			continue // MT aliases SM+ME (reading it would list messages twice); BM is cell broadcast
		}
		c.mems = append(c.mems, m)
	}
	pref := "SM"
	for _, m := range c.mems {
		if m == "ME" {
			pref = "ME"
		}
	}
	if _, err := s.cmd(ctx, c, fmt.Sprintf(`+CPMS="%s","%s","%s"`, pref, pref, pref)); err != nil {
		if _, err := s.cmd(ctx, c, fmt.Sprintf(`+CPMS="%s"`, pref)); err != nil {
			return fmt.Errorf("modem refuses message storage %s: %w", pref, err)
		}
	}
	return nil
}

// checkSMSC reads AT+CSCA? and writes the configured SMSC if the SIM has none or another.
// With repair set (after +CMS ERROR 330) it writes the configured or last known SMSC even
// if the SIM claims to have one, because the modem just said it does not know it.
func (s *Session) checkSMSC(ctx context.Context, c *conn, repair bool) error {
	lines, err := s.cmd(ctx, c, "+CSCA?")
	cur := ""
	if err == nil {
		cur, _ = parseCSCA(lines)
	}
	want := s.cfg.SMSC
	if want == "" && repair {
		want = s.Status().SMSC
	}
	if want == "" && repair {
		want = cur
	}
	if want != "" && (cur != want || repair) {
		if _, err := s.cmd(ctx, c, `+CSCA="`+want+`",`+tosca(want)); err != nil {
			return fmt.Errorf("write SMSC %s: %w", want, err)
		}
		cur = want
	}
	s.update(func(st *Status) { st.SMSC = cur })
	if cur == "" {
		return errors.New("the SIM has no SMSC and none is configured")
	}
	return nil
}

func tosca(number string) string {
	if strings.HasPrefix(number, "+") {
		return "145"
	}
	return "129"
}

// serve handles notifications, health polls and sweeps until the port fails or ctx ends.
func (s *Session) serve(ctx context.Context, c *conn) error {
	s.health(ctx, c)
	s.sweep(ctx, c)
	health := time.NewTicker(s.cfg.HealthInterval)
	defer health.Stop()
	sweep := time.NewTicker(s.cfg.SweepInterval)
	defer sweep.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-c.at.Closed():
			return errors.New("port closed (modem unplugged or reset)")
		case n := <-c.notes:
			s.handleNote(ctx, c, n)
		case <-health.C:
			s.health(ctx, c)
		case <-sweep.C:
			s.sweep(ctx, c)
		case <-c.suspect:
			if err := s.probe(ctx, c); err != nil {
				return err
			}
		}
	}
}

// probe checks a modem after a command timed out. It waits for the line to go quiet (so
// a late answer to the old command is not taken for the probe's), then sends AT. If
// that fails it asks the modem to restart, and the caller reopens the port.
func (s *Session) probe(ctx context.Context, c *conn) error {
	s.opMu.Lock()
	defer s.opMu.Unlock()
	s.setState(StateRecovering, "a command timed out")
	if !sleep(ctx, s.cfg.QuietTime) {
		return ctx.Err()
	}
	c.stalled.Store(false)
	for range 2 {
		if _, err := s.cmdTimeout(ctx, c, "", 5*time.Second); err == nil {
			// Alive again: drain the suspect flag set by the probe itself, re-init.
			select {
			case <-c.suspect:
			default:
			}
			if err := s.init(ctx, c); err != nil {
				return fmt.Errorf("re-init after timeout: %w", err)
			}
			s.setState(StateReady, "")
			return nil
		}
	}
	s.trace.Event("no answer to AT; resetting the modem")
	// The reset may re-enumerate the device under another name; the reopen path finds it.
	_, _ = c.at.Command("+CFUN=1,1", at.WithTimeout(2*time.Second))
	return errors.New("modem stopped answering")
}

// handleNote deals with one indication.
func (s *Session) handleNote(ctx context.Context, c *conn, n note) {
	switch n.kind {
	case noteStored:
		s.opMu.Lock()
		defer s.opMu.Unlock()
		if err := s.selectRead(ctx, c, n.mem); err != nil {
			s.log.Warn("select storage for notification", "storage", n.mem, "error", err)
			return
		}
		s.readStored(ctx, c, n.mem, n.index, n.report || n.mem == "SR")
	case noteDirect:
		in := s.inbound(n.mem, -1, n.pdu, n.report)
		err := s.deliver(ctx, in)
		s.opMu.Lock()
		// +CNMA acknowledges a direct delivery (27.005 §3.4.4); without it the network
		// retransmits. Only acknowledge what is stored.
		if err == nil {
			_, _ = s.cmd(ctx, c, "+CNMA")
		}
		s.opMu.Unlock()
	case noteCall:
		s.onEvent(Event{Modem: s.cfg.Name, Kind: "call", From: n.from})
		if s.cfg.RejectCalls {
			s.opMu.Lock()
			if _, err := s.cmd(ctx, c, "+CHUP"); err != nil {
				_, _ = s.cmd(ctx, c, "H")
			}
			s.opMu.Unlock()
		}
	}
}

func (s *Session) inbound(mem string, index int, pdu []byte, report bool) Inbound {
	st := s.Status()
	return Inbound{Modem: s.cfg.Name, IMEI: st.IMEI, IMSI: st.IMSI, Storage: mem, Index: index, PDU: pdu, Report: report}
}

// deliver hands a message to the handler with a bound on how long storing may take.
func (s *Session) deliver(ctx context.Context, in Inbound) error {
	hctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	err := s.handle(hctx, in)
	s.metrics.countReceived(s.cfg.Name, err)
	if err != nil {
		s.log.Error("could not store an inbound message; it stays on the modem", "storage", in.Storage, "index", in.Index, "error", err)
	}
	return err
}

// selectRead makes mem the storage AT+CMGR/+CMGL/+CMGD work on, keeping where new
// messages go.
func (s *Session) selectRead(ctx context.Context, c *conn, mem string) error {
	_, err := s.cmd(ctx, c, `+CPMS="`+mem+`"`)
	return err
}

// readStored reads one stored message, hands it over and deletes it once stored.
// Caller holds opMu and has selected mem.
func (s *Session) readStored(ctx context.Context, c *conn, mem string, index int, report bool) {
	lines, err := s.cmd(ctx, c, "+CMGR="+strconv.Itoa(index))
	if err != nil {
		s.log.Warn("read message", "storage", mem, "index", index, "error", err)
		return
	}
	msg, ok, err := parseCMGR(lines, index)
	if err != nil {
		s.log.Warn("unreadable stored message; left on the modem", "storage", mem, "index", index, "error", err)
		return
	}
	if !ok || msg.Stat > 1 {
		return // empty slot, or a stored outgoing message that is not ours to take
	}
	if err := s.deliver(ctx, s.inbound(mem, index, msg.PDU, report)); err != nil {
		return
	}
	if _, err := s.cmd(ctx, c, "+CMGD="+strconv.Itoa(index)); err != nil {
		s.log.Warn("delete stored message (the sweep tries again; the store dedupes)", "storage", mem, "index", index, "error", err)
	}
}

// sweep lists every storage and takes every received message, so nothing a missed or
// dropped notification left behind stays on the modem.
func (s *Session) sweep(ctx context.Context, c *conn) {
	s.opMu.Lock()
	defer s.opMu.Unlock()
	for _, mem := range c.mems {
		if err := s.selectRead(ctx, c, mem); err != nil {
			continue
		}
		lines, err := s.cmd(ctx, c, "+CMGL=4")
		if err != nil {
			s.log.Debug("list storage", "storage", mem, "error", err)
			continue
		}
		msgs, bad := parseCMGL(lines)
		for _, b := range bad {
			s.log.Warn("unparsable entry in storage listing", "storage", mem, "error", b)
		}
		for _, m := range msgs {
			if m.Stat > 1 {
				continue
			}
			if err := s.deliver(ctx, s.inbound(mem, m.Index, m.PDU, mem == "SR")); err != nil {
				continue
			}
			if _, err := s.cmd(ctx, c, "+CMGD="+strconv.Itoa(m.Index)); err != nil {
				s.log.Warn("delete swept message", "storage", mem, "index", m.Index, "error", err)
			}
		}
	}
	s.storageUse(ctx, c)
}

// health polls signal, registration, operator and storage use.
func (s *Session) health(ctx context.Context, c *conn) {
	s.opMu.Lock()
	defer s.opMu.Unlock()
	if lines, err := s.cmd(ctx, c, "+CSQ"); err == nil {
		if sig, err := parseCSQ(lines); err == nil {
			s.update(func(st *Status) { st.RSSI, st.SignalDBm = sig.RSSI, sig.DBm })
			s.metrics.signal(s.cfg.Name, sig.DBm)
		}
	}
	reg := RegUnknown
	if lines, err := s.cmd(ctx, c, "+CREG?"); err == nil {
		reg, _ = parseReg(lines, "+CREG:")
	}
	if !reg.Registered() {
		// LTE-only modems register for SMS in EPS (+CEREG), not in CS (+CREG).
		if lines, err := s.cmd(ctx, c, "+CEREG?"); err == nil {
			if r, err := parseReg(lines, "+CEREG:"); err == nil && r.Registered() {
				reg = r
			}
		}
	}
	op := ""
	if lines, err := s.cmd(ctx, c, "+COPS?"); err == nil {
		op, _ = parseCOPS(lines)
	}
	s.update(func(st *Status) { st.Registration, st.Registered, st.Operator = reg.String(), reg.Registered(), op })
	s.metrics.setRegistered(s.cfg.Name, reg.Registered())
	s.storageUse(ctx, c)
}

// storageUse reads AT+CPMS? and flags full storages. Caller holds opMu.
func (s *Session) storageUse(ctx context.Context, c *conn) {
	lines, err := s.cmd(ctx, c, "+CPMS?")
	if err != nil {
		return
	}
	use, err := parseCPMSQuery(lines)
	if err != nil {
		return
	}
	seen := map[string]bool{}
	var uniq []MemoryUse
	var full []string
	for _, u := range use {
		if seen[u.Name] {
			continue
		}
		seen[u.Name] = true
		uniq = append(uniq, u)
		if u.Total > 0 && u.Used >= u.Total {
			full = append(full, u.Name)
		}
		s.metrics.storage(s.cfg.Name, u)
	}
	s.update(func(st *Status) { st.Storage, st.StorageFull = uniq, full })
}

// Send submits one PDU with AT+CMGS and returns the message reference. more says that
// another part of the same message follows at once (AT+CMMS keeps the link up). Errors
// are *SendError (classified) or ErrNotReady (nothing was sent).
func (s *Session) Send(ctx context.Context, pdu sms.PDU, more bool) (int, error) {
	c, err := s.current()
	if err != nil {
		return 0, &SendError{Class: Temporary, Code: -1, Reason: err.Error(), Err: err}
	}
	s.opMu.Lock()
	defer s.opMu.Unlock()
	if c.stalled.Load() {
		err := fmt.Errorf("modem %s: %w: a command timed out and the modem is being probed", s.cfg.Name, ErrNotReady)
		return 0, &SendError{Class: Temporary, Code: -1, Reason: err.Error(), Err: err}
	}
	if c.cmms {
		mode := "0"
		if more {
			mode = "1"
		}
		_, _ = s.cmd(ctx, c, "+CMMS="+mode)
	}
	before := c.port.ctrlZ.Load()
	start := time.Now()
	info, err := c.at.SMSCommand("+CMGS="+strconv.Itoa(pdu.TPDULen), pdu.Hex(), at.WithTimeout(timeout(ctx, s.cfg.SendTimeout)))
	sent := c.port.ctrlZ.Load() > before
	s.metrics.command(s.cfg.Name, "+CMGS", err, time.Since(start))
	if err != nil {
		se := classifySend(err, sent)
		s.metrics.sendResult(s.cfg.Name, se.Class)
		if errors.Is(err, at.ErrDeadlineExceeded) {
			c.stalled.Store(true)
			c.markSuspect()
		}
		if se.Code == 330 {
			// SMSC unknown: the SIM lost its service-centre number; write it back so the
			// retry can work (smslib PR #12, gammu #195).
			if cerr := s.checkSMSC(ctx, c, true); cerr != nil {
				s.log.Warn("SMSC repair failed", "error", cerr)
			}
		}
		if se.Code == 331 {
			s.update(func(st *Status) { st.Registered = false; st.Registration = "not registered" })
		}
		return 0, se
	}
	mr, perr := parseCMGS(info)
	if perr != nil {
		// OK without +CMGS: the modem took it but gave no reference.
		se := &SendError{Class: Unknown, Code: -1, Reason: "no message reference in the answer", PDUSent: true, Err: perr}
		s.metrics.sendResult(s.cfg.Name, Unknown)
		return 0, se
	}
	s.metrics.sendResult(s.cfg.Name, 0)
	return mr, nil
}

// Command runs one raw AT command through the session's queue (for the AT console and
// diagnostics). The command is given without "AT".
func (s *Session) Command(ctx context.Context, command string) ([]string, error) {
	c, err := s.current()
	if err != nil {
		return nil, err
	}
	s.opMu.Lock()
	defer s.opMu.Unlock()
	return s.cmd(ctx, c, command)
}

// USSDReply is the network's answer to a USSD request.
type USSDReply struct {
	// Status: 0 no further action, 1 further action required, 2 terminated by network.
	Status int
	Text   string
	DCS    int
}

// USSD sends a USSD code (e.g. "*100#") and waits for the network's answer. A session
// the network leaves open is closed, so the next request starts fresh.
func (s *Session) USSD(ctx context.Context, code string) (USSDReply, error) {
	if code == "" || len(code) > 160 || strings.ContainsAny(code, "\"\r\n") {
		return USSDReply{}, fmt.Errorf("modem: USSD code %q is not valid", code)
	}
	c, err := s.current()
	if err != nil {
		return USSDReply{}, err
	}
	s.ussdMu.Lock()
	defer s.ussdMu.Unlock()
	for { // drop a stale answer from an earlier request
		select {
		case <-c.ussd:
			continue
		default:
		}
		break
	}
	s.opMu.Lock()
	_, err = s.cmd(ctx, c, `+CUSD=1,"`+code+`",15`)
	s.opMu.Unlock()
	if err != nil {
		return USSDReply{}, fmt.Errorf("modem: USSD %s: %w", code, err)
	}
	t := time.NewTimer(timeout(ctx, s.cfg.USSDTimeout))
	defer t.Stop()
	select {
	case <-ctx.Done():
		return USSDReply{}, ctx.Err()
	case <-t.C:
		s.opMu.Lock()
		_, _ = s.cmd(ctx, c, "+CUSD=2")
		s.opMu.Unlock()
		return USSDReply{}, fmt.Errorf("modem: USSD %s: no answer from the network within %s", code, s.cfg.USSDTimeout)
	case line := <-c.ussd:
		m, str, dcs, err := parseCUSD(line)
		if err != nil {
			return USSDReply{}, err
		}
		switch m {
		case 4:
			return USSDReply{}, fmt.Errorf("modem: USSD %s: operation not supported by the network", code)
		case 5:
			return USSDReply{}, fmt.Errorf("modem: USSD %s: network timed out", code)
		case 1:
			s.opMu.Lock()
			_, _ = s.cmd(ctx, c, "+CUSD=2")
			s.opMu.Unlock()
		}
		return USSDReply{Status: m, Text: decodeUSSD(str, dcs), DCS: dcs}, nil
	}
}
