package modem

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/warthog618/modem/at"
	"go.bug.st/serial/enumerator"
)

// USBPort is a serial port of a USB device, as enumeration found it.
type USBPort struct {
	Port         string // /dev/ttyUSB2
	VID, PID     string // lower-case hex, "12d1"
	SerialNumber string // the USB iSerial string ("" when the device has none)
	// Location is the device's place on the bus ("1-1.2"), "" when unknown. Ports with
	// the same Location belong to one physical stick.
	Location string
	// Interface is the USB interface number of this port, -1 when unknown.
	Interface int
}

// ListUSBPorts lists the serial ports of USB devices with their vendor and product
// ids, serial number and bus location. It never opens a port.
func ListUSBPorts() ([]USBPort, error) {
	list, err := enumerator.GetDetailedPortsList()
	if err != nil {
		return nil, fmt.Errorf("modem: list serial ports: %w", err)
	}
	var out []USBPort
	for _, p := range list {
		if p == nil || !p.IsUSB {
			continue
		}
		loc, iface := usbLocation("/sys/class/tty", filepath.Base(p.Name))
		out = append(out, USBPort{
			Port: p.Name, VID: strings.ToLower(p.VID), PID: strings.ToLower(p.PID),
			SerialNumber: p.SerialNumber, Location: loc, Interface: iface,
		})
	}
	return out, nil
}

// usbIfaceRE matches a USB interface directory in sysfs: "<bus>-<ports>:<config>.<iface>".
var usbIfaceRE = regexp.MustCompile(`^(\d+-[\d.]+):\d+\.(\d+)$`)

// usbLocation finds the USB device path and interface number of a tty from the sysfs
// link <classDir>/<tty>/device (best effort; "" and -1 when unknown).
func usbLocation(classDir, tty string) (string, int) {
	p, err := filepath.EvalSymlinks(filepath.Join(classDir, tty, "device"))
	if err != nil {
		return "", -1
	}
	parts := strings.Split(p, string(filepath.Separator))
	for i := len(parts) - 1; i >= 0; i-- {
		if m := usbIfaceRE.FindStringSubmatch(parts[i]); m != nil {
			n, _ := strconv.Atoi(m[2])
			return m[1], n
		}
	}
	return "", -1
}

// Found is one modem (or one port that could not be used) that Detect found.
type Found struct {
	// Port is the AT port of the modem (for a multi-port stick, the one Detect picked).
	Port string `json:"port"`
	// VID, PID and USBSerial come from USB enumeration; empty for a path given
	// explicitly that is not a USB port.
	VID       string `json:"vid,omitempty"`
	PID       string `json:"pid,omitempty"`
	USBSerial string `json:"usb_serial,omitempty"`
	// Manufacturer, Model and Revision answer AT+CGMI, AT+CGMM and AT+CGMR.
	Manufacturer string `json:"manufacturer,omitempty"`
	Model        string `json:"model,omitempty"`
	Revision     string `json:"revision,omitempty"`
	// IMEI identifies the modem (AT+CGSN); the gateway knows modems by it.
	IMEI string `json:"imei,omitempty"`
	// IMSI (AT+CIMI) and ICCID (AT+CCID and vendor variants) identify the SIM.
	IMSI  string `json:"imsi,omitempty"`
	ICCID string `json:"iccid,omitempty"`
	// SIM is the answer to AT+CPIN? ("READY", "SIM PIN", "SIM PUK", ...).
	SIM string `json:"sim,omitempty"`
	// Operator is the network name of AT+COPS?, "" when not registered.
	Operator string `json:"operator,omitempty"`
	// SignalDBm is the received signal strength from AT+CSQ; 0 when unknown.
	SignalDBm int `json:"signal_dbm,omitempty"`
	// Registration is the network registration state (+CREG?, else +CEREG?).
	Registration string `json:"registration,omitempty"`
	Registered   bool   `json:"registered"`
	// OtherPorts are the other ttys of the same USB device, not chosen as the AT port.
	OtherPorts []string `json:"other_ports,omitempty"`
	// AnswerTime is how long the port took to answer AT.
	AnswerTime time.Duration `json:"-"`
	// Err says why the port is not usable (in use, no answer to AT, PDU mode refused);
	// the identity fields are then partial or empty.
	Err error `json:"-"`
}

