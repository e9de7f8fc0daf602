package main

import (
	"bufio"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/smsgw/smsgw/sms"
)

func cmdPDU(ctx context.Context, e env, args []string) int {
	return runPDU(ctx, e, args, os.Stdin)
}

// runPDU is cmdPDU with its standard input as a parameter, for tests.
func runPDU(ctx context.Context, e env, args []string, stdin io.Reader) int {
	const usageText = `Usage: smsgw pdu decode|encode|count [flags] [ARG]

  decode  explain a PDU as AT+CMGR/+CMGL/+CMT/+CDS/+CMGS carry it
  encode  build the PDUs the gateway sends with AT+CMGS for a text
  count   tell how a text is encoded and how many SMS it takes

Run 'smsgw pdu COMMAND --help' for flags and examples.
`
	if len(args) == 0 {
		fmt.Fprint(e.stderr, usageText)
		return 2
	}
	switch args[0] {
	case "decode":
		return pduDecode(ctx, e, args[1:], stdin)
	case "encode":
		return pduEncode(ctx, e, args[1:], stdin)
	case "count":
		return pduCount(ctx, e, args[1:], stdin)
	case "-h", "--help", "help":
		fmt.Fprint(e.stdout, usageText)
		return 0
	}
	fmt.Fprintf(e.stderr, "smsgw pdu: unknown subcommand %q\n\n%s", args[0], usageText)
	return 2
}

// ---- decode ----

// hintDir is what the context of a PDU says about its direction.
type hintDir int

const (
	dirUnknown hintDir = iota
	dirMT
	dirMO
)

// lineKind classifies an input line of `pdu decode` and the AT console.
type lineKind int

const (
	lineSkip   lineKind = iota // empty, comment, or an AT line that is not a PDU header
	lineHeader                 // +CMGR/+CMGL/+CMT/+CDS/AT+CMGS=n: the next line is a PDU
	linePDU                    // a PDU (possibly malformed; DecodeHex says what is wrong)
)

// pduLine is one classified input line.
type pduLine struct {
	kind lineKind
	// text is the PDU as given, with wrappers removed (prompt, Ctrl-Z, quotes, 0x).
	text string
	// tpduLen is the TPDU length from a header or AT+CMGS=n, -1 when unknown.
	tpduLen int
	dir     hintDir
}

// maxLineLen bounds one input line; a PDU with its SMSC field is at most 188 bytes,
// 376 hex digits, so anything much longer is not one.
const maxLineLen = 4096

// parsePDULine classifies one line of input: a PDU copied from an AT trace, a modem
// answer, `smsgw pdu encode` output or a log. It never fails: malformed PDUs are
// returned as linePDU for DecodeHex to explain.
func parsePDULine(s string) pduLine {
	s = strings.TrimSpace(s)
	s = strings.TrimLeft(s, "\ufeff") // a byte order mark from an editor
	out := pduLine{tpduLen: -1}
	if s == "" || s[0] == '#' || strings.HasPrefix(s, "//") {
		return out
	}
	// Headers whose next line is a PDU.
	up := strings.ToUpper(s)
	for _, h := range []string{"+CMGL:", "+CMGR:", "+CMT:", "+CDS:"} {
		if rest, ok := strings.CutPrefix(up, h); ok {
			out.kind = lineHeader
			f := strings.Split(rest, ",")
			if n, err := strconv.Atoi(strings.TrimSpace(f[len(f)-1])); err == nil && n >= 0 && n <= 255 {
				out.tpduLen = n
			}
			out.dir = dirMT
			stat := -1
			switch h {
			case "+CMGL:":
				if len(f) > 1 {
					stat = atoiOr(f[1], -1)
				}
			case "+CMGR:":
				stat = atoiOr(f[0], -1)
			}
			if stat == 2 || stat == 3 {
				out.dir = dirMO // STO UNSENT / STO SENT: an SMS-SUBMIT
			}
			return out
		}
	}
	// "AT+CMGS=23", "AT+CMGW=23,2", and "AT+CMGS=23 0011..." as pdu encode prints it.
	if strings.HasPrefix(up, "AT+CMGS=") || strings.HasPrefix(up, "AT+CMGW=") {
		rest := s[len("AT+CMGS="):]
		arg, pdu, _ := strings.Cut(rest, " ")
		n, err := strconv.Atoi(strings.TrimSpace(strings.Split(arg, ",")[0]))
		if err == nil && n >= 0 && n <= 255 {
			out.tpduLen = n
		}
		out.dir = dirMO
		if strings.TrimSpace(pdu) == "" {
			out.kind = lineHeader
			return out
		}
		s = strings.TrimSpace(pdu)
	} else if strings.HasPrefix(up, "AT") || up == "OK" || strings.HasPrefix(up, "ERROR") ||
		strings.HasPrefix(up, "+") || strings.HasPrefix(up, "^") {
		return pduLine{tpduLen: -1} // another command, a result or an indication
	}
	for strings.HasPrefix(s, ">") { // the AT+CMGS prompt copied with the PDU
		s = strings.TrimSpace(s[1:])
	}
	for _, z := range []string{"\x1a", "^Z", "<ctrl-z>", "<CTRL-Z>", "<Ctrl-Z>"} {
		s = strings.TrimSuffix(s, z)
	}
	s = strings.TrimSpace(s)
	if len(s) >= 2 && (s[0] == '"' && s[len(s)-1] == '"' || s[0] == '\'' && s[len(s)-1] == '\'') {
		s = s[1 : len(s)-1]
	}
	if strings.HasPrefix(s, "0x") || strings.HasPrefix(s, "0X") {
		s = s[2:]
	}
	if s == "" {
		return pduLine{tpduLen: -1}
	}
	out.kind, out.text = linePDU, s
	return out
}

