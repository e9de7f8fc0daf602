package sim

import (
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/smsgw/smsgw/sms"
)

// cmgsPrompt validates AT+CMGS=/AT+CMGW= and opens the "> " prompt.
func (s *session) cmgsPrompt(c command, ps []param) response {
	m := s.m
	if c.kind == kindTest {
		return ok()
	}
	if m.set.cmgf == 0 {
		if c.kind != kindSet {
			return response{final: m.cmsLocked(304)}
		}
		n, okn := intParam(ps, 0, -1, 1, 180)
		if !okn || n < 1 {
			return response{final: m.cmsLocked(304)}
		}
		stat, oks := intParam(ps, 1, StatStoUnsent, 0, 3)
		if !oks || len(ps) > 2 || (c.name == "+CMGS" && len(ps) > 1) {
			return response{final: m.cmsLocked(304)}
		}
		return response{prompt: &prompt{cmd: c.name, pdu: true, length: n, stat: stat}}
	}
	// Text mode.
	da, okd := m.textParamLocked(ps, 0)
	if !okd || (da == "" && c.name == "+CMGS") {
		return response{final: m.cmsLocked(305)}
	}
	stat := StatStoUnsent
	if len(ps) > 2 {
		st, oks := statFromText(ps[2].val)
		if !oks || st > 3 {
			return response{final: m.cmsLocked(305)}
		}
		stat = st
	}
	return response{prompt: &prompt{cmd: c.name, da: da, stat: stat}}
}

// sendJob is one message about to be submitted to the network.
type sendJob struct {
	cmd      string // "+CMGS", "+CMSS"
	pdu      []byte // SMSC field + TPDU as given by the client
	tpduLen  int
	msg      *sms.Message
	to       string // destination (after a +CMSS override)
	mem      string // +CMSS: memory and index of the stored message
	index    int
	explicit bool // the PDU carried its own SMSC
}

// finishPrompt handles Ctrl-Z after a "> " prompt.
func (s *session) finishPrompt(p *prompt) {
	m := s.m
	m.mu.Lock()
	var job *sendJob
	var r response
	switch {
	case p.cmd == "+CNMA":
		r = ok()
	case p.over:
		r = response{final: m.cmsLocked(map[bool]int{true: 304, false: 305}[p.pdu])}
	case p.pdu:
		pdu, n, code := m.checkPDU(string(p.buf), p.length)
		switch {
		case code != 0:
			r = response{final: m.cmsLocked(code)}
		case p.cmd == "+CMGW":
			r = m.storeWrittenLocked(pdu, n, p.stat)
		default:
			job, code = m.submitJobLocked(pdu, n)
			if code != 0 {
				r = response{final: m.cmsLocked(code)}
			}
		}
	default:
		pdu, code := m.encodeTextLocked(p)
		switch {
		case code != 0:
			r = response{final: m.cmsLocked(code)}
		case p.cmd == "+CMGW":
			r = m.storeWrittenLocked(pdu.Bytes, pdu.TPDULen, p.stat)
		default:
			job, code = m.submitJobLocked(pdu.Bytes, pdu.TPDULen)
			if code != 0 {
				r = response{final: m.cmsLocked(code)}
			}
		}
	}
	m.mu.Unlock()
	if job != nil {
		r = s.runSend(job)
	}
	if r.final == "" {
		r.final = "OK"
	}
	m.mu.Lock()
	delay := m.lat.Command.draw(m.rng)
	if job == nil {
		delay += time.Duration(m.fault.Delay)
	}
	m.mu.Unlock()
	if !s.sleep(delay) {
		return
	}
	s.respond(r.info, r.final)
	m.pump()
}

// checkPDU decodes the hex after a prompt and checks the announced TPDU
// length. It returns a +CMS ERROR code on failure.
func (m *Modem) checkPDU(hexText string, length int) ([]byte, int, int) {
	pdu, err := decodeHexPDU(hexText)
	if err != nil || len(pdu) == 0 {
		return nil, 0, 304
	}
	n, err := tpduLen(pdu)
	if err != nil || n != length {
		return nil, 0, 304
	}
	return pdu, n, 0
}