// DetectOptions tunes Detect. The zero value probes the USB serial ports.
type DetectOptions struct {
	// Ports are paths to probe besides the USB serial ports (or instead, with NoUSB).
	Ports []string
	// NoUSB skips USB enumeration.
	NoUSB bool
	// ProbeTimeout bounds the first AT on each port (default 1.5 s). A port that does
	// not answer OK in time gets nothing else written to it.
	ProbeTimeout time.Duration
	// CommandTimeout bounds each identification command (default 3 s).
	CommandTimeout time.Duration
	// Baud is the port speed (default 115200).
	Baud int
	// Open opens a port; nil means OpenSerial.
	Open Opener
	// Lock takes a port's lock; nil means LockPort. Ports held elsewhere are reported
	// as in use and never opened.
	Lock func(path string) (unlock func(), err error)
	// ListUSB lists USB serial ports; nil means ListUSBPorts.
	ListUSB func() ([]USBPort, error)
	// Parallel is how many devices are probed at once (default 4).
	Parallel int
}

func (o *DetectOptions) defaults() {
	if o.ProbeTimeout <= 0 {
		o.ProbeTimeout = 1500 * time.Millisecond
	}
	if o.CommandTimeout <= 0 {
		o.CommandTimeout = 3 * time.Second
	}
	if o.Baud <= 0 {
		o.Baud = 115200
	}
	if o.Open == nil {
		o.Open = OpenSerial
	}
	if o.Lock == nil {
		o.Lock = LockPort
	}
	if o.ListUSB == nil {
		o.ListUSB = ListUSBPorts
	}
	if o.Parallel <= 0 {
		o.Parallel = 4
	}
}

// ErrNoAnswer means a port did not answer AT with OK in time: not an AT port (a GPS,
// diagnostic or data-only interface), a modem still booting, or the wrong speed.
var ErrNoAnswer = errors.New("modem: no answer to AT")

// ErrNoPDUMode means a port answered AT but refused AT+CMGF=0 (PDU mode).
var ErrNoPDUMode = errors.New("modem: port refuses PDU mode (AT+CMGF=0)")

// device is one physical device: its ports share a USB location or serial number.
type device struct {
	usb   USBPort // VID, PID, serial of the device (Port unused)
	ports []string
}

// Detect finds modems: it lists USB serial ports (plus o.Ports), groups the ttys of
// each multi-port stick, probes each port with a bare AT and identifies the modem on
// the chosen AT port. Ports whose lock is held are reported as in use and not touched.
//
// The AT port of a multi-port stick is chosen by these rules, in order:
//  1. it answers AT with OK within ProbeTimeout (ports that do not get nothing else);
//  2. it accepts AT+CMGF=0;
//  3. its answers are clean (fewest lines that are neither the echo, OK nor a known
//     unsolicited indication);
//  4. it answers faster (compared in 100 ms steps, so jitter does not flip the choice);
//  5. the lower USB interface number, then the lower path.
//
// The result has one Found per device with a usable AT port, and one per device or
// explicit path that could not be used, with Err set. The error is non-nil only when
// USB enumeration failed; the explicit ports are probed anyway.
func Detect(ctx context.Context, o DetectOptions) ([]Found, error) {
	o.defaults()
	var listErr error
	var usb []USBPort
	if !o.NoUSB {
		usb, listErr = o.ListUSB()
	}
	devs := groupPorts(usb, o.Ports)

	out := make([]Found, len(devs))
	sem := make(chan struct{}, o.Parallel)
	var wg sync.WaitGroup
	for i, d := range devs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case sem <- struct{}{}:
				defer func() { <-sem }()
				out[i] = probeDevice(ctx, d, &o)
			case <-ctx.Done():
				out[i] = Found{Port: d.ports[0], Err: ctx.Err()}
			}
		}()
	}
	wg.Wait()
	sort.SliceStable(out, func(i, j int) bool { return out[i].Port < out[j].Port })
	return out, listErr
}

