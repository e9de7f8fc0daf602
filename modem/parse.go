package modem

import (
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// errNoLine means a reply lacked the line a command should have produced.
var errNoLine = errors.New("modem: reply lacks the expected line")

// splitFields splits the parameters of an information line at commas that are not inside
// double quotes, and trims quotes and spaces from each.
func splitFields(s string) []string {
	var out []string
	var b strings.Builder
	inQ := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"':
			inQ = !inQ
		case c == ',' && !inQ:
			out = append(out, strings.TrimSpace(b.String()))
			b.Reset()
		default:
			b.WriteByte(c)
		}
	}
	return append(out, strings.TrimSpace(b.String()))
}

// params returns the fields of the first line in lines starting with prefix (e.g.
// "+CSQ:"), skipping unsolicited noise among them. "+CDS:25" without a space is fine.
func params(lines []string, prefix string) ([]string, error) {
	for _, l := range lines {
		if rest, ok := strings.CutPrefix(l, prefix); ok {
			return splitFields(strings.TrimSpace(rest)), nil
		}
	}
	return nil, fmt.Errorf("%w %q", errNoLine, prefix)
}

func atoi(s string) (int, error) {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		return 0, fmt.Errorf("modem: %q is not a number", s)
	}
	return n, nil
}

// Signal is a +CSQ reading.
type Signal struct {
	RSSI int // 0–31, 99 unknown
	BER  int // 0–7, 99 unknown
	// DBm is the received signal strength, or 0 when unknown.
	DBm int
}

func parseCSQ(lines []string) (Signal, error) {
	f, err := params(lines, "+CSQ:")
	if err != nil {
		return Signal{}, err
	}
	if len(f) < 2 {
		return Signal{}, fmt.Errorf("modem: +CSQ: want 2 fields, got %q", f)
	}
	rssi, err1 := atoi(f[0])
	ber, err2 := atoi(f[1])
	if err := errors.Join(err1, err2); err != nil {
		return Signal{}, err
	}
	s := Signal{RSSI: rssi, BER: ber}
	if rssi >= 0 && rssi <= 31 {
		s.DBm = -113 + 2*rssi // 27.007 §8.5: 0 → -113 dBm or less, 31 → -51 dBm or more
	}
	return s, nil
}

// Registration is the <stat> of +CREG/+CGREG/+CEREG.
type Registration int

// Registration states from 3GPP TS 27.007 §7.2.
const (
	RegNotSearching Registration = 0
	RegHome         Registration = 1
	RegSearching    Registration = 2
	RegDenied       Registration = 3
	RegUnknown      Registration = 4
	RegRoaming      Registration = 5
)

// Registered is true for home and roaming registration (and the SMS-only variants 6, 7).
func (r Registration) Registered() bool { return r == RegHome || r == RegRoaming || r == 6 || r == 7 }

func (r Registration) String() string {
	switch r {
	case RegNotSearching:
		return "not registered"
	case RegHome:
		return "home"
	case RegSearching:
		return "searching"
	case RegDenied:
		return "denied"
	case RegUnknown:
		return "unknown"
	case RegRoaming:
		return "roaming"
	case 6:
		return "home (SMS only)"
	case 7:
		return "roaming (SMS only)"
	}
	return "stat " + strconv.Itoa(int(r))
}

// parseReg parses the answer to AT+CREG? (prefix "+CREG:"), +CGREG? or +CEREG?:
// "<n>,<stat>[,<lac>,<ci>[,<act>]]".
func parseReg(lines []string, prefix string) (Registration, error) {
	f, err := params(lines, prefix)
	if err != nil {
		return RegUnknown, err
	}
	if len(f) < 2 {
		return RegUnknown, fmt.Errorf("modem: %s want <n>,<stat>, got %q", prefix, f)
	}
	st, err := atoi(f[1])
	if err != nil {
		return RegUnknown, err
	}
	return Registration(st), nil
}

