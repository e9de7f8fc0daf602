package sms

import (
	"fmt"

	"github.com/warthog618/sms/encoding/gsm7"
)

// Limits of the user data length, TS 23.040 9.2.3.16.
const (
	maxSeptets = 160
	maxOctets  = 140
)

// Information element identifiers, TS 23.040 9.2.3.24.
const (
	ieConcat8    = 0x00
	iePort8      = 0x04
	iePort16     = 0x05
	ieConcat16   = 0x08
	ieShiftNLI   = 0x24
	ieLockingNLI = 0x25
)

// DecodeHex is Decode for the hex form of a PDU, as AT+CMGR, +CMGL, +CMT and
// +CDS print it. Upper and lower case are accepted, and white space anywhere
// is ignored. An odd number of digits or a character that is not a hex digit
// is a *DecodeError with Field "hex".
func DecodeHex(s string, dir Direction, withSMSC bool) (*Message, error) {
	b := make([]byte, 0, len(s)/2)
	var hi byte
	half := false
	last := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		var v byte
		switch {
		case c >= '0' && c <= '9':
			v = c - '0'
		case c >= 'a' && c <= 'f':
			v = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			v = c - 'A' + 10
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
			continue
		default:
			return nil, decodeErr(i, fieldHex, ErrBadHex, "character %q is not a hex digit", c)
		}
		last = i
		if half {
			b = append(b, hi<<4|v)
		} else {
			hi = v
		}
		half = !half
	}
	if half {
		return nil, decodeErr(last, fieldHex, ErrBadHex, "odd number of hex digits")
	}
	return Decode(b, dir, withSMSC)
}

// Decode parses one PDU: an SMS-DELIVER or SMS-STATUS-REPORT when dir is MT,
// an SMS-SUBMIT when dir is MO. withSMSC says that b starts with the SMSC
// address field (PDU mode as AT commands carry it); otherwise b is the bare
// TPDU.
//
// Malformed input gives a *DecodeError naming the field and its offset,
// never a panic. Decode is strict about lengths: the user data must end
// exactly where the PDU ends.
func Decode(b []byte, dir Direction, withSMSC bool) (*Message, error) {
	if dir != MT && dir != MO {
		return nil, fmt.Errorf("%w: direction %d", ErrBadOption, int(dir))
	}
	r := &reader{b: b}
	m := &Message{SrcPort: -1, DstPort: -1}
	if withSMSC {
		smsc, err := r.smsc()
		if err != nil {
			return nil, err
		}
		m.SMSC = smsc
	}
	foOff := r.off
	fo, err := r.byte(fieldFO)
	if err != nil {
		return nil, err
	}
	switch mti := fo & 0x03; {
	case dir == MT && mti == 0x00:
		m.Type = Deliver
		err = r.deliver(m, fo)
	case dir == MT && mti == 0x02:
		m.Type = StatusReport
		err = r.statusReport(m, fo)
	case dir == MO && mti == 0x01:
		m.Type = Submit
		err = r.submit(m, fo)
	default:
		names := map[Direction][4]string{
			MT: {"DELIVER", "SUBMIT-REPORT", "STATUS-REPORT", "reserved"},
			MO: {"DELIVER-REPORT", "SUBMIT", "COMMAND", "reserved"},
		}
		return nil, decodeErr(foOff, fieldFO, ErrUnsupportedType, "TP-MTI %d (%s) in direction %v", mti, names[dir][mti], dir)
	}
	if err != nil {
		return nil, err
	}
	if r.left() > 0 {
		return nil, decodeErr(r.off, fieldUD, ErrTrailingData, "%d extra bytes", r.left())
	}
	return m, nil
}

func (r *reader) deliver(m *Message, fo byte) error {
	m.MoreMessages = fo&0x04 == 0
	m.StatusReportRequested = fo&0x20 != 0
	var err error
	if m.Address, m.AddressTON, m.AddressNPI, err = r.address(fieldOA); err != nil {
		return err
	}
	if err := r.pidDCS(m); err != nil {
		return err
	}
	if m.SCTS, err = r.timestamp(fieldSCTS); err != nil {
		return err
	}
	return r.userData(m, fo&0x40 != 0)
}

