package webui

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/smsgw/smsgw/auth"
	"github.com/smsgw/smsgw/sms"
)

// pduField is one decoded field of a PDU, shown as a row.
type pduField struct{ Name, Value string }

type pduData struct {
	Input  string
	As     string // auto, mt, mo
	Err    string
	Read   string // which reading succeeded
	Fields []pduField
}

// maxPDUInput bounds the pasted text (a PDU is at most 176 octets: 352 hex digits plus
// an SMSC field and whatever AT noise was pasted with it).
const maxPDUInput = 4096

// pduPage decodes a pasted PDU with the same sms package the gateway uses (issue 12):
// operators paste what the AT trace or a bug report shows instead of using websites.
func (u *UI) pduPage(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	if !p.Can("modems:read") {
		return errAdminOnly
	}
	q := r.URL.Query()
	d := pduData{Input: q.Get("pdu"), As: q.Get("as")}
	if d.As == "" {
		d.As = "auto"
	}
	if len(d.Input) > maxPDUInput {
		d.Err = fmt.Sprintf("That is %d characters; a PDU is at most a few hundred hex digits.", len(d.Input))
	} else if strings.TrimSpace(d.Input) != "" {
		d.Read, d.Fields, d.Err = decodePDUText(d.Input, d.As)
	}
	u.render(w, r, "pdu.html", u.base(r, p, "Decode a PDU", "modems"), d)
	return nil
}

// decodePDUText tries the readings that fit as: a PDU read from a modem (SMS-DELIVER or
// STATUS-REPORT) or one sent to it (SMS-SUBMIT), each with and without the SMSC field.
// The first that decodes wins; if none does, the error of the most likely one is shown.
func decodePDUText(input, as string) (read string, fields []pduField, errText string) {
	type reading struct {
		name     string
		dir      sms.Direction
		withSMSC bool
	}
	mt := []reading{{"from a modem (AT+CMGR/+CMGL/+CMT), with SMSC field", sms.MT, true},
		{"from a modem, without SMSC field", sms.MT, false}}
	mo := []reading{{"sent to a modem (AT+CMGS), with SMSC field", sms.MO, true},
		{"sent to a modem, without SMSC field", sms.MO, false}}
	var tries []reading
	switch as {
	case "mt":
		tries = mt
	case "mo":
		tries = mo
	default:
		tries = append(mt, mo...)
	}
	hex := strings.TrimSpace(input)
	hex = strings.TrimSuffix(hex, "\x1a")
	var first error
	for _, t := range tries {
		m, err := sms.DecodeHex(hex, t.dir, t.withSMSC)
		if err == nil {
			return t.name, messageFields(m), ""
		}
		if first == nil {
			first = err
		}
	}
	var de *sms.DecodeError
	if errors.As(first, &de) {
		return "", nil, fmt.Sprintf("Not a valid PDU: %s (field %s, byte %d).", de.Err, de.Field, de.Offset)
	}
	return "", nil, "Not a valid PDU: " + first.Error()
}

func messageFields(m *sms.Message) []pduField {
	var f []pduField
	add := func(name, format string, args ...any) { f = append(f, pduField{name, fmt.Sprintf(format, args...)}) }
	ts := func(t time.Time) string { return t.Format("2006-01-02 15:04:05 -07:00") }
	add("Type", "%s", m.Type)
	if m.SMSC != "" {
		add("SMSC", "%s", m.SMSC)
	} else {
		add("SMSC", "(none: the modem's default)")
	}
	who := map[sms.Type]string{sms.Deliver: "Sender", sms.Submit: "Recipient", sms.StatusReport: "Recipient"}[m.Type]
	add(who, "%s (type of number %d, numbering plan %d)", m.Address, m.AddressTON, m.AddressNPI)
	switch m.Type {
	case sms.Deliver:
		add("Service-centre time", "%s", ts(m.SCTS))
	case sms.Submit:
		add("Message reference", "%d", m.MR)
		if m.Validity > 0 {
			add("Validity", "%s", m.Validity)
		}
	case sms.StatusReport:
		meaning, class := sms.StatusMeaning(m.Status)
		add("Message reference", "%d", m.MR)
		add("Service-centre time", "%s", ts(m.SCTS))
		add("Discharge time", "%s", ts(m.Discharge))
		add("Status", "0x%02X %s (%s)", m.Status, meaning, class)
	}
	if m.Type != sms.StatusReport {
		add("PID / DCS", "0x%02X / 0x%02X", m.PID, m.DCS)
		add("Encoding", "%s", m.Encoding)
		add("Status report requested", "%v", m.StatusReportRequested)
		if m.Concat != nil {
			bits := 8
			if m.Concat.Ref16 {
				bits = 16
			}
			add("Concatenation", "part %d of %d, reference %d (%d-bit)", m.Concat.Seq, m.Concat.Total, m.Concat.Ref, bits)
		}
		if m.DstPort >= 0 {
			add("Ports", "source %d, destination %d", m.SrcPort, m.DstPort)
		}
		if m.Encoding == sms.Binary {
			add("Data", "% X", m.Data)
		} else {
			add("Text", "%s", m.Text)
		}
	}
	return f
}