// groupPorts puts the USB ports of one device together (by bus location, else by
// VID:PID and serial number) and gives every explicit path not among them its own
// device. Paths are compared after resolving symlinks.
func groupPorts(usb []USBPort, explicit []string) []device {
	var devs []device
	index := map[string]int{}
	known := map[string]bool{}
	for _, p := range usb {
		key := ""
		switch {
		case p.Location != "":
			key = "loc:" + p.Location
		case p.SerialNumber != "":
			key = "sn:" + p.VID + ":" + p.PID + ":" + p.SerialNumber
		default:
			key = "port:" + p.Port
		}
		i, ok := index[key]
		if !ok {
			i = len(devs)
			index[key] = i
			devs = append(devs, device{usb: p})
		}
		devs[i].ports = append(devs[i].ports, p.Port)
		known[resolve(p.Port)] = true
	}
	ifaces := map[string]int{}
	for _, p := range usb {
		ifaces[p.Port] = p.Interface
	}
	for i := range devs {
		ports := devs[i].ports
		sort.SliceStable(ports, func(a, b int) bool { return portLess(ports[a], ports[b], ifaces) })
	}
	seen := map[string]bool{}
	for _, p := range explicit {
		r := resolve(p)
		if p == "" || known[r] || seen[r] {
			continue
		}
		seen[r] = true
		devs = append(devs, device{ports: []string{p}})
	}
	return devs
}

func portLess(a, b string, ifaces map[string]int) bool {
	ia, oka := ifaces[a]
	ib, okb := ifaces[b]
	if oka && okb && ia >= 0 && ib >= 0 && ia != ib {
		return ia < ib
	}
	return a < b
}

func resolve(p string) string {
	if r, err := filepath.EvalSymlinks(p); err == nil {
		return r
	}
	return filepath.Clean(p)
}

// portProbe is what probing one port found.
type portProbe struct {
	path    string
	answer  time.Duration
	pduMode bool
	garbage int
	err     error
}

// probeDevice locks every port of the device, probes each, picks the AT port and
// identifies the modem on it.
func probeDevice(ctx context.Context, d device, o *DetectOptions) Found {
	base := Found{Port: d.ports[0], VID: d.usb.VID, PID: d.usb.PID, USBSerial: d.usb.SerialNumber}
	var unlocks []func()
	defer func() {
		for _, u := range unlocks {
			u()
		}
	}()
	for _, p := range d.ports {
		u, err := o.Lock(p)
		if err != nil {
			// A port of this device is held (by the gateway, most likely): leave the
			// whole device alone rather than write AT to its other interfaces.
			base.Port, base.Err = p, err
			base.OtherPorts = others(d.ports, p)
			return base
		}
		unlocks = append(unlocks, u)
	}
	var probes []portProbe
	for _, p := range d.ports {
		if ctx.Err() != nil {
			break
		}
		probes = append(probes, probePort(ctx, p, o))
	}
	best := pickATPort(probes)
	if best == nil {
		base.Err = noPortErr(probes, ctx.Err())
		if len(d.ports) > 1 {
			base.OtherPorts = others(d.ports, base.Port)
		}
		return base
	}
	f := base
	f.Port, f.AnswerTime = best.path, best.answer
	f.OtherPorts = others(d.ports, best.path)
	identify(ctx, &f, o)
	return f
}

func others(all []string, not string) []string {
	var out []string
	for _, p := range all {
		if p != not {
			out = append(out, p)
		}
	}
	return out
}

// noPortErr summarises why no port of a device was usable.
func noPortErr(probes []portProbe, ctxErr error) error {
	if len(probes) == 1 {
		return probes[0].err
	}
	var errs []error
	for _, p := range probes {
		if p.err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", p.path, p.err))
		}
	}
	if len(errs) == 0 && ctxErr != nil {
		return ctxErr
	}
	return errors.Join(errs...)
}

