package sms

import (
	"fmt"
	"strings"
	"time"

	"github.com/warthog618/sms/encoding/gsm7"
)

// Field names used in DecodeError, after 3GPP TS 23.040.
const (
	fieldHex  = "hex"
	fieldSMSC = "SMSC"
	fieldFO   = "first octet"
	fieldMR   = "TP-MR"
	fieldOA   = "TP-OA"
	fieldDA   = "TP-DA"
	fieldRA   = "TP-RA"
	fieldPID  = "TP-PID"
	fieldDCS  = "TP-DCS"
	fieldVP   = "TP-VP"
	fieldSCTS = "TP-SCTS"
	fieldDT   = "TP-DT"
	fieldST   = "TP-ST"
	fieldPI   = "TP-PI"
	fieldUDL  = "TP-UDL"
	fieldUDH  = "TP-UDH"
	fieldUD   = "TP-UD"
)

const (
	maxAddrDigits    = 20 // address value is at most 10 octets
	maxSMSCOctets    = 11 // SMSC field length byte counts the TOA and at most 10 value octets
	maxAlnumSeptets  = 11 // 10 octets of packed septets
	tonInternational = 1
	tonAlphanumeric  = 5
)

// reader walks a PDU and reports errors with absolute offsets.
type reader struct {
	b   []byte
	off int
}

func (r *reader) left() int { return len(r.b) - r.off }

func (r *reader) byte(field string) (byte, error) {
	if r.off >= len(r.b) {
		return 0, decodeErr(r.off, field, ErrTruncated, "")
	}
	c := r.b[r.off]
	r.off++
	return c, nil
}

func (r *reader) take(n int, field string) ([]byte, error) {
	if n > r.left() {
		return nil, decodeErr(r.off, field, ErrTruncated, "need %d bytes, %d left", n, r.left())
	}
	s := r.b[r.off : r.off+n]
	r.off += n
	return s, nil
}

// semiDigits maps a semi-octet to its character; 0xF is fill.
const semiDigits = "0123456789*#abc"

// decodeSemi decodes n semi-octet digits from v (low nibble first). A fill
// nibble (F) is only accepted after the last digit.
func decodeSemi(v []byte, n int) (string, bool) {
	var sb strings.Builder
	sb.Grow(n + 1)
	for i := 0; i < n; i++ {
		nib := v[i/2] >> (4 * uint(i%2)) & 0x0f
		if nib == 0x0f {
			return "", false
		}
		sb.WriteByte(semiDigits[nib])
	}
	return sb.String(), true
}

// address reads a TP-OA/TP-DA/TP-RA field.
func (r *reader) address(field string) (addr string, ton, npi int, err error) {
	start := r.off
	l, err := r.byte(field)
	if err != nil {
		return "", 0, 0, err
	}
	if l > maxAddrDigits {
		return "", 0, 0, decodeErr(start, field, ErrBadLength, "%d semi-octets, at most %d", l, maxAddrDigits)
	}
	toa, err := r.byte(field)
	if err != nil {
		return "", 0, 0, err
	}
	v, err := r.take((int(l)+1)/2, field)
	if err != nil {
		return "", 0, 0, err
	}
	ton, npi = int(toa>>4&0x07), int(toa&0x0f)
	if ton == tonAlphanumeric {
		n := int(l) * 4 / 7
		septets := gsm7.Unpack7Bit(v, 0)
		if len(septets) < n {
			return "", 0, 0, decodeErr(start, field, ErrBadLength, "")
		}
		return decodeGSM(septets[:n], 0, 0), ton, npi, nil
	}
	digits, ok := decodeSemi(v, int(l))
	if !ok {
		return "", 0, 0, decodeErr(start, field, ErrBadAddress, "fill digit inside the number")
	}
	if ton == tonInternational && digits != "" {
		digits = "+" + digits
	}
	return digits, ton, npi, nil
}

// smsc reads the SMSC address field that precedes the TPDU in PDU mode.
func (r *reader) smsc() (string, error) {
	start := r.off
	l, err := r.byte(fieldSMSC)
	if err != nil {
		return "", err
	}
	if l == 0 {
		return "", nil
	}
	if l > maxSMSCOctets {
		return "", decodeErr(start, fieldSMSC, ErrBadLength, "%d octets, at most %d", l, maxSMSCOctets)
	}
	toa, err := r.byte(fieldSMSC)
	if err != nil {
		return "", err
	}
	v, err := r.take(int(l)-1, fieldSMSC)
	if err != nil {
		return "", err
	}
	n := 2 * len(v)
	if n > 0 && v[len(v)-1]>>4 == 0x0f {
		n--
	}
	digits, ok := decodeSemi(v, n)
	if !ok {
		return "", decodeErr(start, fieldSMSC, ErrBadAddress, "fill digit inside the number")
	}
	if toa>>4&0x07 == tonInternational && digits != "" {
		digits = "+" + digits
	}
	return digits, nil
}

