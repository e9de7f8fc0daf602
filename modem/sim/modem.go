package sim

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"sync"
	"time"
)

// Identity is what identifies a modem and its SIM. It survives unplug and
// replug.
type Identity struct {
	IMEI   string `json:"imei"`   // AT+CGSN
	IMSI   string `json:"imsi"`   // AT+CIMI
	ICCID  string `json:"iccid"`  // AT+CCID, AT^ICCID, AT+QCCID
	MSISDN string `json:"msisdn"` // the SIM's number, "+<digits>"; AT+CNUM
}

// ModemConfig configures one virtual modem. Zero fields get defaults.
type ModemConfig struct {
	// Name identifies the modem in the network, the control API and the
	// symlink directory ("modem0").
	Name string
	// Identity; empty fields are derived from Name.
	Identity Identity
	// Personality; the zero value is the generic modem.
	Personality Personality
	// PIN, when set, locks the SIM at every power-on until AT+CPIN="<PIN>".
	// PUK unblocks it after three wrong PINs (default "12345678").
	PIN, PUK string
	// SMSC is the service-centre number in AT+CSCA? (default "+491720000000").
	SMSC string
	// Latency; the zero value answers at once.
	Latency Latency
	// LinkDir, when set, holds a symlink <LinkDir>/<Name> to the current pty.
	LinkDir string
	// Preload is stored in the modem's memories when it is created.
	Preload []Preload
	// Logger receives debug logs of every command line; nil discards.
	Logger *slog.Logger
	// Seed seeds the modem's random numbers (noise, latency); 0 derives one
	// from the name.
	Seed uint64
}

// Preload is one message stored in a modem before it starts.
type Preload struct {
	Memory string // "SM" (default), "ME", "SR"
	Stat   int    // StatRecUnread, ...
	PDU    []byte // SMSC field + TPDU
}

// registration states of +CREG.
const (
	regNotRegistered = 0
	regHome          = 1
	regSearching     = 2
)

// pinState of the SIM.
type pinState int

const (
	pinReady pinState = iota
	pinNeedPIN
	pinNeedPUK
	pinBlocked
)

// settings is the AT state that ATZ and power-on reset.
type settings struct {
	echo, verbose, quiet bool
	cmee                 int
	cscs                 string
	cmgf, csdh           int
	cnmi                 [5]int
	csms                 int
	mem                  [3]string
	csmp                 [4]int
	creg, cgreg, cereg   int
	clip, crc, cusd      int
	cmms                 int
	curc                 bool
	sreg                 [32]int
}

// Modem is one virtual modem. Create it with [Network.NewModem]; Start
// plugs it in.
type Modem struct {
	name string
	id   Identity
	pers Personality
	net  *Network
	log  *slog.Logger
	link string // symlink path or ""

	mu       sync.Mutex
	lastPath string // pty path of the last plug, avoided by Replug
	set      settings
	cfun     int
	pin      pinState
	pinTries int
	pukTries int
	pinCode  string
	pukCode  string
	csca     string
	stores   map[string]*store
	fault    Fault
	lat      Latency
	rng      *rand.Rand
	mr       int
	reg      int       // current +CREG stat
	pending  []inbound // messages the network could not deliver yet
	awaitAck *inbound  // +CMT/+CDS waiting for +CNMA
	ackTimer *time.Timer
	buffered []string // indications held while +CNMI mode is 0
	urc      []string // indications waiting for the session to be idle
	call     *call
	timers   map[*time.Timer]struct{}
	started  bool
	closed   bool
	plugged  bool
	port     *ptyPort
	sessDone chan struct{}
	cancel   context.CancelFunc // of the current session
	wake     chan struct{}
	lastLine string
	ackWait  time.Duration
}

type call struct {
	from  string
	rings int
	timer *time.Timer
}

// ErrClosed is returned by operations on a closed modem.
var ErrClosed = errors.New("sim: modem closed")

// ErrUnplugged is returned by operations that need a plugged-in modem.
var ErrUnplugged = errors.New("sim: modem unplugged")