func atoiOr(s string, def int) int {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		return def
	}
	return n
}

// decodeOpts says how to interpret a PDU.
type decodeOpts struct {
	smsc    string // "yes", "no", "auto"
	submit  bool   // only as an MO SMS-SUBMIT
	tpduLen int    // -1 unknown
	dir     hintDir
}

// attempt is one interpretation of a PDU.
type attempt struct {
	dir  sms.Direction
	smsc bool
}

func (a attempt) String() string {
	s := "MT (DELIVER/STATUS-REPORT)"
	if a.dir == sms.MO {
		s = "MO (SUBMIT)"
	}
	if a.smsc {
		return s + " with SMSC field"
	}
	return s + " without SMSC field"
}

// decoded is a decoded PDU with the interpretation that worked.
type decoded struct {
	msg     *sms.Message
	how     attempt
	bytes   int // octets in the whole PDU
	tpduLen int
}

// pduDecodeError is a decode failure with the interpretation it was tried under.
type pduDecodeError struct {
	input string
	how   *attempt // nil for hex errors (they do not depend on the interpretation)
	err   error
}

func (e *pduDecodeError) Error() string {
	var de *sms.DecodeError
	if !errors.As(e.err, &de) {
		return e.err.Error()
	}
	cause := strings.TrimPrefix(de.Err.Error(), "sms: ")
	if de.Field == "hex" {
		cause = strings.TrimPrefix(cause, "bad hex: ")
		if strings.Contains(cause, "odd") {
			return fmt.Sprintf("not a PDU: %s; a PDU is two hex digits per octet", cause)
		}
		return fmt.Sprintf("not a PDU: %s (position %d); a PDU is two hex digits per octet", cause, de.Offset+1)
	}
	s := fmt.Sprintf("malformed PDU: %s at octet %d (hex digits %d-%d): %s", de.Field, de.Offset, 2*de.Offset+1, 2*de.Offset+2, cause)
	if e.how != nil {
		s += " (read as " + e.how.String() + ")"
	}
	return s
}

func (e *pduDecodeError) Unwrap() error { return e.err }

// hexOctets counts the octets of a PDU text (white space ignored), -1 if it is not
// plain hex.
func hexOctets(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
		case c >= '0' && c <= '9', c >= 'a' && c <= 'f', c >= 'A' && c <= 'F':
			n++
		default:
			return -1
		}
	}
	if n%2 != 0 {
		return -1
	}
	return n / 2
}

// decodePDU decodes text under the interpretations opts allows, in order: with the
// SMSC field before without it, MT (DELIVER/STATUS-REPORT) before MO (SUBMIT). A
// TPDU length from a header settles whether the SMSC field is present. On failure it
// returns the error of the interpretation that got furthest into the PDU.
func decodePDU(text string, o decodeOpts) (*decoded, error) {
	octets := hexOctets(text)
	var smscs []bool
	switch o.smsc {
	case "yes":
		smscs = []bool{true}
	case "no":
		smscs = []bool{false}
	default:
		switch {
		case o.tpduLen >= 0 && octets > o.tpduLen:
			smscs = []bool{true}
		case o.tpduLen >= 0 && octets == o.tpduLen:
			smscs = []bool{false}
		default:
			smscs = []bool{true, false}
		}
	}
	dirs := []sms.Direction{sms.MT, sms.MO}
	switch {
	case o.submit || o.dir == dirMO:
		dirs = []sms.Direction{sms.MO}
	case o.dir == dirMT:
		dirs = []sms.Direction{sms.MT}
	}
	var best *pduDecodeError
	bestOff := -1
	for _, withSMSC := range smscs {
		for _, dir := range dirs {
			how := attempt{dir: dir, smsc: withSMSC}
			m, err := sms.DecodeHex(text, dir, withSMSC)
			if err == nil {
				d := &decoded{msg: m, how: how, bytes: octets, tpduLen: octets}
				if withSMSC && octets > 0 {
					if b, herr := hex.DecodeString(strings.Join(strings.Fields(text), "")); herr == nil && len(b) > 0 {
						d.tpduLen = octets - 1 - int(b[0])
					}
				}
				return d, nil
			}
			var de *sms.DecodeError
			if errors.As(err, &de) && de.Field == "hex" {
				return nil, &pduDecodeError{input: text, err: err}
			}
			off := 0 // offsets count from the start of the input either way
			if errors.As(err, &de) {
				off = de.Offset
			}
			if off > bestOff {
				h := how
				best, bestOff = &pduDecodeError{input: text, how: &h, err: err}, off
			}
		}
	}
	if best == nil {
		return nil, &pduDecodeError{input: text, err: errors.New("nothing to decode")}
	}
	return nil, best
}