// bcd decodes a swapped-nibble BCD octet (low nibble is the tens digit).
func bcd(c byte) (int, bool) {
	lo, hi := int(c&0x0f), int(c>>4)
	if lo > 9 || hi > 9 {
		return 0, false
	}
	return lo*10 + hi, true
}

// timestamp reads a 7-octet TP-SCTS/TP-DT/absolute TP-VP.
func (r *reader) timestamp(field string) (time.Time, error) {
	start := r.off
	v, err := r.take(7, field)
	if err != nil {
		return time.Time{}, err
	}
	var f [6]int
	for i := range f {
		d, ok := bcd(v[i])
		if !ok {
			return time.Time{}, decodeErr(start+i, field, ErrBadTime, "octet %02X is not BCD", v[i])
		}
		f[i] = d
	}
	tzTens, tzUnits := int(v[6]&0x07), int(v[6]>>4)
	if tzUnits > 9 {
		return time.Time{}, decodeErr(start+6, field, ErrBadTime, "time zone octet %02X is not BCD", v[6])
	}
	quarters := tzTens*10 + tzUnits
	if v[6]&0x08 != 0 {
		quarters = -quarters
	}
	year := 2000 + f[0]
	if f[0] >= 70 {
		year = 1900 + f[0]
	}
	loc := time.UTC
	if quarters != 0 {
		loc = time.FixedZone("", quarters*15*60)
	}
	t := time.Date(year, time.Month(f[1]), f[2], f[3], f[4], f[5], 0, loc)
	if f[1] < 1 || f[1] > 12 || f[2] < 1 || t.Day() != f[2] || f[3] > 23 || f[4] > 59 || f[5] > 59 {
		return time.Time{}, decodeErr(start, field, ErrBadTime, "impossible date %02d-%02d-%02d %02d:%02d:%02d", f[0], f[1], f[2], f[3], f[4], f[5])
	}
	return t, nil
}

// relativeVP converts a relative TP-VP octet to a duration (TS 23.040
// 9.2.3.12.1).
func relativeVP(v byte) time.Duration {
	switch {
	case v <= 143:
		return time.Duration(v+1) * 5 * time.Minute
	case v <= 167:
		return 12*time.Hour + time.Duration(v-143)*30*time.Minute
	case v <= 196:
		return time.Duration(v-166) * 24 * time.Hour
	default:
		return time.Duration(v-192) * 7 * 24 * time.Hour
	}
}

// encodeRelativeVP returns the smallest relative TP-VP octet whose period is
// at least d, so a message never expires before it was asked to; periods
// beyond 63 weeks are capped at 63 weeks.
func encodeRelativeVP(d time.Duration) byte {
	const (
		min5  = 5 * time.Minute
		min30 = 30 * time.Minute
		day   = 24 * time.Hour
		week  = 7 * day
	)
	ceil := func(d, unit time.Duration) int64 { return int64((d + unit - 1) / unit) }
	switch {
	case d <= 12*time.Hour:
		n := ceil(d, min5) // 1..144
		if n < 1 {
			n = 1
		}
		return byte(n - 1)
	case d <= day:
		return byte(143 + ceil(d-12*time.Hour, min30))
	case d <= 30*day:
		n := ceil(d, day) // 2..30
		return byte(166 + n)
	case d <= 63*week:
		n := ceil(d, week) // 5..63
		return byte(192 + n)
	default:
		return 255
	}
}

// validity reads the TP-VP of an SMS-SUBMIT in format vpf.
func (r *reader) validity(m *Message, vpf byte) error {
	switch vpf {
	case 0: // not present
		return nil
	case 2: // relative
		v, err := r.byte(fieldVP)
		if err != nil {
			return err
		}
		m.Validity = relativeVP(v)
		return nil
	case 3: // absolute
		t, err := r.timestamp(fieldVP)
		if err != nil {
			return err
		}
		m.ValidUntil = t
		return nil
	}
	// enhanced: 7 octets, the first is the functionality indicator
	start := r.off
	v, err := r.take(7, fieldVP)
	if err != nil {
		return err
	}
	switch v[0] & 0x07 {
	case 1:
		m.Validity = relativeVP(v[1])
	case 2:
		m.Validity = time.Duration(v[1]) * time.Second
	case 3:
		var f [3]int
		for i := range f {
			d, ok := bcd(v[1+i])
			if !ok {
				return decodeErr(start+1+i, fieldVP, ErrBadTime, "octet %02X is not BCD", v[1+i])
			}
			f[i] = d
		}
		m.Validity = time.Duration(f[0])*time.Hour + time.Duration(f[1])*time.Minute + time.Duration(f[2])*time.Second
	}
	return nil
}