func newModem(n *Network, cfg ModemConfig) (*Modem, error) {
	if cfg.Name == "" {
		return nil, errors.New("sim: modem needs a name")
	}
	pers := cfg.Personality
	if pers.Manufacturer == "" && pers.Name == "" {
		pers, _ = PersonalityByName("generic")
	}
	pers = pers.withDefaults()
	seed := cfg.Seed
	h := fnv.New64a()
	_, _ = io.WriteString(h, cfg.Name)
	if seed == 0 {
		seed = h.Sum64()
	}
	id := cfg.Identity.withDefaults(h.Sum64())
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	m := &Modem{
		name:     cfg.Name,
		id:       id,
		pers:     pers,
		net:      n,
		log:      log.With("modem", cfg.Name),
		pinCode:  cfg.PIN,
		pukCode:  cfg.PUK,
		csca:     cfg.SMSC,
		lat:      cfg.Latency.clone(),
		rng:      rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		stores:   map[string]*store{},
		timers:   map[*time.Timer]struct{}{},
		wake:     make(chan struct{}, 1),
		ackWait:  15 * time.Second,
		pinTries: 3,
		pukTries: 10,
	}
	if m.pukCode == "" {
		m.pukCode = "12345678"
	}
	if m.csca == "" {
		m.csca = "+491720000000"
	}
	if cfg.LinkDir != "" {
		m.link = cfg.LinkDir + "/" + cfg.Name
	}
	m.stores["SM"] = newStore("SM", pers.SMCapacity)
	if pers.MECapacity > 0 {
		m.stores["ME"] = newStore("ME", pers.MECapacity)
	}
	if pers.SRCapacity > 0 {
		m.stores["SR"] = newStore("SR", pers.SRCapacity)
	}
	for _, p := range cfg.Preload {
		if err := m.Store(p.Memory, p.Stat, p.PDU); err != nil {
			return nil, err
		}
	}
	m.powerOn()
	return m, nil
}

// withDefaults derives missing identity fields from a hash.
func (id Identity) withDefaults(h uint64) Identity {
	serial := fmt.Sprintf("%012d", h%1_000_000_000_000)
	if id.IMEI == "" {
		id.IMEI = luhn("35693803" + serial[:6])
	}
	if id.IMSI == "" {
		id.IMSI = "26201" + serial[:10]
	}
	if id.ICCID == "" {
		id.ICCID = luhn("894901" + serial)
	}
	if id.MSISDN == "" {
		id.MSISDN = "+49151" + serial[4:12]
	}
	return id
}

// luhn appends the Luhn check digit to digits.
func luhn(digits string) string {
	sum := 0
	double := true
	for i := len(digits) - 1; i >= 0; i-- {
		d := int(digits[i] - '0')
		if double {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
		double = !double
	}
	return digits + strconv.Itoa((10-sum%10)%10)
}

// powerOn resets the volatile state as a power cycle does. Locked by caller
// or before the modem is shared.
func (m *Modem) powerOn() {
	m.resetSettings()
	m.cfun = 1
	if m.pin != pinNeedPUK && m.pin != pinBlocked {
		m.pin = pinReady
		if m.pinCode != "" {
			m.pin = pinNeedPIN
		}
	}
	m.buffered = nil
	m.urc = nil
	m.call = nil
	m.lastLine = ""
	m.updateRegLocked()
}

func (m *Modem) resetSettings() {
	m.set = settings{
		echo: !m.pers.EchoOff, verbose: true, cscs: "GSM", cnmi: m.pers.CNMI,
		mem: [3]string{"SM", "SM", "SM"}, csmp: [4]int{17, 167, 0, 0}, curc: true,
	}
	m.set.sreg[3], m.set.sreg[4], m.set.sreg[5] = 13, 10, 8
}

// Name returns the modem's name.
func (m *Modem) Name() string { return m.name }

// Identity returns the modem's IMEI, IMSI, ICCID and MSISDN.
func (m *Modem) Identity() Identity { return m.id }

// Personality returns the modem's personality.
func (m *Modem) Personality() Personality { return m.pers }

// Path returns the pty slave path clients open ("/dev/pts/7"), or "" while
// unplugged.
func (m *Modem) Path() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.port == nil {
		return ""
	}
	return m.port.path
}

// Link returns the stable symlink path, or "" without a link directory.
func (m *Modem) Link() string { return m.link }

// SetFault replaces the modem's faults. Deregistration changes are announced
// with +CREG/+CGREG/+CEREG as configured.
func (m *Modem) SetFault(f Fault) {
	m.mu.Lock()
	m.fault = f
	m.updateRegLocked()
	m.mu.Unlock()
	m.pump()
}

// Fault returns the modem's current faults.
func (m *Modem) Fault() Fault {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.fault
}

// SetLatency replaces the modem's latency profile.
func (m *Modem) SetLatency(l Latency) {
	m.mu.Lock()
	m.lat = l.clone()
	m.mu.Unlock()
}

// Latency returns the modem's latency profile.
func (m *Modem) Latency() Latency {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.lat.clone()
}