// pickATPort applies the rules documented on Detect; nil when no port qualifies.
func pickATPort(probes []portProbe) *portProbe {
	var best *portProbe
	for i := range probes {
		p := &probes[i]
		if p.err != nil || !p.pduMode {
			continue
		}
		if best == nil || better(p, best) {
			best = p
		}
	}
	return best
}

func better(a, b *portProbe) bool {
	if a.garbage != b.garbage {
		return a.garbage < b.garbage
	}
	const step = 100 * time.Millisecond
	return a.answer/step < b.answer/step // ties keep the earlier (lower interface) port
}

// probeSession is an open port with an AT engine for probing.
type probeSession struct {
	port *tracedPort
	at   *at.AT
}

// openProbe opens path within d; a port whose open hangs (a tty waiting for carrier)
// is given up, and closed if the open completes later.
func openProbe(ctx context.Context, o *DetectOptions, path string, d time.Duration) (*probeSession, error) {
	type result struct {
		rw  io.ReadWriteCloser
		err error
	}
	ch := make(chan result, 1)
	go func() {
		rw, err := o.Open(path, o.Baud)
		ch <- result{rw, err}
	}()
	t := time.NewTimer(d)
	defer t.Stop()
	var r result
	select {
	case r = <-ch:
	case <-t.C:
		go func() {
			if r := <-ch; r.rw != nil {
				_ = r.rw.Close()
			}
		}()
		return nil, fmt.Errorf("modem: open %s: no result within %s", path, d)
	case <-ctx.Done():
		go func() {
			if r := <-ch; r.rw != nil {
				_ = r.rw.Close()
			}
		}()
		return nil, ctx.Err()
	}
	if r.err != nil {
		return nil, r.err
	}
	ps := &probeSession{port: newTracedPort(r.rw, NewTrace(0, true))}
	ignore := func([]string) {}
	opts := []at.Option{at.WithTimeout(d)}
	for _, p := range []string{"+CMTI:", "+CDSI:", "+CREG:", "+CGREG:", "+CEREG:", "RING", "+CLIP:", "+CUSD:",
		"^RSSI:", "^BOOT:", "^MODE:", "^SRVST:", "^SIMST:", "^HCSQ:", "^DSFLOWRPT:", "^RSSILVL:", "^HRSSILVL:",
		"^SYSSTART", "^STIN:", "^CEND:", "^ORIG:", "^CONF:", "^CONN:", "+QIND:", "*PSNWID:", "*PSUTTZ:", "DST:",
		"+CTZV:", "+PACSP", "+CPIN: READY", "SMS Ready", "Call Ready", "RDY"} {
		opts = append(opts, at.WithIndication(p, ignore))
	}
	ps.at = at.New(ps.port, opts...)
	return ps, nil
}

func (ps *probeSession) close() {
	_ = ps.port.Close()
	select {
	case <-ps.at.Closed():
	case <-time.After(2 * time.Second):
	}
}

// cmd runs one command (without "AT"), bounded by d and ctx.
func (ps *probeSession) cmd(ctx context.Context, command string, d time.Duration) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return ps.at.Command(command, at.WithTimeout(timeout(ctx, d)))
}

// probePort writes AT and, only if that is answered with OK, AT+CMGF=0.
func probePort(ctx context.Context, path string, o *DetectOptions) portProbe {
	pp := portProbe{path: path}
	ps, err := openProbe(ctx, o, path, o.ProbeTimeout)
	if err != nil {
		pp.err = err
		return pp
	}
	defer ps.close()
	start := time.Now()
	lines, err := ps.cmd(ctx, "", o.ProbeTimeout)
	pp.answer = time.Since(start)
	if err != nil {
		if errors.Is(err, at.ErrDeadlineExceeded) || errors.Is(err, at.ErrClosed) {
			pp.err = fmt.Errorf("%w within %s (not an AT port: GPS, diagnostic or data interface?)", ErrNoAnswer, o.ProbeTimeout)
		} else {
			pp.err = fmt.Errorf("%w: %w", ErrNoAnswer, err)
		}
		return pp
	}
	pp.garbage += unexpected(lines)
	lines, err = ps.cmd(ctx, "+CMGF=0", o.CommandTimeout)
	if err != nil {
		pp.err = fmt.Errorf("%w: %w", ErrNoPDUMode, err)
		return pp
	}
	pp.garbage += unexpected(lines)
	pp.pduMode = true
	return pp
}