// JSON shapes of `pdu decode --json`.

type addrJSON struct {
	Number  string `json:"number"`
	TON     int    `json:"ton"`
	TONName string `json:"ton_name"`
	NPI     int    `json:"npi"`
	NPIName string `json:"npi_name"`
}

type concatJSON struct {
	Reference     int `json:"reference"`
	ReferenceBits int `json:"reference_bits"`
	Total         int `json:"total"`
	Sequence      int `json:"sequence"`
}

type portsJSON struct {
	Source      int `json:"source"`
	Destination int `json:"destination"`
}

type statusReportJSON struct {
	MessageReference  int       `json:"message_reference"`
	Recipient         *addrJSON `json:"recipient"`
	ServiceCentreTime string    `json:"service_centre_time"`
	DischargeTime     string    `json:"discharge_time"`
	Status            int       `json:"status"`
	StatusHex         string    `json:"status_hex"`
	Meaning           string    `json:"meaning"`
	Class             string    `json:"class"`
	AboutCommand      bool      `json:"about_command,omitempty"`
}

type pduJSON struct {
	Line                  int               `json:"line,omitempty"`
	Input                 string            `json:"input,omitempty"`
	Error                 string            `json:"error,omitempty"`
	ErrorField            string            `json:"error_field,omitempty"`
	ErrorOffset           *int              `json:"error_offset,omitempty"`
	Type                  string            `json:"type,omitempty"`
	Direction             string            `json:"direction,omitempty"`
	SMSCField             *bool             `json:"smsc_field,omitempty"`
	SMSC                  string            `json:"smsc,omitempty"`
	TPDULength            int               `json:"tpdu_length,omitempty"`
	Sender                *addrJSON         `json:"sender,omitempty"`
	Recipient             *addrJSON         `json:"recipient,omitempty"`
	Timestamp             string            `json:"timestamp,omitempty"`
	MessageReference      *int              `json:"message_reference,omitempty"`
	PID                   *int              `json:"pid,omitempty"`
	DCS                   *int              `json:"dcs,omitempty"`
	Encoding              string            `json:"encoding,omitempty"`
	Class                 *int              `json:"message_class,omitempty"`
	Text                  *string           `json:"text,omitempty"`
	DataHex               string            `json:"data_hex,omitempty"`
	Concat                *concatJSON       `json:"concat,omitempty"`
	Ports                 *portsJSON        `json:"ports,omitempty"`
	StatusReportRequested *bool             `json:"status_report_requested,omitempty"`
	Validity              string            `json:"validity,omitempty"`
	ValidUntil            string            `json:"valid_until,omitempty"`
	MoreMessages          bool              `json:"more_messages,omitempty"`
	StatusReport          *statusReportJSON `json:"status_report,omitempty"`
}

var tonNames = [8]string{"unknown", "international", "national", "network specific", "subscriber", "alphanumeric", "abbreviated", "reserved"}

func npiName(n int) string {
	switch n {
	case 0:
		return "unknown"
	case 1:
		return "ISDN/telephone (E.164)"
	case 3:
		return "data (X.121)"
	case 4:
		return "telex"
	case 5, 6:
		return "service centre specific"
	case 8:
		return "national"
	case 9:
		return "private"
	case 10:
		return "ERMES"
	}
	return "reserved"
}

func addr(m *sms.Message) *addrJSON {
	return &addrJSON{Number: m.Address, TON: m.AddressTON, TONName: tonNames[m.AddressTON&7], NPI: m.AddressNPI, NPIName: npiName(m.AddressNPI)}
}

func ts(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Format(time.RFC3339)
}

// dcsClass returns the message class of a DCS, or -1 when it has none.
func dcsClass(dcs byte) int {
	switch {
	case dcs&0xC0 == 0x00 && dcs&0x10 != 0, dcs&0xF0 == 0xF0:
		return int(dcs & 3)
	}
	return -1
}