// parseCOPS returns the operator name of "+COPS: <mode>[,<format>,<oper>[,<act>]]", or ""
// when the modem is not registered.
func parseCOPS(lines []string) (string, error) {
	f, err := params(lines, "+COPS:")
	if err != nil {
		return "", err
	}
	if len(f) < 3 {
		return "", nil
	}
	return f[2], nil
}

// MemoryUse is how full one message storage is.
type MemoryUse struct {
	Name  string `json:"name"`
	Used  int    `json:"used"`
	Total int    `json:"total"`
}

// parseCPMSQuery parses "+CPMS: <mem1>,<used1>,<total1>,<mem2>,...".
func parseCPMSQuery(lines []string) ([]MemoryUse, error) {
	f, err := params(lines, "+CPMS:")
	if err != nil {
		return nil, err
	}
	var out []MemoryUse
	for i := 0; i+2 < len(f); i += 3 {
		used, err1 := atoi(f[i+1])
		total, err2 := atoi(f[i+2])
		if err := errors.Join(err1, err2); err != nil {
			return nil, err
		}
		out = append(out, MemoryUse{Name: f[i], Used: used, Total: total})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("modem: +CPMS: no storage in %q", f)
	}
	return out, nil
}

// parseCPMSTest parses "+CPMS: (<mem1 list>),(<mem2 list>),(<mem3 list>)" into the
// storages usable for reading (mem1).
func parseCPMSTest(lines []string) ([]string, error) {
	for _, l := range lines {
		rest, ok := strings.CutPrefix(l, "+CPMS:")
		if !ok {
			continue
		}
		rest = strings.TrimSpace(rest)
		if !strings.HasPrefix(rest, "(") {
			return nil, fmt.Errorf("modem: +CPMS=? reply %q has no list", l)
		}
		end := strings.IndexByte(rest, ')')
		if end < 0 {
			return nil, fmt.Errorf("modem: +CPMS=? reply %q is unterminated", l)
		}
		var mems []string
		for _, m := range splitFields(rest[1:end]) {
			if m != "" {
				mems = append(mems, m)
			}
		}
		return mems, nil
	}
	return nil, fmt.Errorf("%w %q", errNoLine, "+CPMS:")
}

// StoredPDU is one message read from a modem storage.
type StoredPDU struct {
	Index int
	// Stat is 0 received unread, 1 received read, 2 stored unsent, 3 stored sent.
	Stat int
	PDU  []byte
}

// decodePDULine returns the bytes of a hex PDU line whose TPDU is tpduLen octets long
// (the SMSC field comes first and has its own length octet).
func decodePDULine(line string, tpduLen int) ([]byte, error) {
	b, err := hex.DecodeString(strings.TrimSpace(line))
	if err != nil {
		return nil, fmt.Errorf("modem: PDU line is not hex: %w", err)
	}
	if len(b) == 0 {
		return nil, errors.New("modem: empty PDU line")
	}
	if want := 1 + int(b[0]) + tpduLen; tpduLen > 0 && len(b) != want {
		return nil, fmt.Errorf("modem: PDU has %d octets, header said %d (+SMSC %d)", len(b), tpduLen, b[0]+1)
	}
	return b, nil
}

