package sms

import (
	"fmt"
	"time"

	"github.com/warthog618/sms/encoding/gsm7"
)

// SubmitOptions tunes EncodeSubmit.
type SubmitOptions struct {
	SMSC         string        // SMSC for the SMSC field; "" writes 00 (modem default)
	StatusReport bool          // TP-SRR
	ForceUCS2    bool          // UCS-2 even when GSM 7-bit would do
	Validity     time.Duration // relative VP, rounded up to a representable period; 0 = none
	Ref          int           // concatenation reference (0..255, or 0..65535 with Ref16)
	Ref16        bool          // use the 16-bit reference IE
	MaxSegments  int           // 0 = no limit; more → ErrTooLong
	// NationalLanguages lists national language identifiers (TS 23.038 §6.2.1.2.4; see
	// LanguageID) whose single/locking shift tables may carry text the default GSM 7-bit
	// alphabet cannot, instead of UCS-2: Turkish "ş" then costs 2 septets of 160 rather
	// than turning the message into 70-character UCS-2. None by default.
	NationalLanguages []int
}

// DeliverOptions tunes EncodeDeliver.
type DeliverOptions struct {
	SMSC                   string    // SMSC for the SMSC field; "" writes 00
	Time                   time.Time // TP-SCTS, in its own zone; zero means now
	ForceUCS2              bool      // UCS-2 even when GSM 7-bit would do
	Ref                    int       // concatenation reference (0..255, or 0..65535 with Ref16)
	Ref16                  bool      // use the 16-bit reference IE
	StatusReportIndication bool      // TP-SRI
}

// EncodeSubmit encodes text to the SMS-SUBMIT PDUs that send it to the phone
// number to ("+<digits>" international, or bare digits). Text that does not
// fit one PDU is split into concatenated parts with reference o.Ref; the
// split never separates an escape from its extension character or the two
// halves of a surrogate pair, and agrees with Count. TP-MR is 0: modems
// assign it on AT+CMGS.
func EncodeSubmit(to, text string, o SubmitOptions) ([]PDU, error) {
	if o.Validity < 0 {
		return nil, wrapOp("encode submit", fmt.Errorf("%w: negative validity %v", ErrBadOption, o.Validity))
	}
	if o.MaxSegments < 0 {
		return nil, wrapOp("encode submit", fmt.Errorf("%w: negative MaxSegments %d", ErrBadOption, o.MaxSegments))
	}
	da, err := encodeAddress(to, false)
	if err != nil {
		return nil, wrapOp("encode submit", err)
	}
	var vp []byte
	fo := byte(0x01) // SMS-SUBMIT
	if o.Validity > 0 {
		fo |= 0x02 << 3 // TP-VPF relative
		vp = []byte{encodeRelativeVP(o.Validity)}
	}
	if o.StatusReport {
		fo |= 0x20
	}
	head := func(enc Encoding, udhi bool) []byte {
		f := fo
		if udhi {
			f |= 0x40
		}
		b := make([]byte, 0, 4+len(da)+len(vp)+maxOctets)
		b = append(b, f, 0) // TP-MR
		b = append(b, da...)
		b = append(b, 0, dcsFor(enc)) // TP-PID, TP-DCS
		return append(b, vp...)
	}
	pdus, err := encodeParts(text, o.SMSC, o.ForceUCS2, o.Ref, o.Ref16, o.MaxSegments, o.NationalLanguages, head)
	if err != nil {
		return nil, wrapOp("encode submit", err)
	}
	return pdus, nil
}

// EncodeDeliver encodes text to the SMS-DELIVER PDUs a phone would receive
// from from (a number as for EncodeSubmit, or an alphanumeric sender id of
// up to 11 GSM 7-bit characters). Long texts are split as by EncodeSubmit.
func EncodeDeliver(from, text string, o DeliverOptions) ([]PDU, error) {
	oa, err := encodeAddress(from, true)
	if err != nil {
		return nil, wrapOp("encode deliver", err)
	}
	t := o.Time
	if t.IsZero() {
		t = time.Now()
	}
	scts, err := encodeTimestamp(t)
	if err != nil {
		return nil, wrapOp("encode deliver", err)
	}
	fo := byte(0x04) // SMS-DELIVER, TP-MMS: no more messages waiting
	if o.StatusReportIndication {
		fo |= 0x20
	}
	head := func(enc Encoding, udhi bool) []byte {
		f := fo
		if udhi {
			f |= 0x40
		}
		b := make([]byte, 0, 10+len(oa)+maxOctets)
		b = append(b, f)
		b = append(b, oa...)
		b = append(b, 0, dcsFor(enc)) // TP-PID, TP-DCS
		return append(b, scts...)
	}
	pdus, err := encodeParts(text, o.SMSC, o.ForceUCS2, o.Ref, o.Ref16, 0, nil, head)
	if err != nil {
		return nil, wrapOp("encode deliver", err)
	}
	return pdus, nil
}

