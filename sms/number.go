package sms

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/nyaruka/phonenumbers"
)

// ErrInvalidNumber is matched (with errors.Is) by every *NumberError.
var ErrInvalidNumber = errors.New("sms: invalid number")

// NumberError reports why NormalizeNumber rejected its input.
type NumberError struct {
	Input  string // the raw input, as given
	Reason string // why it was rejected, e.g. "too short"
}

// Error returns `sms: invalid number "<input>": <reason>`, with the input
// quoted (and cut to 64 bytes) so that hostile text cannot forge log lines.
func (e *NumberError) Error() string {
	in := e.Input
	if len(in) > 64 {
		in = in[:64] + "..."
	}
	return fmt.Sprintf("sms: invalid number %q: %s", in, e.Reason)
}

// Unwrap returns ErrInvalidNumber.
func (e *NumberError) Unwrap() error { return ErrInvalidNumber }

// Reasons given in NumberError.Reason.
const (
	ReasonEmpty         = "empty"
	ReasonTooLongInput  = "input too long"
	ReasonInvalidUTF8   = "not valid UTF-8"
	ReasonControl       = "control or formatting characters"
	ReasonCharacters    = "characters not allowed in a phone number"
	ReasonSenderTooLong = "alphanumeric sender id longer than 11 characters"
	ReasonSenderCharset = "alphanumeric sender id has characters outside the GSM 7-bit alphabet"
	ReasonNoRegion      = "national number but no default region"
	ReasonUnknownRegion = "unknown default region"
	ReasonCountryCode   = "invalid country code"
	ReasonTooShort      = "too short"
	ReasonTooLong       = "too long"
	ReasonInvalidLength = "invalid length for the region"
	ReasonLocalOnly     = "local number without area code"
	ReasonNotValid      = "not a valid number"
	ReasonNotANumber    = "not a phone number"
)

const (
	maxNumberInputLen     = 64
	maxAlphanumericSender = 11
)

// NormalizeNumber returns E.164 ("+4915112345678") for phone numbers, the
// trimmed text for alphanumeric sender ids, and a *NumberError naming the
// reason otherwise.
//
// A number written without a leading + (or international prefix such as 00)
// is national to defaultRegion, a CLDR region code like "DE" or "GB". Text
// containing a letter (and not starting with +) is taken as an alphanumeric
// sender id, which must fit the 11 GSM 7-bit characters an SMS address can
// carry. A national input that is not a valid number but is a short code of
// defaultRegion (such as 7726 or 88088) is returned as its digits. Control and
// bidi formatting characters are always rejected.
func NormalizeNumber(raw, defaultRegion string) (string, error) {
	fail := func(reason string) (string, error) {
		return "", &NumberError{Input: raw, Reason: reason}
	}
	if len(raw) > 4*maxNumberInputLen {
		return fail(ReasonTooLongInput)
	}
	if !utf8.ValidString(raw) {
		return fail(ReasonInvalidUTF8)
	}
	s := strings.TrimSpace(raw)
	if s == "" {
		return fail(ReasonEmpty)
	}
	if len(s) > maxNumberInputLen {
		return fail(ReasonTooLongInput)
	}
	letters := false
	for _, c := range s {
		if unicode.IsControl(c) || unicode.Is(unicode.Cf, c) || c == utf8.RuneError {
			return fail(ReasonControl)
		}
		if unicode.IsLetter(c) {
			letters = true
		}
	}
	if letters && !strings.HasPrefix(s, "+") {
		septets := 0
		for _, c := range s {
			n := gsmSeptets(c)
			if n == 0 {
				return fail(ReasonSenderCharset)
			}
			septets += n
		}
		if septets > maxAlphanumericSender {
			return fail(ReasonSenderTooLong)
		}
		return s, nil
	}

	digits := 0
	for i, c := range s {
		switch {
		case c >= '0' && c <= '9':
			digits++
		case c == '+' && i == 0:
		case c == ' ' || c == '-' || c == '(' || c == ')' || c == '.' || c == '/':
		default:
			return fail(ReasonCharacters)
		}
	}
	if digits == 0 {
		return fail(ReasonNotANumber)
	}
	region := strings.ToUpper(strings.TrimSpace(defaultRegion))
	if region != "" && phonenumbers.GetCountryCodeForRegion(region) == 0 {
		return fail(ReasonUnknownRegion)
	}
	if !strings.HasPrefix(s, "+") && region == "" {
		return fail(ReasonNoRegion)
	}
	num, err := phonenumbers.Parse(s, region)
	if err != nil {
		switch {
		case errors.Is(err, phonenumbers.ErrInvalidCountryCode):
			return fail(ReasonCountryCode)
		case errors.Is(err, phonenumbers.ErrTooShortNSN), errors.Is(err, phonenumbers.ErrTooShortAfterIDD):
			return fail(ReasonTooShort)
		case errors.Is(err, phonenumbers.ErrNumTooLong):
			return fail(ReasonTooLong)
		}
		return fail(ReasonNotANumber)
	}
	if phonenumbers.IsValidNumber(num) {
		return phonenumbers.Format(num, phonenumbers.E164), nil
	}
	if !strings.HasPrefix(s, "+") && isShortCode(num, phonenumbers.NormalizeDigitsOnly(s), region) {
		return phonenumbers.NormalizeDigitsOnly(s), nil
	}
	switch phonenumbers.IsPossibleNumberWithReason(num) {
	case phonenumbers.INVALID_COUNTRY_CODE:
		return fail(ReasonCountryCode)
	case phonenumbers.TOO_SHORT:
		return fail(ReasonTooShort)
	case phonenumbers.TOO_LONG:
		return fail(ReasonTooLong)
	case phonenumbers.INVALID_LENGTH:
		return fail(ReasonInvalidLength)
	case phonenumbers.IS_POSSIBLE_LOCAL_ONLY:
		return fail(ReasonLocalOnly)
	}
	return fail(ReasonNotValid)
}

// isShortCode accepts short codes, which SMS services send from: those the
// metadata knows, and, since its short-code data is patchy, any 3 to 6
// digits not starting with the trunk prefix 0 that have a possible
// short-number length for the region.
func isShortCode(num *phonenumbers.PhoneNumber, digits, region string) bool {
	if phonenumbers.IsValidShortNumberForRegion(num, region) {
		return true
	}
	return len(digits) >= 3 && len(digits) <= 6 && digits[0] != '0' &&
		phonenumbers.IsPossibleShortNumberForRegion(num, region)
}