// isHexLine reports whether l looks like a PDU line (non-empty, even length, all hex).
func isHexLine(l string) bool {
	l = strings.TrimSpace(l)
	if l == "" || len(l)%2 != 0 {
		return false
	}
	for i := 0; i < len(l); i++ {
		c := l[i]
		if !(c >= '0' && c <= '9' || c >= 'A' && c <= 'F' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// parseCMGL parses the answer to AT+CMGL=4 in PDU mode: "+CMGL: <index>,<stat>,[<alpha>],
// <length>" each followed by its PDU line. Unsolicited lines in between are skipped; a
// header whose PDU is missing or broken is reported in bad without losing the others.
func parseCMGL(lines []string) (msgs []StoredPDU, bad []error) {
	for i := 0; i < len(lines); i++ {
		rest, ok := strings.CutPrefix(lines[i], "+CMGL:")
		if !ok {
			continue
		}
		f := splitFields(strings.TrimSpace(rest))
		if len(f) < 3 {
			bad = append(bad, fmt.Errorf("modem: +CMGL header %q is short", lines[i]))
			continue
		}
		idx, err1 := atoi(f[0])
		stat, err2 := atoi(f[1])
		length, err3 := atoi(f[len(f)-1])
		if err := errors.Join(err1, err2, err3); err != nil {
			bad = append(bad, fmt.Errorf("modem: +CMGL header %q: %w", lines[i], err))
			continue
		}
		j := i + 1
		for j < len(lines) && !isHexLine(lines[j]) && !strings.HasPrefix(lines[j], "+CMGL:") {
			j++ // vendor noise between header and PDU
		}
		if j >= len(lines) || !isHexLine(lines[j]) {
			bad = append(bad, fmt.Errorf("modem: +CMGL index %d has no PDU line", idx))
			continue
		}
		pdu, err := decodePDULine(lines[j], length)
		if err != nil {
			bad = append(bad, fmt.Errorf("modem: +CMGL index %d: %w", idx, err))
			i = j
			continue
		}
		msgs = append(msgs, StoredPDU{Index: idx, Stat: stat, PDU: pdu})
		i = j
	}
	return msgs, bad
}

// parseCMGR parses the answer to AT+CMGR=<index> in PDU mode: "+CMGR: <stat>,[<alpha>],
// <length>" then the PDU line. An empty slot answers OK alone: it returns ok=false.
func parseCMGR(lines []string, index int) (StoredPDU, bool, error) {
	for i, l := range lines {
		rest, found := strings.CutPrefix(l, "+CMGR:")
		if !found {
			continue
		}
		f := splitFields(strings.TrimSpace(rest))
		if len(f) < 2 {
			return StoredPDU{}, false, fmt.Errorf("modem: +CMGR header %q is short", l)
		}
		stat, err1 := atoi(f[0])
		length, err2 := atoi(f[len(f)-1])
		if err := errors.Join(err1, err2); err != nil {
			return StoredPDU{}, false, fmt.Errorf("modem: +CMGR header %q: %w", l, err)
		}
		for _, pl := range lines[i+1:] {
			if isHexLine(pl) {
				pdu, err := decodePDULine(pl, length)
				if err != nil {
					return StoredPDU{}, false, err
				}
				return StoredPDU{Index: index, Stat: stat, PDU: pdu}, true, nil
			}
		}
		return StoredPDU{}, false, fmt.Errorf("modem: +CMGR index %d has no PDU line", index)
	}
	return StoredPDU{}, false, nil
}

// parseCMGS returns the message reference of "+CMGS: <mr>[,<scts>]".
func parseCMGS(lines []string) (int, error) {
	f, err := params(lines, "+CMGS:")
	if err != nil {
		return 0, err
	}
	mr, err := atoi(f[0])
	if err != nil || mr < 0 || mr > 255 {
		return 0, fmt.Errorf("modem: +CMGS: bad message reference %q", f[0])
	}
	return mr, nil
}

// parseNotify parses "+CMTI: <mem>,<index>" and "+CDSI: <mem>,<index>".
func parseNotify(line string) (mem string, index int, err error) {
	_, rest, ok := strings.Cut(line, ":")
	if !ok {
		return "", 0, fmt.Errorf("modem: indication %q has no colon", line)
	}
	f := splitFields(strings.TrimSpace(rest))
	if len(f) < 2 {
		return "", 0, fmt.Errorf("modem: indication %q is short", line)
	}
	index, err = atoi(f[1])
	if err != nil || index < 0 {
		return "", 0, fmt.Errorf("modem: indication %q has a bad index", line)
	}
	return f[0], index, nil
}

// parseDirect parses a direct delivery "+CMT: [<alpha>],<length>" or "+CDS: <length>"
// and its PDU line.
func parseDirect(header, pduLine string) ([]byte, error) {
	_, rest, ok := strings.Cut(header, ":")
	if !ok {
		return nil, fmt.Errorf("modem: indication %q has no colon", header)
	}
	f := splitFields(strings.TrimSpace(rest))
	length, err := atoi(f[len(f)-1])
	if err != nil {
		return nil, fmt.Errorf("modem: indication %q: %w", header, err)
	}
	return decodePDULine(pduLine, length)
}

// parseCPIN returns the code of "+CPIN: <code>" (READY, SIM PIN, SIM PUK, ...).
func parseCPIN(lines []string) (string, error) {
	f, err := params(lines, "+CPIN:")
	if err != nil {
		return "", err
	}
	return strings.Join(f, ","), nil
}

// parsePINRetries understands the common ways modems report remaining PIN attempts:
// 27.007 "+CPINR: SIM PIN,<n>,<default>", Quectel "+QPINC: "SC",<pin>,<puk>", SIMCom
// "+SPIC: <pin>,<puk>,...", Huawei "^CPIN: <code>,<times>,<puk>,<pin>,...".
func parsePINRetries(lines []string) (int, bool) {
	for _, l := range lines {
		var f []string
		var idx int
		switch {
		case strings.HasPrefix(l, "+CPINR:"):
			f, idx = splitFields(strings.TrimSpace(l[7:])), 1
		case strings.HasPrefix(l, "+QPINC:"):
			f, idx = splitFields(strings.TrimSpace(l[7:])), 1
		case strings.HasPrefix(l, "+SPIC:"):
			f, idx = splitFields(strings.TrimSpace(l[6:])), 0
		case strings.HasPrefix(l, "^CPIN:"):
			f, idx = splitFields(strings.TrimSpace(l[6:])), 3
		default:
			continue
		}
		if idx < len(f) {
			if n, err := atoi(f[idx]); err == nil {
				return n, true
			}
		}
	}
	return 0, false
}

// parseCSCA returns the SMSC number of "+CSCA: <sca>,<tosca>", or "" when unset.
func parseCSCA(lines []string) (string, error) {
	f, err := params(lines, "+CSCA:")
	if err != nil {
		return "", err
	}
	return f[0], nil
}

// parseCUSD parses "+CUSD: <m>[,<str>,<dcs>]".
func parseCUSD(line string) (m int, str string, dcs int, err error) {
	_, rest, ok := strings.Cut(line, ":")
	if !ok {
		return 0, "", 0, fmt.Errorf("modem: %q is not +CUSD", line)
	}
	f := splitFields(strings.TrimSpace(rest))
	if m, err = atoi(f[0]); err != nil {
		return 0, "", 0, err
	}
	if len(f) > 1 {
		str = f[1]
	}
	dcs = 15
	if len(f) > 2 {
		if dcs, err = atoi(f[2]); err != nil {
			return 0, "", 0, err
		}
	}
	return m, str, dcs, nil
}

// firstInfo returns the first line that is not empty and not an echo, for commands such
// as AT+CGSN whose answer has no prefix on some modems and "+CGSN: " on others.
func firstInfo(lines []string, prefix string) string {
	for _, l := range lines {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "AT") || strings.HasPrefix(l, "^") || !printable(l) {
			continue // empty, echo, vendor noise, or line garbage
		}
		if rest, ok := strings.CutPrefix(l, prefix); ok {
			return strings.Trim(strings.TrimSpace(rest), `"`)
		}
		return strings.Trim(l, `"`)
	}
	return ""
}

func printable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] >= 0x7f {
			return false
		}
	}
	return true
}

// parseIMEI finds the IMEI (14 to 17 digits) in the answer to AT+CGSN.
func parseIMEI(lines []string) string {
	for _, l := range lines {
		l = strings.Trim(strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(l), "+CGSN:")), `"`)
		if len(l) >= 14 && len(l) <= 17 && isDigits(l) && !strings.ContainsAny(l, "Ff") {
			return l
		}
	}
	return ""
}