// EncodeStatusReport encodes the SMS-STATUS-REPORT a service centre sends
// for the SMS-SUBMIT with reference mr to recipient: scts is when the
// centre received it, discharge when it was delivered (or failed) and
// status the TP-ST value (see StatusMeaning). smsc "" writes an empty SMSC
// field (00).
func EncodeStatusReport(mr int, recipient string, scts, discharge time.Time, status byte, smsc string) (PDU, error) {
	if mr < 0 || mr > 255 {
		return PDU{}, wrapOp("encode status report", fmt.Errorf("%w: message reference %d outside 0..255", ErrBadOption, mr))
	}
	sc, err := encodeSMSC(smsc)
	if err != nil {
		return PDU{}, wrapOp("encode status report", err)
	}
	ra, err := encodeAddress(recipient, false)
	if err != nil {
		return PDU{}, wrapOp("encode status report", err)
	}
	ts, err := encodeTimestamp(scts)
	if err != nil {
		return PDU{}, wrapOp("encode status report: TP-SCTS", err)
	}
	dt, err := encodeTimestamp(discharge)
	if err != nil {
		return PDU{}, wrapOp("encode status report: TP-DT", err)
	}
	b := append([]byte(nil), sc...)
	b = append(b, 0x06, byte(mr)) // SMS-STATUS-REPORT, TP-MMS: no more messages
	b = append(b, ra...)
	b = append(b, ts...)
	b = append(b, dt...)
	b = append(b, status)
	return PDU{Bytes: b, TPDULen: len(b) - len(sc)}, nil
}

func dcsFor(enc Encoding) byte {
	if enc == UCS2 {
		return 0x08
	}
	return 0x00
}

// encodeParts splits text and builds one PDU per segment: SMSC field, the
// TPDU head that head returns for the encoding, then TP-UDL and TP-UD.
func encodeParts(text, smsc string, forceUCS2 bool, ref int, ref16 bool, maxSegs int, langs []int, head func(Encoding, bool) []byte) ([]PDU, error) {
	if !validUTF8(text) {
		return nil, ErrInvalidText
	}
	maxRef := 255
	if ref16 {
		maxRef = 65535
	}
	if ref < 0 || ref > maxRef {
		return nil, fmt.Errorf("%w: concatenation reference %d outside 0..%d", ErrBadOption, ref, maxRef)
	}
	sc, err := encodeSMSC(smsc)
	if err != nil {
		return nil, err
	}
	l := layout(text, forceUCS2, ref16, langs)
	total := len(l.cuts) + 1
	if total > maxConcatParts || (maxSegs > 0 && total > maxSegs) {
		limit := maxConcatParts
		if maxSegs > 0 && maxSegs < limit {
			limit = maxSegs
		}
		return nil, fmt.Errorf("%w: %d segments, at most %d", ErrTooLong, total, limit)
	}
	pdus := make([]PDU, 0, total)
	start := 0
	for seq := 1; seq <= total; seq++ {
		end := len(text)
		if seq < total {
			end = l.cuts[seq-1]
		}
		chunk := text[start:end]
		start = end
		var ies []byte
		if total > 1 {
			if ref16 {
				ies = []byte{ieConcat16, 4, byte(ref >> 8), byte(ref), byte(total), byte(seq)}
			} else {
				ies = []byte{ieConcat8, 3, byte(ref), byte(total), byte(seq)}
			}
		}
		ies = l.alpha.appendIEs(ies)
		var udh []byte
		if len(ies) > 0 {
			udh = append([]byte{byte(len(ies))}, ies...)
		}
		b := append([]byte(nil), sc...)
		b = append(b, head(l.enc, udh != nil)...)
		b = appendUserData(b, l.enc, l.alpha, udh, chunk)
		pdus = append(pdus, PDU{Bytes: b, TPDULen: len(b) - len(sc)})
	}
	return pdus, nil
}

// appendUserData appends TP-UDL and TP-UD for chunk with header udh (which
// includes its UDHL octet, or is nil).
func appendUserData(b []byte, enc Encoding, a alphabet, udh []byte, chunk string) []byte {
	if enc == UCS2 {
		ud := make([]byte, 0, 2*len(chunk))
		for _, c := range chunk {
			ud = appendUCS2(ud, c)
		}
		b = append(b, byte(len(udh)+len(ud)))
		b = append(b, udh...)
		return append(b, ud...)
	}
	septets := make([]byte, 0, len(chunk))
	for _, c := range chunk {
		septets = a.append(septets, c)
	}
	hs := (len(udh)*8 + 6) / 7 // septets taken by the header and its fill bits
	b = append(b, byte(hs+len(septets)))
	b = append(b, udh...)
	return append(b, gsm7.Pack7Bit(septets, hs*7-len(udh)*8)...)
}
