package sim

import (
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"
)

var cmeText = map[int]string{
	3: "operation not allowed", 4: "operation not supported", 10: "SIM not inserted",
	11: "SIM PIN required", 12: "SIM PUK required", 13: "SIM failure", 16: "incorrect password",
	21: "invalid index", 30: "no network service", 50: "incorrect parameters", 100: "unknown",
}

var cmsText = map[int]string{
	38: "network out of order", 300: "ME failure", 302: "operation not allowed",
	303: "operation not supported", 304: "invalid PDU mode parameter", 305: "invalid text mode parameter",
	310: "SIM not inserted", 311: "SIM PIN required", 316: "SIM PUK required", 321: "invalid memory index",
	322: "memory full", 330: "SMSC address unknown", 331: "no network service", 332: "network timeout",
	340: "no +CNMA acknowledgement expected", 500: "unknown error",
}

// cmeLocked formats a +CME ERROR according to AT+CMEE.
func (m *Modem) cmeLocked(code int) string {
	switch m.set.cmee {
	case 1:
		return "+CME ERROR: " + strconv.Itoa(code)
	case 2:
		if t, ok := cmeText[code]; ok {
			return "+CME ERROR: " + t
		}
		return "+CME ERROR: " + strconv.Itoa(code)
	}
	return "ERROR"
}

// cmsLocked formats a +CMS ERROR according to AT+CMEE.
func (m *Modem) cmsLocked(code int) string {
	switch m.set.cmee {
	case 1:
		return "+CMS ERROR: " + strconv.Itoa(code)
	case 2:
		if t, ok := cmsText[code]; ok {
			return "+CMS ERROR: " + t
		}
		return "+CMS ERROR: " + strconv.Itoa(code)
	}
	return "ERROR"
}

// smsCommands answer +CMS ERROR rather than +CME ERROR.
var smsCommands = map[string]bool{
	"+CSMS": true, "+CPMS": true, "+CMGF": true, "+CSCA": true, "+CSMP": true, "+CSDH": true,
	"+CNMI": true, "+CMGL": true, "+CMGR": true, "+CNMA": true, "+CMGS": true, "+CMSS": true,
	"+CMGW": true, "+CMGD": true, "+CMMS": true,
}

// simCommands need an unlocked SIM.
var simCommands = map[string]bool{
	"+CIMI": true, "+CNUM": true, "+CSCA": true, "+CPMS": true, "+CMGS": true, "+CMGW": true,
	"+CMSS": true, "+CMGR": true, "+CMGL": true, "+CMGD": true, "+CUSD": true, "+CSMS": true,
	"+COPS": true, "+CNMA": true,
}

// errLocked returns the right error for a command: +CMS for SMS commands.
func (m *Modem) errLocked(c command, cme, cms int) response {
	if smsCommands[c.name] {
		return response{final: m.cmsLocked(cms)}
	}
	return response{final: m.cmeLocked(cme)}
}

// exec runs one command.
func (s *session) exec(c command) response {
	m := s.m
	m.mu.Lock()
	defer m.mu.Unlock()
	return s.execLocked(c)
}