// storeWrittenLocked stores a +CMGW message in <mem2>.
func (m *Modem) storeWrittenLocked(pdu []byte, n, stat int) response {
	st := m.stores[m.set.mem[1]]
	if m.fault.StorageFull {
		return response{final: m.cmsLocked(322)}
	}
	idx, okp := st.put(&slot{stat: stat, pdu: pdu, tpduLen: n})
	if !okp {
		return response{final: m.cmsLocked(322)}
	}
	return ok(fmt.Sprintf("+CMGW: %d", idx))
}

// submitJobLocked decodes an SMS-SUBMIT for sending.
func (m *Modem) submitJobLocked(pdu []byte, n int) (*sendJob, int) {
	msg, err := sms.Decode(pdu, sms.MO, true)
	if err != nil || msg.Type != sms.Submit {
		m.log.Debug("bad PDU", "pdu", strings.ToUpper(hex.EncodeToString(pdu)), "error", err)
		return nil, 304
	}
	return &sendJob{cmd: "+CMGS", pdu: pdu, tpduLen: n, msg: msg, to: msg.Address, explicit: msg.SMSC != ""}, 0
}

// encodeTextLocked builds the SMS-SUBMIT of a text-mode +CMGS/+CMGW from
// the prompt text and AT+CSMP.
func (m *Modem) encodeTextLocked(p *prompt) (sms.PDU, int) {
	text := string(p.buf)
	if m.set.cscs == "UCS2" || m.set.cscs == "HEX" {
		t, okt := m.decodeTextLocked(strings.TrimSpace(text))
		if !okt {
			return sms.PDU{}, 305
		}
		text = t
	}
	fo, vp, dcs := m.set.csmp[0], m.set.csmp[1], m.set.csmp[3]
	o := sms.SubmitOptions{
		StatusReport: fo&0x20 != 0,
		ForceUCS2:    dcs&0x0c == 0x08,
		MaxSegments:  1,
	}
	if fo&0x18 == 0x10 {
		o.Validity = relativeVP(vp)
	}
	to := p.da
	if to == "" {
		to = "0"
	}
	pdus, err := sms.EncodeSubmit(to, text, o)
	if err != nil || len(pdus) != 1 {
		return sms.PDU{}, 305
	}
	return pdus[0], 0
}

// relativeVP converts a TP-VP relative value to a duration (TS 23.040).
func relativeVP(v int) time.Duration {
	switch {
	case v <= 143:
		return time.Duration(v+1) * 5 * time.Minute
	case v <= 167:
		return 12*time.Hour + time.Duration(v-143)*30*time.Minute
	case v <= 196:
		return time.Duration(v-166) * 24 * time.Hour
	}
	return time.Duration(v-192) * 7 * 24 * time.Hour
}

// cmss sends a stored message.
func (s *session) cmss(c command, ps []param) response {
	m := s.m
	if c.kind == kindTest {
		return ok()
	}
	idx, oki := intParam(ps, 0, -1, 0, 100000)
	if c.kind != kindSet || !oki || idx < 0 {
		return response{final: m.cmsLocked(302)}
	}
	st := m.stores[m.set.mem[1]]
	sl, okg := st.get(idx)
	if !okg || sl == nil {
		return response{final: m.cmsLocked(321)}
	}
	job, code := m.submitJobLocked(sl.pdu, sl.tpduLen)
	if code != 0 {
		return response{final: m.cmsLocked(code)}
	}
	job.cmd, job.mem, job.index = "+CMSS", st.name, idx
	if da, okd := m.textParamLocked(ps, 1); okd && da != "" {
		job.to = da
	}
	return response{send: job}
}