// unexpected counts answer lines that a clean AT port would not send after AT or
// AT+CMGF=0: anything but the echo (the AT engine drops the echo and known
// indications before they get here).
func unexpected(lines []string) int {
	n := 0
	for _, l := range lines {
		if strings.TrimSpace(l) != "" {
			n++
		}
	}
	return n
}

// identify fills in the modem's identity on the chosen AT port.
func identify(ctx context.Context, f *Found, o *DetectOptions) {
	ps, err := openProbe(ctx, o, f.Port, o.CommandTimeout)
	if err != nil {
		f.Err = err
		return
	}
	defer ps.close()
	d := o.CommandTimeout
	get := func(command string) []string {
		lines, err := ps.cmd(ctx, command, d)
		if err != nil {
			return nil
		}
		return lines
	}
	if _, err := ps.cmd(ctx, "", d); err != nil {
		f.Err = fmt.Errorf("%w on the second open: %w", ErrNoAnswer, err)
		return
	}
	f.Manufacturer = clean(firstInfo(get("+CGMI"), "+CGMI:"))
	f.Model = clean(firstInfo(get("+CGMM"), "+CGMM:"))
	f.Revision = clean(firstInfo(get("+CGMR"), "+CGMR:"))
	f.IMEI = parseIMEI(get("+CGSN"))
	if code, err := parseCPIN(get("+CPIN?")); err == nil {
		f.SIM = clean(code)
	}
	if imsi := firstInfo(get("+CIMI"), "+CIMI:"); isDigits(imsi) {
		f.IMSI = imsi
	}
	for _, q := range []struct{ cmd, prefix string }{{"+CCID", "+CCID:"}, {"^ICCID?", "^ICCID:"}, {"+QCCID", "+QCCID:"}, {"+ICCID", "+ICCID:"}} {
		for _, l := range get(q.cmd) {
			v := strings.TrimSpace(l)
			if rest, ok := strings.CutPrefix(v, q.prefix); ok {
				v = strings.Trim(strings.TrimSpace(rest), `"`)
			}
			if len(v) >= 18 && len(v) <= 22 && isDigits(v) {
				f.ICCID = v
			}
		}
		if f.ICCID != "" {
			break
		}
	}
	if op, err := parseCOPS(get("+COPS?")); err == nil {
		f.Operator = clean(op)
	}
	if sig, err := parseCSQ(get("+CSQ")); err == nil {
		f.SignalDBm = sig.DBm
	}
	reg, err := parseReg(get("+CREG?"), "+CREG:")
	if err != nil || !reg.Registered() {
		if r, err2 := parseReg(get("+CEREG?"), "+CEREG:"); err2 == nil && (r.Registered() || err != nil) {
			reg, err = r, nil
		}
	}
	if err == nil {
		f.Registration, f.Registered = reg.String(), reg.Registered()
	}
	if f.IMEI == "" && ctx.Err() == nil {
		f.Err = errors.New("modem: answered AT but gave no IMEI (AT+CGSN)")
	}
	if ctx.Err() != nil && f.Err == nil {
		f.Err = ctx.Err()
	}
}

// clean keeps modem-supplied text printable and short, since it ends up in terminals
// and web pages.
func clean(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return -1
		}
		return r
	}, s)
	s = strings.TrimSpace(s)
	if r := []rune(s); len(r) > 64 {
		s = string(r[:64])
	}
	return s
}