func (s *session) execLocked(c command) response {
	m := s.m
	ps := splitParams(c.args)
	bad := func() response { return m.errLocked(c, 50, 302) }
	if simCommands[c.name] && c.kind != kindTest {
		switch m.pin {
		case pinNeedPIN:
			return m.errLocked(c, 11, 311)
		case pinNeedPUK:
			return m.errLocked(c, 12, 316)
		case pinBlocked:
			return m.errLocked(c, 13, 310)
		}
	}
	if len(c.name) > 1 && c.name[0] == 'S' && isDigit(c.name[1]) {
		return s.sreg(c)
	}
	switch c.name {
	case "E", "V", "Q":
		v, okv := basicInt(c.args, 0, 1)
		if !okv {
			return response{final: "ERROR"}
		}
		switch c.name {
		case "E":
			m.set.echo = v == 1
		case "V":
			m.set.verbose = v == 1
		case "Q":
			m.set.quiet = v == 1
		}
		return ok()
	case "Z", "&F":
		m.resetSettings()
		return ok()
	case "&C", "&D", "&K", "&W", "&S", "&V", "X", "L", "M", "&E":
		return ok()
	case "I":
		return ok(m.atiLocked()...)
	case "H":
		m.endCallLocked()
		return ok()
	case "A":
		if m.call == nil {
			return response{final: "NO CARRIER"}
		}
		m.endCallLocked()
		return ok()
	case "D":
		if m.reg != regHome || !strings.HasSuffix(c.args, ";") {
			return response{final: "NO CARRIER"}
		}
		m.afterLocked(time.Second, func() {
			m.mu.Lock()
			m.urcLocked("NO CARRIER")
			m.mu.Unlock()
		})
		return ok()
	case "O":
		return response{final: "NO CARRIER"}
	case "+CGMI", "+GMI":
		return s.infoLocked(c, m.pers.Manufacturer)
	case "+CGMM", "+GMM":
		return s.infoLocked(c, m.pers.Model)
	case "+CGMR", "+GMR":
		return s.infoLocked(c, m.pers.Revision)
	case "+CGSN", "+GSN":
		return s.infoLocked(c, m.id.IMEI)
	case "+CIMI":
		if c.kind == kindTest {
			return ok()
		}
		return ok(m.id.IMSI)
	case "+CCID", "^ICCID", "+ICCID", "+QCCID", "^SCID":
		if c.kind == kindTest {
			return ok()
		}
		if c.name == "+CCID" && m.pers.ICCIDPrefix == "" {
			return ok(m.id.ICCID)
		}
		return ok(c.name + ": " + m.id.ICCID)
	case "+CNUM":
		if c.kind == kindTest {
			return ok()
		}
		return ok(fmt.Sprintf(`+CNUM: "",%s,%d`, m.quoteLocked(m.id.MSISDN), numType(m.id.MSISDN)))
	case "+GCAP":
		return ok("+GCAP: +CGSM,+FCLASS,+DS")
	case "+CMEE":
		return s.intSetting(c, &m.set.cmee, 0, 2, "+CMEE: (0-2)")
	case "+CFUN":
		return s.cfun(c, ps)
	case "+CSCS":
		switch c.kind {
		case kindTest:
			return ok(`+CSCS: ("IRA","GSM","UCS2")`)
		case kindRead:
			return ok(`+CSCS: "` + m.set.cscs + `"`)
		case kindSet:
			cs := strings.ToUpper(strParam(ps, 0, ""))
			switch cs {
			case "GSM", "IRA", "UCS2":
				m.set.cscs = cs
				return ok()
			}
			return bad()
		}
		return bad()
	case "+CPIN":
		return s.cpin(c, ps)
	case "+CSQ":
		if c.kind == kindTest {
			return ok("+CSQ: (0-31,99),(0-7,99)")
		}
		if c.kind != kindAction {
			return bad()
		}
		rssi := 21
		if m.cfun != 1 {
			rssi = 99
		}
		return ok(fmt.Sprintf("+CSQ: %d,99", rssi))
	case "+CREG":
		return s.regCmd(c, &m.set.creg)
	case "+CGREG":
		return s.regCmd(c, &m.set.cgreg)
	case "+CEREG":
		return s.regCmd(c, &m.set.cereg)
	case "+COPS":
		switch c.kind {
		case kindRead:
			if m.reg != regHome {
				return ok("+COPS: 0")
			}
			return ok(fmt.Sprintf(`+COPS: 0,0,"Virtual Telco",%d`, m.pers.AcT))
		case kindTest:
			return ok(fmt.Sprintf(`+COPS: (2,"Virtual Telco","VTelco","26299",%d),,(0-4),(0-2)`, m.pers.AcT))
		case kindSet:
			if _, okv := intParam(ps, 0, 0, 0, 4); !okv {
				return bad()
			}
			return ok()
		}
		return bad()
	case "+CSCA":
		switch c.kind {
		case kindRead:
			return ok(fmt.Sprintf("+CSCA: %s,%d", m.quoteLocked(m.csca), numType(m.csca)))
		case kindSet:
			num, okn := m.textParamLocked(ps, 0)
			if !okn || num == "" {
				return bad()
			}
			m.csca = num
			return ok()
		case kindTest:
			return ok()
		}
		return bad()
	case "+CSMS":
		switch c.kind {
		case kindTest:
			return ok("+CSMS: (0,1)")
		case kindRead:
			return ok(fmt.Sprintf("+CSMS: %d,1,1,1", m.set.csms))
		case kindSet:
			v, okv := intParam(ps, 0, -1, 0, 1)
			if !okv || v < 0 {
				return bad()
			}
			m.set.csms = v
			return ok("+CSMS: 1,1,1")
		}
		return bad()
	case "+CPMS":
		return s.cpms(c, ps)
	case "+CNMI":
		return s.cnmi(c, ps)
	case "+CMGF":
		return s.intSetting(c, &m.set.cmgf, 0, 1, "+CMGF: (0,1)")
	case "+CSDH":
		return s.intSetting(c, &m.set.csdh, 0, 1, "+CSDH: (0,1)")
	case "+CMMS":
		return s.intSetting(c, &m.set.cmms, 0, 2, "+CMMS: (0-2)")
	case "+CSMP":
		switch c.kind {
		case kindRead:
			p := m.set.csmp
			return ok(fmt.Sprintf("+CSMP: %d,%d,%d,%d", p[0], p[1], p[2], p[3]))
		case kindTest:
			return ok()
		case kindSet:
			for i := 0; i < 4 && i < len(ps); i++ {
				v, okv := intParam(ps, i, m.set.csmp[i], 0, 255)
				if !okv {
					return bad()
				}
				m.set.csmp[i] = v
			}
			return ok()
		}
		return bad()
	case "+CMGS", "+CMGW":
		return s.cmgsPrompt(c, ps)
	case "+CMSS":
		return s.cmss(c, ps)
	case "+CMGR":
		return s.cmgr(c, ps)
	case "+CMGL":
		return s.cmgl(c, ps)
	case "+CMGD":
		return s.cmgd(c, ps)
	case "+CNMA":
		return s.cnma(c, ps)
	case "+CUSD":
		return s.cusd(c, ps)
	case "+CLIP":
		switch c.kind {
		case kindRead:
			return ok(fmt.Sprintf("+CLIP: %d,1", m.set.clip))
		}
		return s.intSetting(c, &m.set.clip, 0, 1, "+CLIP: (0,1)")
	case "+CRC":
		return s.intSetting(c, &m.set.crc, 0, 1, "+CRC: (0,1)")
	case "+CHUP":
		m.endCallLocked()
		return ok()
	case "+CLCC":
		if c.kind == kindTest {
			return ok()
		}
		if m.call == nil {
			return ok()
		}
		return ok(fmt.Sprintf(`+CLCC: 1,1,4,0,0,%s,%d`, m.quoteLocked(m.call.from), numType(m.call.from)))
	case "+CPAS":
		if c.kind == kindTest {
			return ok("+CPAS: (0-5)")
		}
		if m.call != nil {
			return ok("+CPAS: 3")
		}
		return ok("+CPAS: 0")
	case "+CBC":
		return ok("+CBC: 0,100")
	case "+CGATT":
		switch c.kind {
		case kindRead:
			if m.reg == regHome {
				return ok("+CGATT: 1")
			}
			return ok("+CGATT: 0")
		case kindTest:
			return ok("+CGATT: (0,1)")
		}
		return ok()
	case "+CCLK":
		if c.kind == kindRead {
			return ok(`+CCLK: "` + formatSCTS(time.Now()) + `"`)
		}
		return ok()
	case "+IPR":
		switch c.kind {
		case kindRead:
			return ok("+IPR: 115200")
		case kindTest:
			return ok("+IPR: (),(1200,2400,4800,9600,19200,38400,57600,115200,230400,460800,921600)")
		}
		return ok()
	case "+IFC", "+ICF":
		return ok()
	case "^PORTSEL":
		switch c.kind {
		case kindRead:
			return ok("^PORTSEL: 0")
		case kindTest:
			return ok("^PORTSEL: (0-1)")
		case kindSet:
			if _, okv := intParam(ps, 0, 0, 0, 1); !okv {
				return bad()
			}
		}
		return ok()
	case "^SYSINFO":
		if m.reg != regHome {
			return ok("^SYSINFO: 0,0,0,0,1,,0")
		}
		return ok("^SYSINFO: 2,3,0,5,1,,4")
	case "^HWVER":
		return ok(`^HWVER:"CD1E173M"`)
	case "^CURC":
		switch c.kind {
		case kindRead:
			return ok(fmt.Sprintf("^CURC: %d", b2i(m.set.curc)))
		case kindSet:
			v, okv := intParam(ps, 0, 0, 0, 2)
			if !okv {
				return bad()
			}
			m.set.curc = v != 0
			return ok()
		}
		return ok()
	}
	return response{final: m.pers.NotSupported}
}