func (r *reader) submit(m *Message, fo byte) error {
	m.StatusReportRequested = fo&0x20 != 0
	mr, err := r.byte(fieldMR)
	if err != nil {
		return err
	}
	m.MR = int(mr)
	if m.Address, m.AddressTON, m.AddressNPI, err = r.address(fieldDA); err != nil {
		return err
	}
	if err := r.pidDCS(m); err != nil {
		return err
	}
	if err := r.validity(m, fo>>3&0x03); err != nil {
		return err
	}
	return r.userData(m, fo&0x40 != 0)
}

func (r *reader) statusReport(m *Message, fo byte) error {
	m.MoreMessages = fo&0x04 == 0
	m.StatusReportQualifier = fo&0x20 != 0
	mr, err := r.byte(fieldMR)
	if err != nil {
		return err
	}
	m.MR = int(mr)
	if m.Address, m.AddressTON, m.AddressNPI, err = r.address(fieldRA); err != nil {
		return err
	}
	if m.SCTS, err = r.timestamp(fieldSCTS); err != nil {
		return err
	}
	if m.Discharge, err = r.timestamp(fieldDT); err != nil {
		return err
	}
	if m.Status, err = r.byte(fieldST); err != nil {
		return err
	}
	if r.left() == 0 {
		return nil
	}
	// TP-PI, TS 23.040 9.2.3.27. Bits 3..6 are reserved and bit 7 would
	// announce further PI octets that define nothing yet. When any of
	// them is set the octet is garbage, and rather than guess at what
	// follows (gnokii read past its buffer on such reports) we keep the
	// mandatory fields, which carry the delivery status, and ignore the
	// rest, as Android does for reserved bits.
	pi, _ := r.byte(fieldPI)
	if pi&0xf8 != 0 {
		r.off = len(r.b)
		return nil
	}
	if pi&0x01 != 0 {
		if m.PID, err = r.byte(fieldPID); err != nil {
			return err
		}
	}
	if pi&0x02 != 0 {
		off := r.off
		if m.DCS, err = r.byte(fieldDCS); err != nil {
			return err
		}
		if m.Encoding, err = dcsEncoding(m.DCS); err != nil {
			return &DecodeError{Offset: off, Field: fieldDCS, Err: err}
		}
	}
	if pi&0x04 != 0 {
		return r.userData(m, fo&0x40 != 0)
	}
	return nil
}

// pidDCS reads TP-PID and TP-DCS.
func (r *reader) pidDCS(m *Message) error {
	var err error
	if m.PID, err = r.byte(fieldPID); err != nil {
		return err
	}
	off := r.off
	if m.DCS, err = r.byte(fieldDCS); err != nil {
		return err
	}
	if m.Encoding, err = dcsEncoding(m.DCS); err != nil {
		return &DecodeError{Offset: off, Field: fieldDCS, Err: err}
	}
	return nil
}

// dcsEncoding interprets a TP-DCS (TS 23.038 clause 4). Compressed text,
// reserved coding groups and the reserved alphabet are errors: guessing
// would show garbage to a person (and CVE-2019-1747 shows what odd DCS
// values do to less careful decoders).
func dcsEncoding(dcs byte) (Encoding, error) {
	switch {
	case dcs&0x80 == 0x00: // 0xxx xxxx: general data coding (and auto-deletion group)
		if dcs&0x20 != 0 {
			return 0, fmt.Errorf("%w: DCS %02X: compressed text", ErrBadDCS, dcs)
		}
		switch dcs >> 2 & 0x03 {
		case 0:
			return GSM7, nil
		case 1:
			return Binary, nil
		case 2:
			return UCS2, nil
		}
		return 0, fmt.Errorf("%w: DCS %02X: reserved alphabet", ErrBadDCS, dcs)
	case dcs&0xe0 == 0xc0: // 110x: message waiting, discard/store, GSM 7-bit
		return GSM7, nil
	case dcs&0xf0 == 0xe0: // 1110: message waiting, store, UCS-2
		return UCS2, nil
	case dcs&0xf0 == 0xf0: // 1111: data coding / message class
		if dcs&0x04 != 0 {
			return Binary, nil
		}
		return GSM7, nil
	}
	return 0, fmt.Errorf("%w: DCS %02X: reserved coding group", ErrBadDCS, dcs)
}