// SetAckTimeout sets how long a +CMT/+CDS waits for AT+CNMA (when
// AT+CSMS=1) before the modem gives up and the network retries into storage.
func (m *Modem) SetAckTimeout(d time.Duration) {
	m.mu.Lock()
	m.ackWait = d
	m.mu.Unlock()
}

// Store puts a PDU (SMSC field + TPDU) into a memory, as if it had arrived
// earlier. It returns an error if the memory does not exist or is full.
func (m *Modem) Store(memory string, stat int, pdu []byte) error {
	if memory == "" {
		memory = "SM"
	}
	n, err := tpduLen(pdu)
	if err != nil {
		return err
	}
	if stat < 0 || stat > 3 {
		return fmt.Errorf("sim: stat %d out of range 0..3", stat)
	}
	report := isStatusReport(pdu, stat)
	m.mu.Lock()
	defer m.mu.Unlock()
	st, ok := m.stores[memory]
	if !ok {
		return fmt.Errorf("sim: %s has no memory %q", m.name, memory)
	}
	if _, ok := st.put(&slot{stat: stat, pdu: append([]byte(nil), pdu...), tpduLen: n, report: report}); !ok {
		return fmt.Errorf("sim: %s memory %s full", m.name, memory)
	}
	return nil
}

// Messages returns the messages stored in one memory ("SM", "ME", "SR").
func (m *Modem) Messages(memory string) []StoredMessage {
	m.mu.Lock()
	defer m.mu.Unlock()
	st, ok := m.stores[memory]
	if !ok {
		return nil
	}
	return st.snapshot()
}

// Memories lists the modem's memories with used and total slots.
func (m *Modem) Memories() []MemoryUse {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []MemoryUse
	for _, name := range []string{"SM", "ME", "SR"} {
		if st, ok := m.stores[name]; ok {
			out = append(out, MemoryUse{Memory: name, Used: st.used(), Total: st.capacity()})
		}
	}
	return out
}

// MemoryUse is the fill level of one message memory.
type MemoryUse struct {
	Memory string `json:"memory"`
	Used   int    `json:"used"`
	Total  int    `json:"total"`
}

// Status is a snapshot of a modem for the control API.
type Status struct {
	Name         string      `json:"name"`
	Identity     Identity    `json:"identity"`
	Personality  string      `json:"personality"`
	Path         string      `json:"path"`
	Link         string      `json:"link,omitempty"`
	Plugged      bool        `json:"plugged"`
	Registration int         `json:"registration"`
	Fault        Fault       `json:"fault"`
	Memories     []MemoryUse `json:"memories"`
	Pending      int         `json:"pending_inbound"`
}

// Status returns a snapshot of the modem.
func (m *Modem) Status() Status {
	mems := m.Memories()
	m.mu.Lock()
	defer m.mu.Unlock()
	s := Status{Name: m.name, Identity: m.id, Personality: m.pers.Name, Link: m.link,
		Plugged: m.plugged, Registration: m.reg, Fault: m.fault, Memories: mems, Pending: len(m.pending)}
	if m.awaitAck != nil {
		s.Pending++
	}
	if m.port != nil {
		s.Path = m.port.path
	}
	return s
}

// updateRegLocked recomputes the registration state and queues +CREG
// indications when it changed.
func (m *Modem) updateRegLocked() {
	reg := regHome
	switch {
	case m.fault.Deregistered:
		reg = regSearching
	case m.cfun != 1 || m.pin != pinReady:
		reg = regNotRegistered
	}
	if reg == m.reg {
		return
	}
	m.reg = reg
	if m.set.creg > 0 {
		m.urcLocked(m.regLine("+CREG", m.set.creg, false))
	}
	if m.set.cgreg > 0 {
		m.urcLocked(m.regLine("+CGREG", m.set.cgreg, false))
	}
	if m.set.cereg > 0 {
		m.urcLocked(m.regLine("+CEREG", m.set.cereg, false))
	}
}

// regLine formats a registration answer (read=true) or indication.
func (m *Modem) regLine(name string, n int, read bool) string {
	s := name + ": "
	if read {
		s += strconv.Itoa(n) + ","
	}
	s += strconv.Itoa(m.reg)
	if n >= 2 && m.reg == regHome {
		if name == "+CEREG" {
			s += `,"1A2B","01A2B3C4",7`
		} else {
			s += `,"1A2B","01A2B3C4"`
		}
	}
	return s
}