// runSend waits the send latency, applies faults and hands the message to
// the network. It runs without the lock.
func (s *session) runSend(job *sendJob) response {
	m := s.m
	m.mu.Lock()
	code := 0
	if m.fault.SendError != 0 {
		code = m.fault.SendError
		if m.fault.SendErrorCount > 0 {
			m.fault.SendErrorCount--
			if m.fault.SendErrorCount == 0 {
				m.fault.SendError = 0
			}
		}
	}
	smsc := job.msg.SMSC
	if smsc == "" {
		smsc = m.csca
	}
	delay := m.lat.Send.draw(m.rng) + time.Duration(m.fault.Delay)
	m.mu.Unlock()
	if !s.sleep(delay) {
		return response{}
	}
	m.mu.Lock()
	switch {
	case code != 0:
		defer m.mu.Unlock()
		return response{final: m.cmsLocked(code)}
	case smsc == "":
		defer m.mu.Unlock()
		return response{final: m.cmsLocked(330)}
	case m.reg != regHome:
		defer m.mu.Unlock()
		return response{final: m.cmsLocked(331)}
	}
	mr := m.mr
	m.mr = (m.mr + 1) % 256
	if job.cmd == "+CMSS" {
		if st, okm := m.stores[job.mem]; okm {
			if sl, okg := st.get(job.index); okg && sl != nil {
				sl.stat = StatStoSent
			}
		}
	}
	sub := Submission{
		Time: time.Now(), Modem: m.name, From: m.id.MSISDN, To: job.to, MR: mr, SMSC: smsc,
		PDU: strings.ToUpper(hex.EncodeToString(job.pdu)), TPDULen: job.tpduLen,
		Text: job.msg.Text, Data: job.msg.Data, Encoding: job.msg.Encoding.String(),
		Concat: job.msg.Concat, StatusReport: job.msg.StatusReportRequested,
		Validity: job.msg.Validity, Message: job.msg,
	}
	if sub.StatusReport {
		d := m.lat.StatusReport.draw(m.rng)
		sent := sub.Time
		m.afterLocked(d, func() { m.sendReport(mr, sub.To, smsc, sent) })
	}
	m.mu.Unlock()
	// Outside the lock: the network may deliver to this very modem.
	if m.net != nil {
		m.net.record(sub)
	}
	return ok(fmt.Sprintf("%s: %d", job.cmd, mr))
}

// sendReport delivers the SMS-STATUS-REPORT of a submitted message.
func (m *Modem) sendReport(mr int, to, smsc string, sent time.Time) {
	status := byte(0)
	if m.net != nil {
		status = m.net.reportStatus(to)
	}
	pdu, err := sms.EncodeStatusReport(mr, to, sent, time.Now(), status, smsc)
	if err != nil {
		m.log.Warn("encode status report", "error", err)
		return
	}
	m.deliver(inbound{pdu: pdu.Bytes, tpduLen: pdu.TPDULen, report: true})
}

// cmgr reads one message from <mem1>.
func (s *session) cmgr(c command, ps []param) response {
	m := s.m
	if c.kind == kindTest {
		return ok()
	}
	idx, oki := intParam(ps, 0, -1, 0, 100000)
	if c.kind != kindSet || !oki || idx < 0 {
		return response{final: m.cmsLocked(302)}
	}
	st := m.stores[m.set.mem[0]]
	sl, okg := st.get(idx)
	if !okg || sl == nil {
		return response{final: m.cmsLocked(321)}
	}
	var lines []string
	if m.set.cmgf == 0 {
		lines = []string{fmt.Sprintf("+CMGR: %d,,%d", sl.stat, sl.tpduLen), strings.ToUpper(hex.EncodeToString(sl.pdu))}
	} else {
		lines = m.textRecordLocked("+CMGR: ", -1, sl)
	}
	if sl.stat == StatRecUnread {
		sl.stat = StatRecRead
	}
	return ok(lines...)
}

// cmgl lists messages of <mem1> with a status.
func (s *session) cmgl(c command, ps []param) response {
	m := s.m
	if c.kind == kindTest {
		if m.set.cmgf == 0 {
			return ok("+CMGL: (0-4)")
		}
		return ok(`+CMGL: ("REC UNREAD","REC READ","STO UNSENT","STO SENT","ALL")`)
	}
	want := StatRecUnread
	if len(ps) > 0 {
		if m.set.cmgf == 0 {
			v, okv := intParam(ps, 0, 0, 0, 4)
			if !okv {
				return response{final: m.cmsLocked(302)}
			}
			want = v
		} else {
			v, okv := statFromText(ps[0].val)
			if !okv {
				return response{final: m.cmsLocked(302)}
			}
			want = v
		}
	}
	st := m.stores[m.set.mem[0]]
	var lines []string
	for i, sl := range st.slots {
		if sl == nil || (want != statAll && sl.stat != want) {
			continue
		}
		if m.set.cmgf == 0 {
			lines = append(lines, fmt.Sprintf("+CMGL: %d,%d,,%d", i+1, sl.stat, sl.tpduLen),
				strings.ToUpper(hex.EncodeToString(sl.pdu)))
		} else {
			lines = append(lines, m.textRecordLocked("+CMGL: ", i+1, sl)...)
		}
		if sl.stat == StatRecUnread {
			sl.stat = StatRecRead
		}
	}
	return ok(lines...)
}