func pidMeaning(pid byte) string {
	switch {
	case pid == 0x00:
		return "normal SMS"
	case pid == 0x40:
		return "short message type 0 (silent, not shown or stored)"
	case pid >= 0x41 && pid <= 0x47:
		return fmt.Sprintf("replace short message type %d", pid-0x40)
	case pid == 0x5F:
		return "return call message"
	case pid == 0x7C:
		return "ANSI-136 R-DATA"
	case pid == 0x7D:
		return "ME data download"
	case pid == 0x7E:
		return "ME de-personalization"
	case pid == 0x7F:
		return "(U)SIM data download"
	case pid&0xE0 == 0x20:
		return "telematic interworking"
	}
	return "reserved or SC specific"
}

func toJSON(d *decoded) pduJSON {
	m := d.msg
	pid, dcs := int(m.PID), int(m.DCS)
	withSMSC := d.how.smsc
	j := pduJSON{
		Type: m.Type.String(), Direction: map[sms.Direction]string{sms.MT: "MT", sms.MO: "MO"}[d.how.dir],
		SMSCField: &withSMSC, SMSC: m.SMSC, TPDULength: d.tpduLen,
	}
	switch m.Type {
	case sms.Deliver:
		j.Sender, j.Timestamp = addr(m), ts(m.SCTS)
		j.MoreMessages = m.MoreMessages
	case sms.Submit:
		j.Recipient = addr(m)
		mr := m.MR
		j.MessageReference = &mr
		if m.Validity > 0 {
			j.Validity = m.Validity.String()
		}
		j.ValidUntil = ts(m.ValidUntil)
	case sms.StatusReport:
		meaning, class := sms.StatusMeaning(m.Status)
		j.StatusReport = &statusReportJSON{
			MessageReference: m.MR, Recipient: addr(m), ServiceCentreTime: ts(m.SCTS), DischargeTime: ts(m.Discharge),
			Status: int(m.Status), StatusHex: fmt.Sprintf("0x%02X", m.Status), Meaning: meaning, Class: class.String(),
			AboutCommand: m.StatusReportQualifier,
		}
		j.MoreMessages = m.MoreMessages
		return j // no user data worth showing
	}
	srr := m.StatusReportRequested
	j.StatusReportRequested = &srr
	j.PID, j.DCS, j.Encoding = &pid, &dcs, m.Encoding.String()
	if c := dcsClass(m.DCS); c >= 0 {
		j.Class = &c
	}
	if m.Encoding == sms.Binary {
		j.DataHex = strings.ToUpper(hex.EncodeToString(m.Data))
	} else {
		t := m.Text
		j.Text = &t
	}
	if c := m.Concat; c != nil {
		bits := 8
		if c.Ref16 {
			bits = 16
		}
		j.Concat = &concatJSON{Reference: c.Ref, ReferenceBits: bits, Total: c.Total, Sequence: c.Seq}
	}
	if m.DstPort >= 0 || m.SrcPort >= 0 {
		j.Ports = &portsJSON{Source: m.SrcPort, Destination: m.DstPort}
	}
	return j
}

// safeText makes untrusted text safe for a terminal: control and bidi formatting
// characters become visible escapes, so an SMS cannot move the cursor, recolour the
// screen or reorder what follows. Newlines are kept as "\n" + indent.
func safeText(s, indent string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '\n':
			b.WriteString("\n" + indent)
		case r == utf8.RuneError:
			b.WriteRune(r)
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || unicode.Is(unicode.Bidi_Control, r) ||
			r == 0x200b || r == 0x2028 || r == 0x2029 || r == 0xfeff:
			q := strconv.QuoteRuneToASCII(r)
			b.WriteString(q[1 : len(q)-1])
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

func addrText(a *addrJSON) string {
	return fmt.Sprintf("%s (%s, %s)", safeText(a.Number, ""), a.TONName, a.NPIName)
}

func humanTime(s string) string {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return s
	}
	return t.Format("2006-01-02 15:04:05 -07:00")
}