// userData reads TP-UDL and TP-UD, including the user data header when udhi
// is set, and fills the text, data, concatenation, port and language fields.
func (r *reader) userData(m *Message, udhi bool) error {
	udlOff := r.off
	udlByte, err := r.byte(fieldUDL)
	if err != nil {
		return err
	}
	udl := int(udlByte)
	octets := udl
	if m.Encoding == GSM7 {
		if udl > maxSeptets {
			return decodeErr(udlOff, fieldUDL, ErrBadLength, "%d septets, at most %d", udl, maxSeptets)
		}
		octets = (udl*7 + 7) / 8
	} else if udl > maxOctets {
		return decodeErr(udlOff, fieldUDL, ErrBadLength, "%d octets, at most %d", udl, maxOctets)
	}
	udOff := r.off
	ud, err := r.take(octets, fieldUD)
	if err != nil {
		return err
	}
	hdr := 0 // octets of UDH, including UDHL
	if udhi && octets > 0 {
		hdr = int(ud[0]) + 1
		if hdr > octets {
			return decodeErr(udOff, fieldUDH, ErrBadLength, "UDHL %d past the end of %d octets of user data", ud[0], octets)
		}
		if err := parseUDH(m, ud[1:hdr], udOff+1); err != nil {
			return err
		}
	}
	switch m.Encoding {
	case GSM7:
		n := udl
		fill := 0
		if hdr > 0 {
			hs := (hdr*8 + 6) / 7 // septets taken by the header and its fill bits
			if hs > udl {
				return decodeErr(udOff, fieldUDH, ErrBadLength, "UDHL %d longer than UDL %d septets", hdr-1, udl)
			}
			n = udl - hs
			fill = hs*7 - hdr*8
		}
		septets := gsm7.Unpack7Bit(ud[hdr:], fill)
		if len(septets) < n {
			return decodeErr(udOff, fieldUD, ErrTruncated, "%d septets, %d present", n, len(septets))
		}
		m.UD = septets[:n:n]
		m.Text = decodeGSM(m.UD, m.NationalLocking, m.NationalShift)
	case UCS2:
		rest := ud[hdr:]
		if len(rest)%2 != 0 {
			return decodeErr(udOff+hdr, fieldUD, ErrBadLength, "odd number of octets (%d) for UCS-2", len(rest))
		}
		m.UD = append([]byte(nil), rest...)
		m.Text = decodeUCS2(rest)
	case Binary:
		m.UD = append([]byte(nil), ud[hdr:]...)
		m.Data = m.UD
	}
	return nil
}

// parseUDH reads the information elements of a user data header (without
// its UDHL). Elements we do not know are skipped; known elements with a
// wrong length or impossible values are ignored, as TS 23.040 9.2.3.24.1
// asks of a receiving entity. An element running past the header is an
// error.
func parseUDH(m *Message, h []byte, off int) error {
	for i := 0; i < len(h); {
		if i+2 > len(h) {
			return decodeErr(off+i, fieldUDH, ErrBadLength, "information element header past the end of the UDH")
		}
		id, l := h[i], int(h[i+1])
		if i+2+l > len(h) {
			return decodeErr(off+i, fieldUDH, ErrBadLength, "information element %02X of %d octets past the end of the UDH", id, l)
		}
		d := h[i+2 : i+2+l]
		i += 2 + l
		switch {
		case id == ieConcat8 && l == 3:
			if d[1] >= 1 && d[2] >= 1 && d[2] <= d[1] {
				m.Concat = &Concat{Ref: int(d[0]), Total: int(d[1]), Seq: int(d[2])}
			}
		case id == ieConcat16 && l == 4:
			if d[2] >= 1 && d[3] >= 1 && d[3] <= d[2] {
				m.Concat = &Concat{Ref: int(d[0])<<8 | int(d[1]), Ref16: true, Total: int(d[2]), Seq: int(d[3])}
			}
		case id == iePort8 && l == 2:
			m.DstPort, m.SrcPort = int(d[0]), int(d[1])
		case id == iePort16 && l == 4:
			m.DstPort, m.SrcPort = int(d[0])<<8|int(d[1]), int(d[2])<<8|int(d[3])
		case id == ieShiftNLI && l == 1:
			m.NationalShift = int(d[0])
		case id == ieLockingNLI && l == 1:
			m.NationalLocking = int(d[0])
		}
	}
	return nil
}