// encodeAddress encodes a TP-OA/TP-DA/TP-RA. "+<digits>" is international,
// "<digits>" (also * and #) is of unknown type, and, when alnum is true,
// other text that fits 11 GSM 7-bit septets is alphanumeric.
func encodeAddress(addr string, alnum bool) ([]byte, error) {
	if digits, intl, ok := parseDigits(addr); ok {
		toa := byte(0x81)
		if intl {
			toa = 0x91
		}
		b := []byte{byte(len(digits)), toa}
		return appendSemi(b, digits), nil
	}
	if !alnum {
		return nil, fmt.Errorf("%w: %q is not a phone number", ErrBadAddress, addr)
	}
	var septets []byte
	for _, c := range addr {
		if gsmSeptets(c) == 0 {
			return nil, fmt.Errorf("%w: %q has a character outside the GSM 7-bit alphabet", ErrBadAddress, addr)
		}
		septets = appendGSM(septets, c)
	}
	if len(septets) == 0 || len(septets) > maxAlnumSeptets {
		return nil, fmt.Errorf("%w: alphanumeric address %q must be 1..%d GSM 7-bit characters", ErrBadAddress, addr, maxAlnumSeptets)
	}
	b := []byte{byte((len(septets)*7 + 3) / 4), 0xd0}
	return append(b, gsm7.Pack7Bit(septets, 0)...), nil
}

// encodeSMSC encodes the SMSC address field; "" gives 00.
func encodeSMSC(addr string) ([]byte, error) {
	if addr == "" {
		return []byte{0}, nil
	}
	digits, intl, ok := parseDigits(addr)
	if !ok || len(digits) > 2*(maxSMSCOctets-1) {
		return nil, fmt.Errorf("%w: SMSC %q is not a phone number", ErrBadAddress, addr)
	}
	toa := byte(0x81)
	if intl {
		toa = 0x91
	}
	b := []byte{byte(1 + (len(digits)+1)/2), toa}
	return appendSemi(b, digits), nil
}

// parseDigits accepts "+<digits>" or "<digits>" (digits may include * and
// #), 1 to 20 of them.
func parseDigits(s string) (digits string, intl bool, ok bool) {
	if strings.HasPrefix(s, "+") {
		s, intl = s[1:], true
	}
	if len(s) == 0 || len(s) > maxAddrDigits {
		return "", false, false
	}
	for i := 0; i < len(s); i++ {
		if !(s[i] >= '0' && s[i] <= '9') && s[i] != '*' && s[i] != '#' {
			return "", false, false
		}
	}
	return s, intl, true
}

func appendSemi(b []byte, digits string) []byte {
	for i := 0; i < len(digits); i += 2 {
		lo := byte(strings.IndexByte(semiDigits, digits[i]))
		hi := byte(0x0f)
		if i+1 < len(digits) {
			hi = byte(strings.IndexByte(semiDigits, digits[i+1]))
		}
		b = append(b, hi<<4|lo)
	}
	return b
}

// encodeTimestamp encodes t as a 7-octet time stamp in t's own zone. A zone
// offset that is not a whole number of quarter hours is truncated to one and
// the clock fields adjusted, so the instant is kept (to the second).
func encodeTimestamp(t time.Time) ([]byte, error) {
	_, off := t.Zone()
	q := off / (15 * 60)
	if off%(15*60) != 0 {
		t = t.In(time.FixedZone("", q*15*60))
	}
	if q < -79 || q > 79 {
		return nil, fmt.Errorf("%w: zone offset %ds out of range", ErrBadTime, off)
	}
	if t.Year() < 1970 || t.Year() > 2069 {
		return nil, fmt.Errorf("%w: year %d outside 1970..2069", ErrBadTime, t.Year())
	}
	b := make([]byte, 7)
	for i, v := range []int{t.Year() % 100, int(t.Month()), t.Day(), t.Hour(), t.Minute(), t.Second()} {
		b[i] = byte(v%10)<<4 | byte(v/10)
	}
	aq := q
	if aq < 0 {
		aq = -aq
	}
	b[6] = byte(aq%10)<<4 | byte(aq/10)
	if q < 0 {
		b[6] |= 0x08
	}
	return b, nil
}