// writeDecoded prints a decoded PDU for people, each line prefixed with indent.
func writeDecoded(w io.Writer, d *decoded, indent string) {
	j := toJSON(d)
	m := d.msg
	line := func(k, format string, a ...any) {
		fmt.Fprintf(w, "%s%-13s %s\n", indent, k+":", fmt.Sprintf(format, a...))
	}
	field := "without SMSC field"
	if d.how.smsc {
		field = "with SMSC field"
	}
	line("Type", "%s (%s, %s, TPDU %d octets)", j.Type, j.Direction, field, j.TPDULength)
	if d.how.smsc {
		if j.SMSC == "" {
			line("SMSC", "(none: 00, the modem's default)")
		} else {
			line("SMSC", "%s", safeText(j.SMSC, ""))
		}
	}
	switch m.Type {
	case sms.Deliver:
		line("From", "%s", addrText(j.Sender))
		line("Timestamp", "%s", humanTime(j.Timestamp))
	case sms.Submit:
		line("To", "%s", addrText(j.Recipient))
		line("Reference", "%d (TP-MR)", m.MR)
		if j.Validity != "" {
			line("Validity", "%s (relative)", j.Validity)
		}
		if j.ValidUntil != "" {
			line("Valid until", "%s", humanTime(j.ValidUntil))
		}
	case sms.StatusReport:
		sr := j.StatusReport
		line("Reference", "%d (TP-MR of the SMS this reports on)", sr.MessageReference)
		line("Recipient", "%s", addrText(sr.Recipient))
		line("SC time", "%s (service centre received the SMS)", humanTime(sr.ServiceCentreTime))
		line("Discharge", "%s", humanTime(sr.DischargeTime))
		line("Status", "%s %s (%s)", sr.StatusHex, sr.Meaning, sr.Class)
		if sr.AboutCommand {
			line("Note", "reports on an SMS-COMMAND, not an SMS-SUBMIT")
		}
		if m.MoreMessages {
			line("More", "the service centre has more messages waiting")
		}
		return
	}
	line("PID", "0x%02X %s", m.PID, pidMeaning(m.PID))
	dcs := fmt.Sprintf("0x%02X", m.DCS)
	if j.Class != nil {
		dcs += fmt.Sprintf(" (class %d)", *j.Class)
	}
	line("DCS", "%s", dcs)
	line("Encoding", "%s", j.Encoding)
	if m.StatusReportRequested {
		if m.Type == sms.Submit {
			line("Report", "status report requested (TP-SRR)")
		} else {
			line("Report", "the sender asked for a status report (TP-SRI)")
		}
	}
	if c := j.Concat; c != nil {
		line("Concat", "part %d of %d, reference %d (%d-bit)", c.Sequence, c.Total, c.Reference, c.ReferenceBits)
	}
	if p := j.Ports; p != nil {
		line("Ports", "source %d, destination %d", p.Source, p.Destination)
	}
	if m.NationalLocking != 0 || m.NationalShift != 0 {
		line("National", "locking table %d, shift table %d", m.NationalLocking, m.NationalShift)
	}
	if m.MoreMessages {
		line("More", "the service centre has more messages waiting")
	}
	if j.Text != nil {
		line("Text", "%s", safeText(*j.Text, indent+strings.Repeat(" ", 14)))
	} else {
		line("Data", "%s (%d octets)", j.DataHex, len(m.Data))
	}
}

func pduDecode(_ context.Context, e env, args []string, stdin io.Reader) int {
	const examples = `  smsgw pdu decode 07919471020000F0040C9194715123456700006211221194454005C8329BFD06
  smsgw pdu decode --smsc=no 0011000C9194715123456700000B05C8329BFD06
  smsgw pdu decode --submit 0031000C919471512345670000A705C8329BFD06
  smsgw pdu encode --to +4915112345678 --text hello | smsgw pdu decode
  grep -A1 '+CMGL:' modem-trace.txt | smsgw pdu decode --json
`
	fs := newFlagSet(e, "pdu decode", "pdu decode [--smsc=auto|yes|no] [--submit] [--json] [HEX]\n\n"+
		"Explains a PDU: type, SMSC, numbers, time stamps, encoding, text, concatenation,\n"+
		"ports and status reports. Without HEX it reads one PDU per line from stdin; lines\n"+
		"such as '+CMGL: 1,0,,23' and 'AT+CMGS=23' before a PDU are used as hints, other\n"+
		"AT lines, blank lines and # comments are skipped.", examples)
	smsc := fs.String("smsc", "auto", "does the PDU start with the SMSC address field? yes, no or auto (try both)")
	submit := fs.Bool("submit", false, "decode as an MO SMS-SUBMIT (default: try MT DELIVER/STATUS-REPORT, then SUBMIT)")
	asJSON := fs.Bool("json", false, "print JSON (one object for HEX, a JSON array for stdin)")
	if code, stop := parseFlags(fs, args); stop {
		return code
	}
	if *smsc != "auto" && *smsc != "yes" && *smsc != "no" {
		fmt.Fprintf(e.stderr, "smsgw pdu decode: --smsc must be yes, no or auto, not %q\n", *smsc)
		return 2
	}
	opts := decodeOpts{smsc: *smsc, submit: *submit, tpduLen: -1}
	if fs.NArg() > 0 {
		text := strings.Join(fs.Args(), "")
		if strings.TrimSpace(text) == "" {
			fmt.Fprintln(e.stderr, "smsgw pdu decode: the PDU is empty; give it in hex, e.g. 0011000C91...")
			return 2
		}
		l := parsePDULine(text)
		if l.kind != linePDU {
			l = pduLine{kind: linePDU, text: strings.TrimSpace(text), tpduLen: -1}
		}
		o := opts
		o.tpduLen, o.dir = l.tpduLen, l.dir
		d, err := decodePDU(l.text, o)
		if err != nil {
			if *asJSON {
				writeJSON(e.stdout, errJSON(0, l.text, err))
			}
			fmt.Fprintf(e.stderr, "smsgw pdu decode: %v\n", err)
			writeCaret(e.stderr, l.text, err)
			return 1
		}
		if *asJSON {
			writeJSON(e.stdout, toJSON(d))
		} else {
			writeDecoded(e.stdout, d, "")
		}
		return 0
	}
	return decodeStream(e, stdin, opts, *asJSON)
}