// basicInt parses the digits of a basic command (default 0).
func basicInt(s string, lo, hi int) (int, bool) {
	if s == "" {
		return 0, true
	}
	v, err := strconv.Atoi(s)
	if err != nil || v < lo || v > hi {
		return 0, false
	}
	return v, true
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func (m *Modem) atiLocked() []string {
	switch m.pers.Name {
	case "huawei":
		return []string{"Manufacturer: " + m.pers.Manufacturer, "Model: " + m.pers.Model,
			"Revision: " + m.pers.Revision, "IMEI: " + m.id.IMEI, "+GCAP: +CGSM,+DS,+ES"}
	case "quectel":
		return []string{m.pers.Manufacturer, m.pers.Model, "Revision: " + m.pers.Revision}
	case "simcom":
		return []string{strings.TrimPrefix(m.pers.Model, "SIMCOM_") + " " + strings.TrimPrefix(m.pers.Revision, "Revision:")}
	}
	return []string{m.pers.Manufacturer + " " + m.pers.Model, "Revision: " + m.pers.Revision}
}

// infoLocked answers an identification command.
func (s *session) infoLocked(c command, v string) response {
	if c.kind == kindTest {
		return ok()
	}
	if c.kind != kindAction {
		return response{final: s.m.pers.NotSupported}
	}
	if s.m.pers.InfoPrefix && strings.HasPrefix(c.name, "+C") {
		return ok(c.name + ": " + v)
	}
	return ok(v)
}

// intSetting handles read/test/set of a simple integer setting.
func (s *session) intSetting(c command, p *int, lo, hi int, test string) response {
	m := s.m
	switch c.kind {
	case kindRead:
		return ok(fmt.Sprintf("%s: %d", c.name, *p))
	case kindTest:
		return ok(test)
	case kindSet:
		v, okv := intParam(splitParams(c.args), 0, lo, lo, hi)
		if !okv {
			return m.errLocked(c, 50, 302)
		}
		*p = v
		return ok()
	}
	return ok()
}

func (s *session) sreg(c command) response {
	m := s.m
	n, err := strconv.Atoi(c.name[1:])
	if err != nil || n < 0 || n >= len(m.set.sreg) {
		return response{final: "ERROR"}
	}
	switch c.kind {
	case kindRead:
		return ok(fmt.Sprintf("%03d", m.set.sreg[n]))
	case kindSet:
		v, okv := basicInt(c.args, 0, 255)
		if !okv {
			return response{final: "ERROR"}
		}
		m.set.sreg[n] = v
	}
	return ok()
}

func (s *session) cfun(c command, ps []param) response {
	m := s.m
	switch c.kind {
	case kindRead:
		return ok(fmt.Sprintf("+CFUN: %d", m.cfun))
	case kindTest:
		return ok("+CFUN: (0,1,4),(0-1)")
	case kindSet:
		fun, ok1 := intParam(ps, 0, -1, 0, 7)
		rst, ok2 := intParam(ps, 1, 0, 0, 1)
		if !ok1 || !ok2 || fun < 0 || (fun != 0 && fun != 1 && fun != 4) {
			return m.errLocked(c, 50, 0)
		}
		if rst == 1 {
			m.powerOn()
		}
		m.cfun = fun
		m.updateRegLocked()
		return ok()
	}
	return m.errLocked(c, 50, 0)
}

func (s *session) cpin(c command, ps []param) response {
	m := s.m
	switch c.kind {
	case kindTest:
		return ok()
	case kindRead:
		switch m.pin {
		case pinNeedPIN:
			return ok("+CPIN: SIM PIN")
		case pinNeedPUK:
			return ok("+CPIN: SIM PUK")
		case pinBlocked:
			return response{final: m.cmeLocked(13)}
		}
		return ok("+CPIN: READY")
	case kindSet:
		code := strParam(ps, 0, "")
		switch m.pin {
		case pinReady:
			return response{final: m.cmeLocked(3)}
		case pinBlocked:
			return response{final: m.cmeLocked(13)}
		case pinNeedPIN:
			if code == m.pinCode {
				m.pin = pinReady
				m.pinTries = 3
				m.updateRegLocked()
				return ok()
			}
			m.pinTries--
			if m.pinTries <= 0 {
				m.pin = pinNeedPUK
			}
			return response{final: m.cmeLocked(16)}
		case pinNeedPUK:
			newPIN := strParam(ps, 1, "")
			if code == m.pukCode && newPIN != "" {
				m.pinCode = newPIN
				m.pin = pinReady
				m.pinTries, m.pukTries = 3, 10
				m.updateRegLocked()
				return ok()
			}
			m.pukTries--
			if m.pukTries <= 0 {
				m.pin = pinBlocked
			}
			return response{final: m.cmeLocked(16)}
		}
	}
	return m.errLocked(c, 50, 0)
}

func (s *session) regCmd(c command, p *int) response {
	m := s.m
	switch c.kind {
	case kindRead:
		return ok(m.regLine(c.name, *p, true))
	case kindTest:
		return ok(c.name + ": (0-2)")
	case kindSet:
		v, okv := intParam(splitParams(c.args), 0, 0, 0, 2)
		if !okv {
			return m.errLocked(c, 50, 0)
		}
		*p = v
		return ok()
	}
	return m.errLocked(c, 50, 0)
}

func (m *Modem) memListLocked(withSR bool) string {
	var names []string
	for _, n := range []string{"SM", "ME", "SR"} {
		if _, has := m.stores[n]; has && (withSR || n != "SR") {
			names = append(names, `"`+n+`"`)
		}
	}
	return "(" + strings.Join(names, ",") + ")"
}

// useLocked returns used/total of a memory, honouring the StorageFull fault.
func (m *Modem) useLocked(name string) (int, int) {
	st := m.stores[name]
	if m.fault.StorageFull {
		return st.capacity(), st.capacity()
	}
	return st.used(), st.capacity()
}

func (s *session) cpms(c command, ps []param) response {
	m := s.m
	switch c.kind {
	case kindTest:
		return ok(fmt.Sprintf("+CPMS: %s,%s,%s", m.memListLocked(true), m.memListLocked(false), m.memListLocked(false)))
	case kindRead:
		var parts []string
		for _, name := range m.set.mem {
			u, t := m.useLocked(name)
			parts = append(parts, fmt.Sprintf(`"%s",%d,%d`, name, u, t))
		}
		return ok("+CPMS: " + strings.Join(parts, ","))
	case kindSet:
		if len(ps) == 0 || len(ps) > 3 {
			return m.errLocked(c, 50, 302)
		}
		mem := m.set.mem
		for i, p := range ps {
			if p.empty() {
				continue
			}
			name := strings.ToUpper(p.val)
			if _, has := m.stores[name]; !has || (i > 0 && name == "SR") {
				return m.errLocked(c, 50, 302)
			}
			mem[i] = name
		}
		m.set.mem = mem
		var parts []string
		for _, name := range mem {
			u, t := m.useLocked(name)
			parts = append(parts, fmt.Sprintf("%d,%d", u, t))
		}
		return ok("+CPMS: " + strings.Join(parts, ","))
	}
	return m.errLocked(c, 50, 302)
}

func (s *session) cnmi(c command, ps []param) response {
	m := s.m
	switch c.kind {
	case kindTest:
		return ok("+CNMI: (0-3),(0-3),(0,2),(0-2),(0,1)")
	case kindRead:
		n := m.set.cnmi
		return ok(fmt.Sprintf("+CNMI: %d,%d,%d,%d,%d", n[0], n[1], n[2], n[3], n[4]))
	case kindSet:
		his := [5]int{3, 3, 3, 2, 1}
		n := m.set.cnmi
		if len(ps) > 5 {
			return m.errLocked(c, 50, 303)
		}
		for i := range ps {
			v, okv := intParam(ps, i, n[i], 0, his[i])
			if !okv {
				return m.errLocked(c, 50, 303)
			}
			n[i] = v
		}
		old := m.set.cnmi[0]
		m.set.cnmi = n
		if old == 0 && n[0] != 0 {
			if n[4] == 0 {
				m.urcLocked(m.buffered...)
			}
			m.buffered = nil
		}
		return ok()
	}
	return m.errLocked(c, 50, 303)
}

func (s *session) cusd(c command, ps []param) response {
	m := s.m
	switch c.kind {
	case kindTest:
		return ok("+CUSD: (0-2)")
	case kindRead:
		return ok(fmt.Sprintf("+CUSD: %d", m.set.cusd))
	case kindSet:
		n, okv := intParam(ps, 0, 0, 0, 2)
		if !okv {
			return m.errLocked(c, 50, 0)
		}
		if n == 2 {
			return ok()
		}
		m.set.cusd = n
		code, okc := m.textParamLocked(ps, 1)
		if !okc {
			return m.errLocked(c, 50, 0)
		}
		if code == "" {
			return ok()
		}
		if m.reg != regHome {
			return response{final: m.cmeLocked(30)}
		}
		d := m.lat.USSD.draw(m.rng)
		m.afterLocked(d, func() { m.ussdReply(code) })
		return ok()
	}
	return m.errLocked(c, 50, 0)
}

// ussdReply asks the network and presents the answer.
func (m *Modem) ussdReply(code string) {
	reply, known := "", false
	if m.net != nil {
		reply, known = m.net.ussdAnswer(m, code)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.set.cusd != 1 {
		return
	}
	if !known {
		m.urcLocked("+CUSD: 4")
		return
	}
	if m.set.cscs == "UCS2" {
		m.urcLocked(fmt.Sprintf(`+CUSD: 0,"%s",72`, ucs2Hex(reply)))
		return
	}
	m.urcLocked(fmt.Sprintf(`+CUSD: 0,"%s",15`, strings.ReplaceAll(reply, `"`, "'")))
}

// endCallLocked stops an incoming call.
func (m *Modem) endCallLocked() {
	if m.call != nil {
		m.stopTimerLocked(m.call.timer)
		m.call = nil
	}
}

// ring starts an incoming call from number: RING (or +CRING) and +CLIP
// every RingEvery, five times, then the caller gives up.
func (m *Modem) ring(from string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.plugged {
		return ErrUnplugged
	}
	if m.reg != regHome {
		return fmt.Errorf("sim: modem %s not registered", m.name)
	}
	if m.call != nil {
		return fmt.Errorf("sim: modem %s busy", m.name)
	}
	cl := &call{from: from}
	m.call = cl
	m.ringLocked(cl)
	return nil
}

func (m *Modem) ringLocked(cl *call) {
	if m.call != cl {
		return
	}
	if cl.rings >= 5 {
		m.call = nil
		m.urcLocked("NO CARRIER")
		return
	}
	cl.rings++
	lines := []string{"RING"}
	if m.set.crc == 1 {
		lines[0] = "+CRING: VOICE"
	}
	if m.set.clip == 1 {
		lines = append(lines, fmt.Sprintf(`+CLIP: %s,%d,,,,0`, m.quoteLocked(cl.from), numType(cl.from)))
	}
	m.urcLocked(lines...)
	every := time.Duration(m.lat.RingEvery)
	if every <= 0 {
		every = 200 * time.Millisecond
	}
	cl.timer = m.afterLocked(every, func() {
		m.mu.Lock()
		m.ringLocked(cl)
		m.mu.Unlock()
	})
}

// numType is the type-of-address octet for a number.
func numType(n string) int {
	if strings.HasPrefix(n, "+") {
		return 145
	}
	return 129
}

// quoteLocked quotes a string in the current character set.
func (m *Modem) quoteLocked(s string) string {
	switch m.set.cscs {
	case "UCS2":
		return `"` + ucs2Hex(s) + `"`
	case "HEX":
		return `"` + strings.ToUpper(hex.EncodeToString([]byte(s))) + `"`
	}
	return `"` + s + `"`
}

// textParamLocked returns a string parameter decoded from the current
// character set.
func (m *Modem) textParamLocked(ps []param, i int) (string, bool) {
	v := strParam(ps, i, "")
	return m.decodeTextLocked(v)
}

func (m *Modem) decodeTextLocked(v string) (string, bool) {
	switch m.set.cscs {
	case "UCS2":
		s, err := fromUCS2Hex(v)
		if err != nil {
			return v, false
		}
		return s, true
	case "HEX":
		b, err := hex.DecodeString(v)
		if err != nil {
			return v, false
		}
		return string(b), true
	}
	return v, true
}

// ucs2Hex encodes s as upper-case hex UTF-16BE.
func ucs2Hex(s string) string {
	var b strings.Builder
	for _, u := range utf16.Encode([]rune(s)) {
		fmt.Fprintf(&b, "%04X", u)
	}
	return b.String()
}

func fromUCS2Hex(s string) (string, error) {
	b, err := hex.DecodeString(s)
	if err != nil || len(b)%2 != 0 {
		return "", fmt.Errorf("sim: bad UCS2 hex %q", s)
	}
	u := make([]uint16, len(b)/2)
	for i := range u {
		u[i] = uint16(b[2*i])<<8 | uint16(b[2*i+1])
	}
	return string(utf16.Decode(u)), nil
}

// formatSCTS formats a time as "yy/MM/dd,hh:mm:ss±zz" (quarter hours).
func formatSCTS(t time.Time) string {
	_, off := t.Zone()
	sign := '+'
	if off < 0 {
		sign, off = '-', -off
	}
	return fmt.Sprintf("%s%c%02d", t.Format("06/01/02,15:04:05"), sign, off/900)
}
