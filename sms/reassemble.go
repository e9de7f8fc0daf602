package sms

import (
	"errors"
	"fmt"
	"strings"
)

// ErrNotText means a part holds 8-bit data, not text.
var ErrNotText = errors.New("sms: part is 8-bit data, not text")

// Reassemble joins the text of the parts of a concatenated message, given in
// order (by Concat.Seq). It works on the raw user data rather than on each
// part's Text, so it repairs what careless senders split: an escape left at
// the end of one GSM 7-bit part with its character at the start of the next
// (smstools3 does this), or a surrogate pair split across UCS-2 parts.
// Consecutive parts with the same encoding and national tables are joined
// before decoding; parts may differ in encoding. A nil part, or one holding
// 8-bit data, is an error: nothing is dropped silently. The caller decides
// how to show missing parts.
func Reassemble(parts []*Message) (string, error) {
	var sb strings.Builder
	var run []byte
	var runEnc Encoding
	var runLock, runShift int
	flush := func() {
		if run == nil {
			return
		}
		if runEnc == GSM7 {
			sb.WriteString(decodeGSM(run, runLock, runShift))
		} else {
			sb.WriteString(decodeUCS2(run))
		}
		run = nil
	}
	for i, p := range parts {
		if p == nil {
			return "", fmt.Errorf("sms: reassemble: part %d is missing", i+1)
		}
		if p.Encoding != GSM7 && p.Encoding != UCS2 {
			return "", wrapOp("reassemble", fmt.Errorf("%w (part %d)", ErrNotText, i+1))
		}
		if run != nil && (p.Encoding != runEnc || p.NationalLocking != runLock || p.NationalShift != runShift) {
			flush()
		}
		if run == nil {
			run = make([]byte, 0, len(p.UD)*(len(parts)-i))
			runEnc, runLock, runShift = p.Encoding, p.NationalLocking, p.NationalShift
		}
		run = append(run, p.UD...)
	}
	flush()
	return sb.String(), nil
}