// urcLocked queues an unsolicited line for the session.
func (m *Modem) urcLocked(lines ...string) {
	if !m.plugged {
		return
	}
	m.urc = append(m.urc, lines...)
	select {
	case m.wake <- struct{}{}:
	default:
	}
}

// afterLocked runs f after d unless the modem is closed first; f runs
// without the lock held.
func (m *Modem) afterLocked(d time.Duration, f func()) *time.Timer {
	var t *time.Timer
	t = time.AfterFunc(d, func() {
		m.mu.Lock()
		_, live := m.timers[t]
		delete(m.timers, t)
		closed := m.closed
		m.mu.Unlock()
		if live && !closed {
			f()
		}
	})
	m.timers[t] = struct{}{}
	return t
}

func (m *Modem) stopTimerLocked(t *time.Timer) {
	if t != nil {
		t.Stop()
		delete(m.timers, t)
	}
}

// Start plugs the modem in: it opens a pseudo-terminal and starts answering
// on it. Use [Modem.Path] for the path clients open.
func (m *Modem) Start() error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return ErrClosed
	}
	if m.started {
		m.mu.Unlock()
		return fmt.Errorf("sim: modem %s already started", m.name)
	}
	m.started = true
	m.mu.Unlock()
	return m.plug("")
}

// Run starts the modem and stops it when ctx is done.
func (m *Modem) Run(ctx context.Context) error {
	if err := m.Start(); err != nil {
		return err
	}
	<-ctx.Done()
	return m.Close()
}

// Close unplugs the modem for good and stops its timers. It waits at most a
// few seconds for the session to end.
func (m *Modem) Close() error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil
	}
	m.closed = true
	for t := range m.timers {
		t.Stop()
	}
	m.timers = map[*time.Timer]struct{}{}
	m.mu.Unlock()
	err := m.unplug()
	if m.net != nil {
		m.net.removeModem(m)
	}
	return err
}

// Unplug makes the modem vanish: the pty master is closed, so clients see
// EIO/hang-up, and the symlink is removed. Inbound messages wait in the
// network until [Modem.Replug].
func (m *Modem) Unplug() error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return ErrClosed
	}
	m.mu.Unlock()
	return m.unplug()
}

// Replug plugs the modem in again under a new pty path (never the previous
// one) with the same identity and stored messages; volatile settings are
// reset as after a power cycle. It returns the new path.
func (m *Modem) Replug() (string, error) {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return "", ErrClosed
	}
	old := m.lastPath
	if m.port != nil {
		old = m.port.path
	}
	m.mu.Unlock()
	if err := m.unplug(); err != nil {
		return "", err
	}
	if err := m.plug(old); err != nil {
		return "", err
	}
	return m.Path(), nil
}

// plug opens a new pty (avoiding path avoid) and starts a session on it.
func (m *Modem) plug(avoid string) error {
	p, err := openPTY(avoid)
	if err != nil {
		return err
	}
	if m.link != "" {
		if err := p.link(m.link); err != nil {
			p.close()
			return err
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	m.mu.Lock()
	m.port = p
	m.plugged = true
	m.cancel = cancel
	m.sessDone = done
	m.powerOn()
	boot := append([]string(nil), m.pers.Boot...)
	m.urcLocked(boot...)
	m.mu.Unlock()
	m.log.Debug("plugged in", "path", p.path)
	go func() {
		defer close(done)
		err := m.serve(ctx, p.master)
		if err != nil && ctx.Err() == nil {
			m.log.Debug("session ended", "error", err)
		}
	}()
	m.pump()
	return nil
}

// unplug closes the current pty, if any, and waits for its session.
func (m *Modem) unplug() error {
	m.mu.Lock()
	p, cancel, done := m.port, m.cancel, m.sessDone
	if p != nil {
		m.lastPath = p.path // Replug must not come back under this name
	}
	m.port, m.cancel, m.sessDone = nil, nil, nil
	m.plugged = false
	m.urc = nil
	m.buffered = nil
	if m.call != nil {
		m.stopTimerLocked(m.call.timer)
		m.call = nil
	}
	if m.awaitAck != nil {
		// The message was never acknowledged: the network keeps it.
		m.pending = append([]inbound{*m.awaitAck}, m.pending...)
		m.awaitAck = nil
		m.stopTimerLocked(m.ackTimer)
	}
	m.mu.Unlock()
	if p == nil {
		return nil
	}
	cancel()
	if m.link != "" {
		removeLink(m.link, p.path)
	}
	p.close()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		return fmt.Errorf("sim: modem %s: session did not stop", m.name)
	}
	m.log.Debug("unplugged", "path", p.path)
	return nil
}