// decodeStream decodes one PDU per line of r.
func decodeStream(e env, r io.Reader, opts decodeOpts, asJSON bool) int {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 1024), maxLineLen)
	var results []pduJSON
	hint := pduLine{tpduLen: -1}
	n, failed, count := 0, 0, 0
	for sc.Scan() {
		n++
		l := parsePDULine(sc.Text())
		switch l.kind {
		case lineSkip:
			hint = pduLine{tpduLen: -1}
			continue
		case lineHeader:
			hint = l
			continue
		}
		o := opts
		o.tpduLen, o.dir = l.tpduLen, l.dir
		if o.tpduLen < 0 && o.dir == dirUnknown {
			o.tpduLen, o.dir = hint.tpduLen, hint.dir
		}
		hint = pduLine{tpduLen: -1}
		count++
		d, err := decodePDU(l.text, o)
		if err != nil {
			failed++
			if asJSON {
				results = append(results, errJSON(n, l.text, err))
			} else {
				if count > 1 {
					fmt.Fprintln(e.stdout)
				}
				fmt.Fprintf(e.stdout, "Line %d: %s\n", n, safeText(clip(l.text, 80), ""))
				fmt.Fprintf(e.stdout, "  error: %v\n", err)
			}
			continue
		}
		if asJSON {
			j := toJSON(d)
			j.Line = n
			results = append(results, j)
			continue
		}
		if count > 1 {
			fmt.Fprintln(e.stdout)
		}
		fmt.Fprintf(e.stdout, "Line %d:\n", n)
		writeDecoded(e.stdout, d, "  ")
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			fmt.Fprintf(e.stderr, "smsgw pdu decode: line %d is longer than %d bytes; that is not a PDU\n", n+1, maxLineLen)
		} else {
			fmt.Fprintf(e.stderr, "smsgw pdu decode: reading stdin: %v\n", err)
		}
		failed++
	}
	if asJSON {
		if results == nil {
			results = []pduJSON{}
		}
		writeJSON(e.stdout, results)
	}
	if count == 0 && failed == 0 {
		fmt.Fprintln(e.stderr, "smsgw pdu decode: no PDU given; pass HEX or pipe PDUs in, one per line (see --help)")
		return 2
	}
	if failed > 0 {
		fmt.Fprintf(e.stderr, "smsgw pdu decode: %d of %d PDUs could not be decoded\n", failed, max(count, failed))
		return 1
	}
	return 0
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

func errJSON(line int, input string, err error) pduJSON {
	j := pduJSON{Line: line, Input: clip(input, 400), Error: err.Error()}
	var de *sms.DecodeError
	if errors.As(err, &de) {
		off := de.Offset
		j.ErrorField, j.ErrorOffset = de.Field, &off
	}
	return j
}

// writeCaret points at the offending hex character or octet under the input.
func writeCaret(w io.Writer, input string, err error) {
	var de *sms.DecodeError
	if !errors.As(err, &de) || len(input) > 200 || strings.ContainsAny(input, " \t") {
		return
	}
	pos := de.Offset
	if de.Field != "hex" {
		pos = 2 * de.Offset
	}
	if pos < 0 || pos > len(input) {
		return
	}
	fmt.Fprintf(w, "  %s\n  %s^\n", safeText(input, ""), strings.Repeat(" ", pos))
}

