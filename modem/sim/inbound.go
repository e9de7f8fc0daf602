package sim

import (
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/smsgw/smsgw/sms"
)

// Route forces how an injected PDU reaches the client.
type Route string

// Routes for [Modem.Inject].
const (
	// RouteNetwork routes like a message from the network: by AT+CNMI.
	RouteNetwork Route = ""
	// RouteCMTI stores the message in <mem3> and sends +CMTI.
	RouteCMTI Route = "cmti"
	// RouteCMT sends +CMT with the PDU (acknowledged with +CNMA when
	// AT+CSMS=1).
	RouteCMT Route = "cmt"
	// RouteCDS sends +CDS with the PDU (a status report).
	RouteCDS Route = "cds"
	// RouteCDSI stores the status report (SR if present, else <mem3>) and
	// sends +CDSI.
	RouteCDSI Route = "cdsi"
)

// inbound is one PDU on its way from the network to the modem.
type inbound struct {
	pdu       []byte
	tpduLen   int
	report    bool
	route     Route
	storeOnly bool // the client refused it or missed the +CNMA: store it
}

// deliver queues a PDU from the network and tries to hand it over.
func (m *Modem) deliver(in inbound) {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return
	}
	m.pending = append(m.pending, in)
	m.mu.Unlock()
	m.pump()
}

// Inject hands a raw PDU (SMSC field + TPDU) to the modem as if the network
// sent it, routed as route says. Status reports are recognised by their
// TP-MTI. It fails when the modem is unplugged.
func (m *Modem) Inject(route Route, pdu []byte) error {
	n, err := tpduLen(pdu)
	if err != nil {
		return err
	}
	switch route {
	case RouteNetwork, RouteCMTI, RouteCMT, RouteCDS, RouteCDSI:
	default:
		return fmt.Errorf("sim: unknown route %q", route)
	}
	m.mu.Lock()
	plugged := m.plugged
	m.mu.Unlock()
	if !plugged {
		return ErrUnplugged
	}
	report := isStatusReport(pdu, StatRecUnread) || route == RouteCDS || route == RouteCDSI
	m.deliver(inbound{pdu: append([]byte(nil), pdu...), tpduLen: n, report: report, route: route})
	return nil
}

// pump hands queued inbound PDUs to the client as far as the state allows.
func (m *Modem) pump() {
	m.mu.Lock()
	defer m.mu.Unlock()
	for len(m.pending) > 0 && m.plugged && m.awaitAck == nil && !m.closed {
		in := m.pending[0]
		if in.route == RouteNetwork && m.reg != regHome {
			return
		}
		if !m.handOverLocked(in) {
			return
		}
		m.pending = m.pending[1:]
	}
}

// handOverLocked delivers one PDU; false means "not now" (storage full).
func (m *Modem) handOverLocked(in inbound) bool {
	mode, mt, ds := m.set.cnmi[0], m.set.cnmi[1], m.set.cnmi[3]
	direct := false
	notify := false
	switch in.route {
	case RouteCMT, RouteCDS:
		direct = true
	case RouteCMTI, RouteCDSI:
		notify = true
	default:
		if in.report {
			direct = ds == 1 && mode != 0
			notify = ds == 2
		} else {
			direct = mt == 2 && mode != 0
			notify = mt == 1 || mt == 3
		}
		if in.storeOnly {
			direct = false
		}
	}
	hexPDU := strings.ToUpper(hex.EncodeToString(in.pdu))
	if direct {
		var lines []string
		switch {
		case in.report && m.set.cmgf == 0:
			lines = []string{fmt.Sprintf("+CDS: %d", in.tpduLen), hexPDU}
		case in.report:
			lines = m.textIndicationLocked("+CDS: ", in)
		case m.set.cmgf == 0:
			lines = []string{fmt.Sprintf("+CMT: ,%d", in.tpduLen), hexPDU}
		default:
			lines = m.textIndicationLocked("+CMT: ", in)
		}
		m.indicateLocked(lines...)
		if m.set.csms == 1 {
			cp := in
			m.awaitAck = &cp
			m.ackTimer = m.afterLocked(m.ackWait, func() { m.ackTimeout(&cp) })
		}
		return true
	}
	memName := m.set.mem[2]
	if in.report {
		if _, hasSR := m.stores["SR"]; hasSR && (ds == 2 || in.route == RouteCDSI) {
			memName = "SR"
		}
	}
	st := m.stores[memName]
	if m.fault.StorageFull {
		return false
	}
	idx, okp := st.put(&slot{stat: StatRecUnread, pdu: in.pdu, tpduLen: in.tpduLen, report: in.report})
	if !okp {
		return false
	}
	if notify {
		name := "+CMTI"
		if in.report {
			name = "+CDSI"
		}
		m.indicateLocked(fmt.Sprintf(`%s: "%s",%d`, name, memName, idx))
	}
	return true
}

// ackTimeout: no +CNMA came. As TS 27.005 says, the modem turns routing to
// the TE off (<mt> and <ds> to 0); the network retries into storage.
func (m *Modem) ackTimeout(in *inbound) {
	m.mu.Lock()
	if m.awaitAck != in {
		m.mu.Unlock()
		return
	}
	m.awaitAck = nil
	m.set.cnmi[1], m.set.cnmi[3] = 0, 0
	again := *in
	again.storeOnly = true
	m.pending = append([]inbound{again}, m.pending...)
	m.mu.Unlock()
	m.log.Debug("no +CNMA, routing to TE turned off")
	m.pump()
}

// indicateLocked sends an SMS indication, or buffers it while +CNMI mode
// is 0.
func (m *Modem) indicateLocked(lines ...string) {
	if m.set.cnmi[0] == 0 {
		m.buffered = append(m.buffered, strings.Join(lines, "\r\n"))
		if len(m.buffered) > 200 {
			m.buffered = m.buffered[len(m.buffered)-200:]
		}
		return
	}
	// The header and the PDU must stay together: queue as one entry.
	m.urcLocked(strings.Join(lines, "\r\n"))
}

// textIndicationLocked formats +CMT/+CDS for text mode.
func (m *Modem) textIndicationLocked(prefix string, in inbound) []string {
	msg, err := sms.Decode(in.pdu, sms.MT, true)
	if err != nil {
		return []string{prefix + `"",,""`, ""}
	}
	if msg.Type == sms.StatusReport {
		return []string{fmt.Sprintf(`%s6,%d,%s,%d,"%s","%s",%d`, prefix, msg.MR, m.quoteLocked(msg.Address),
			tonOf(msg), formatSCTS(msg.SCTS), formatSCTS(msg.Discharge), msg.Status)}
	}
	head := fmt.Sprintf(`%s%s,,"%s"`, prefix, m.quoteLocked(msg.Address), formatSCTS(msg.SCTS))
	if m.set.csdh == 1 {
		head += fmt.Sprintf(",%d,%d", tonOf(msg), len([]rune(msg.Text)))
	}
	return []string{head, m.textBodyLocked(msg)}
}