// cmgd deletes messages from <mem1>.
func (s *session) cmgd(c command, ps []param) response {
	m := s.m
	st := m.stores[m.set.mem[0]]
	if c.kind == kindTest {
		var idx []string
		for _, i := range st.indexes() {
			idx = append(idx, strconv.Itoa(i))
		}
		return ok(fmt.Sprintf("+CMGD: (%s),(0-4)", strings.Join(idx, ",")))
	}
	idx, oki := intParam(ps, 0, -1, 0, 100000)
	flag, okf := intParam(ps, 1, 0, 0, 4)
	if c.kind != kindSet || !oki || !okf || (idx < 0 && flag == 0) {
		return response{final: m.cmsLocked(302)}
	}
	if flag > 0 {
		st.delFlag(flag)
		return ok()
	}
	if !st.del(idx) {
		return response{final: m.cmsLocked(321)}
	}
	return ok()
}

// cnma acknowledges a +CMT or +CDS.
func (s *session) cnma(c command, ps []param) response {
	m := s.m
	if c.kind == kindTest {
		if m.set.cmgf == 0 {
			return ok("+CNMA: (0-2)")
		}
		return ok()
	}
	if m.awaitAck == nil {
		return response{final: m.cmsLocked(340)}
	}
	n, okn := intParam(ps, 0, 0, 0, 2)
	length, okl := intParam(ps, 1, 0, 0, 180)
	if !okn || !okl {
		return response{final: m.cmsLocked(302)}
	}
	in := *m.awaitAck
	m.awaitAck = nil
	m.stopTimerLocked(m.ackTimer)
	if n == 2 {
		// RP-ERROR: the network keeps the message and retries into storage.
		in.storeOnly = true
		m.pending = append([]inbound{in}, m.pending...)
	}
	if length > 0 && m.set.cmgf == 0 {
		return response{prompt: &prompt{cmd: "+CNMA", pdu: true, length: length}}
	}
	return ok()
}

// textRecordLocked formats a stored message for text mode: the header line
// (index < 0 for +CMGR) and the text.
func (m *Modem) textRecordLocked(prefix string, index int, sl *slot) []string {
	head := prefix
	if index >= 0 {
		head += strconv.Itoa(index) + ","
	}
	head += `"` + statNames[sl.stat] + `"`
	dir := sms.MT
	if sl.stat == StatStoUnsent || sl.stat == StatStoSent {
		dir = sms.MO
	}
	msg, err := sms.Decode(sl.pdu, dir, true)
	if err != nil {
		return []string{head + `,""`, ""}
	}
	if msg.Type == sms.StatusReport {
		return []string{fmt.Sprintf(`%s,6,%d,%s,%d,"%s","%s",%d`, head, msg.MR, m.quoteLocked(msg.Address),
			tonOf(msg), formatSCTS(msg.SCTS), formatSCTS(msg.Discharge), msg.Status)}
	}
	head += "," + m.quoteLocked(msg.Address) + ","
	if msg.Type == sms.Deliver {
		head += `,"` + formatSCTS(msg.SCTS) + `"`
	}
	body := m.textBodyLocked(msg)
	if m.set.csdh == 1 {
		head += fmt.Sprintf(",%d,%d", tonOf(msg), len([]rune(msg.Text)))
	}
	return []string{head, body}
}

func (m *Modem) textBodyLocked(msg *sms.Message) string {
	switch {
	case msg.Encoding == sms.Binary:
		return strings.ToUpper(hex.EncodeToString(msg.Data))
	case msg.Encoding == sms.UCS2 || m.set.cscs == "UCS2":
		return ucs2Hex(msg.Text)
	case m.set.cscs == "HEX":
		return strings.ToUpper(hex.EncodeToString([]byte(msg.Text)))
	}
	return msg.Text
}

func tonOf(msg *sms.Message) int {
	return 0x80 | msg.AddressTON<<4 | msg.AddressNPI
}

// isStatusReport tells whether a stored received PDU is an SMS-STATUS-REPORT.
func isStatusReport(pdu []byte, stat int) bool {
	if stat > StatRecRead || len(pdu) == 0 || int(pdu[0])+1 >= len(pdu) {
		return false
	}
	return pdu[int(pdu[0])+1]&0x03 == 0x02
}