func writeJSON(w io.Writer, v any) {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

// ---- encode ----

type encodedPart struct {
	Part       int    `json:"part"`
	TPDULength int    `json:"tpdu_length"`
	Hex        string `json:"hex"`
	Command    string `json:"command"`
}

type encodeJSON struct {
	To       string        `json:"to"`
	Encoding string        `json:"encoding"`
	Segments int           `json:"segments"`
	Parts    []encodedPart `json:"parts"`
}

// parseValidity reads a Go duration, also accepting days ("2d") and weeks ("1w").
func parseValidity(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	for _, u := range []struct {
		suffix string
		d      time.Duration
	}{{"w", 7 * 24 * time.Hour}, {"d", 24 * time.Hour}} {
		if num, ok := strings.CutSuffix(s, u.suffix); ok {
			n, err := strconv.ParseFloat(num, 64)
			if err != nil || n < 0 || n > 1000 {
				return 0, fmt.Errorf("%q is not a duration (e.g. 30m, 12h, 2d, 1w)", s)
			}
			return time.Duration(n * float64(u.d)), nil
		}
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("%q is not a duration (e.g. 30m, 12h, 2d, 1w)", s)
	}
	return d, nil
}

// readText reads a text argument: "-" means stdin, without one trailing newline.
func readText(arg string, stdin io.Reader) (string, error) {
	if arg != "-" {
		return arg, nil
	}
	b, err := io.ReadAll(io.LimitReader(stdin, 1<<20))
	if err != nil {
		return "", err
	}
	s := strings.TrimSuffix(string(b), "\n")
	return strings.TrimSuffix(s, "\r"), nil
}

func pduEncode(_ context.Context, e env, args []string, stdin io.Reader) int {
	const examples = `  smsgw pdu encode --to +4915112345678 --text 'Technician arrives at 10:30'
  smsgw pdu encode --to 015112345678 --region DE --text 'Grüße €' --report --validity 2d
  smsgw pdu encode --to +4915112345678 --ucs2 --ref16 --ref 4660 --text - < long.txt
  smsgw pdu encode --to +4915112345678 --text hello | smsgw pdu decode
`
	fs := newFlagSet(e, "pdu encode", "pdu encode --to NUMBER --text TEXT [flags]\n\n"+
		"Prints the PDUs the gateway sends for a text with AT+CMGS, one part per line:\n"+
		"'AT+CMGS=<TPDU length> <PDU hex>'. The modem takes the command, answers '> ',\n"+
		"then takes the hex followed by Ctrl-Z. The PDU includes the SMSC field (00\n"+
		"= the SIM's SMSC unless --smsc is given).", examples)
	to := fs.String("to", "", "recipient: +<country><number>, or national with --region")
	text := fs.String("text", "", "message text (UTF-8); - reads it from stdin")
	smsc := fs.String("smsc", "", "service centre number to put in the PDU (default: 00, the SIM's)")
	report := fs.Bool("report", false, "request a status report (TP-SRR)")
	ucs2 := fs.Bool("ucs2", false, "force UCS-2 even when GSM 7-bit would do")
	validity := fs.String("validity", "", "relative validity period, e.g. 30m, 12h, 2d, 1w (default: none)")
	ref16 := fs.Bool("ref16", false, "use a 16-bit concatenation reference")
	ref := fs.Int("ref", 0, "concatenation reference for long texts (0-255, 0-65535 with --ref16); the gateway picks a fresh one per message")
	region := fs.String("region", "", "region for national numbers, e.g. DE (default $SMSGW_REGION)")
	asJSON := fs.Bool("json", false, "print JSON")
	if code, stop := parseFlags(fs, args); stop {
		return code
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(e.stderr, "smsgw pdu encode: unexpected argument %q; quote the text and pass it with --text\n", fs.Arg(0))
		return 2
	}
	if *to == "" {
		fmt.Fprintln(e.stderr, "smsgw pdu encode: --to is required, e.g. --to +4915112345678")
		return 2
	}
	if !flagGiven(fs, "text") {
		fmt.Fprintln(e.stderr, "smsgw pdu encode: --text is required (use --text - to read it from stdin)")
		return 2
	}
	if *region == "" {
		if r, ok := e.lookup("SMSGW_REGION"); ok {
			*region = r
		}
	}
	msg, err := readText(*text, stdin)
	if err != nil {
		fmt.Fprintf(e.stderr, "smsgw pdu encode: reading stdin: %v\n", err)
		return 1
	}
	number, err := sms.NormalizeNumber(*to, *region)
	if err != nil {
		fmt.Fprintf(e.stderr, "smsgw pdu encode: --to: %v\n", err)
		if strings.Contains(err.Error(), sms.ReasonNoRegion) {
			fmt.Fprintln(e.stderr, "  give the number as +<country code><number>, or pass --region (e.g. --region DE)")
		}
		return 2
	}
	o := sms.SubmitOptions{StatusReport: *report, ForceUCS2: *ucs2, Ref: *ref, Ref16: *ref16}
	if *smsc != "" {
		if o.SMSC, err = sms.NormalizeNumber(*smsc, *region); err != nil {
			fmt.Fprintf(e.stderr, "smsgw pdu encode: --smsc: %v\n", err)
			return 2
		}
	}
	if *validity != "" {
		if o.Validity, err = parseValidity(*validity); err != nil {
			fmt.Fprintf(e.stderr, "smsgw pdu encode: --validity: %v\n", err)
			return 2
		}
	}
	pdus, err := sms.EncodeSubmit(number, msg, o)
	if err != nil {
		fmt.Fprintf(e.stderr, "smsgw pdu encode: %v\n", err)
		if errors.Is(err, sms.ErrBadOption) {
			return 2
		}
		return 1
	}
	cnt := sms.CountSubmit(msg, o)
	if *asJSON {
		out := encodeJSON{To: number, Encoding: cnt.Encoding.String(), Segments: len(pdus)}
		for i, p := range pdus {
			out.Parts = append(out.Parts, encodedPart{Part: i + 1, TPDULength: p.TPDULen, Hex: p.Hex(), Command: "AT+CMGS=" + strconv.Itoa(p.TPDULen)})
		}
		writeJSON(e.stdout, out)
		return 0
	}
	for _, p := range pdus {
		fmt.Fprintf(e.stdout, "AT+CMGS=%d %s\n", p.TPDULen, p.Hex())
	}
	fmt.Fprintf(e.stderr, "%d part(s) to %s, %s\n", len(pdus), number, cnt.Encoding)
	return 0
}

func flagGiven(fs *flag.FlagSet, name string) bool {
	given := false
	fs.Visit(func(f *flag.Flag) {
		if f.Name == name {
			given = true
		}
	})
	return given
}

// ---- count ----

type countJSON struct {
	Encoding        string   `json:"encoding"`
	Characters      int      `json:"characters"`
	Units           int      `json:"units"`
	UnitName        string   `json:"unit_name"`
	Segments        int      `json:"segments"`
	UnitsPerSegment int      `json:"units_per_segment"`
	UnitsLeft       int      `json:"units_left"`
	ForcingUCS2     []string `json:"forcing_ucs2"`
}

func pduCount(_ context.Context, e env, args []string, stdin io.Reader) int {
	const examples = `  smsgw pdu count 'Your technician arrives at 10:30'
  smsgw pdu count 'Grüße {from} the €-team'     # extension characters count twice
  smsgw pdu count --json 'Thanks 👍'
  smsgw pdu count - < template.txt
`
	fs := newFlagSet(e, "pdu count", "pdu count [--json] [--ucs2] [--ref16] TEXT\n\n"+
		"Tells how the gateway encodes TEXT (- reads stdin): GSM 7-bit or UCS-2, how many\n"+
		"SMS segments it takes, the units per segment and how many are left in the last\n"+
		"one, and which characters force UCS-2 (replace them to fit more per SMS).", examples)
	asJSON := fs.Bool("json", false, "print JSON")
	ucs2 := fs.Bool("ucs2", false, "count as if UCS-2 were forced")
	ref16 := fs.Bool("ref16", false, "count with 16-bit concatenation references")
	if code, stop := parseFlags(fs, args); stop {
		return code
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(e.stderr, "smsgw pdu count: give exactly one TEXT argument (quote it), or - to read stdin")
		return 2
	}
	text, err := readText(fs.Arg(0), stdin)
	if err != nil {
		fmt.Fprintf(e.stderr, "smsgw pdu count: reading stdin: %v\n", err)
		return 1
	}
	c := sms.CountSubmit(text, sms.SubmitOptions{ForceUCS2: *ucs2, Ref16: *ref16})
	unit := "septets"
	if c.Encoding == sms.UCS2 {
		unit = "UTF-16 code units"
	}
	if *asJSON {
		f := c.ForcingUCS2
		if f == nil {
			f = []string{}
		}
		writeJSON(e.stdout, countJSON{
			Encoding: c.Encoding.String(), Characters: c.Characters, Units: c.Units, UnitName: unit,
			Segments: c.Segments, UnitsPerSegment: c.UnitsPerSegment, UnitsLeft: c.UnitsLeft, ForcingUCS2: f,
		})
		return 0
	}
	w := e.stdout
	fmt.Fprintf(w, "Encoding:          %s\n", c.Encoding)
	fmt.Fprintf(w, "Characters:        %d\n", c.Characters)
	fmt.Fprintf(w, "Units:             %d %s\n", c.Units, unit)
	fmt.Fprintf(w, "Segments:          %d\n", c.Segments)
	fmt.Fprintf(w, "Units per segment: %d\n", c.UnitsPerSegment)
	fmt.Fprintf(w, "Units left:        %d (in the last segment)\n", c.UnitsLeft)
	if len(c.ForcingUCS2) > 0 {
		quoted := make([]string, len(c.ForcingUCS2))
		for i, s := range c.ForcingUCS2 {
			quoted[i] = strconv.QuoteToGraphic(s)
		}
		fmt.Fprintf(w, "Forcing UCS-2:     %s\n", strings.Join(quoted, " "))
	} else if c.Encoding == sms.UCS2 {
		fmt.Fprintln(w, "Forcing UCS-2:     (none; UCS-2 was forced)")
	}
	return 0
}
