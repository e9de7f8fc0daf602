package sms

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors. Decode failures come wrapped in a *DecodeError that names
// the field and its byte offset; use errors.Is to test for these.
var (
	// ErrTruncated means the PDU ends before a field is complete.
	ErrTruncated = errors.New("sms: PDU truncated")
	// ErrBadLength means a length field is out of range or inconsistent
	// with the data that follows.
	ErrBadLength = errors.New("sms: bad length")
	// ErrTrailingData means bytes follow the end of the user data.
	ErrTrailingData = errors.New("sms: trailing data after user data")
	// ErrBadDCS means the data coding scheme is reserved or unsupported
	// (for example compressed text).
	ErrBadDCS = errors.New("sms: unsupported data coding scheme")
	// ErrUnsupportedType means the TP-MTI names a TPDU type this package
	// does not handle (SUBMIT-REPORT, DELIVER-REPORT, COMMAND, reserved).
	ErrUnsupportedType = errors.New("sms: unsupported TPDU type")
	// ErrBadAddress means an address field holds invalid digits, or an
	// address given to an encoder cannot be represented.
	ErrBadAddress = errors.New("sms: bad address")
	// ErrBadTime means a time stamp holds invalid BCD digits or an
	// impossible date, or a time given to an encoder cannot be represented.
	ErrBadTime = errors.New("sms: bad time stamp")
	// ErrBadHex means the hex form of a PDU has an odd length or a
	// character that is not a hex digit.
	ErrBadHex = errors.New("sms: bad hex")
	// ErrTooLong means the text needs more segments than allowed
	// (SubmitOptions.MaxSegments, or 255).
	ErrTooLong = errors.New("sms: text too long")
	// ErrInvalidText means the text is not valid UTF-8.
	ErrInvalidText = errors.New("sms: text is not valid UTF-8")
	// ErrBadOption means an encoder option is out of range.
	ErrBadOption = errors.New("sms: bad option")
)

// DecodeError reports malformed input to Decode or DecodeHex.
type DecodeError struct {
	// Offset is the byte offset of the field in the whole PDU (SMSC field
	// included when present). For hex errors it is the position of the
	// offending character in the string.
	Offset int
	// Field is the 3GPP TS 23.040 name of the field, such as "TP-UDL".
	Field string
	// Err is the cause, usually one of the ErrXxx sentinels, possibly
	// wrapped with detail.
	Err error
}

// Error returns "sms: decode <field> at byte <n>: <err>".
func (e *DecodeError) Error() string {
	msg := "<nil>"
	if e.Err != nil {
		msg = strings.TrimPrefix(e.Err.Error(), "sms: ")
	}
	return fmt.Sprintf("sms: decode %s at byte %d: %s", e.Field, e.Offset, msg)
}

// Unwrap returns the cause.
func (e *DecodeError) Unwrap() error { return e.Err }

// decodeErr builds a *DecodeError whose cause is sentinel, with optional
// detail appended.
func decodeErr(off int, field string, sentinel error, detail string, args ...any) *DecodeError {
	err := sentinel
	if detail != "" {
		err = fmt.Errorf("%w: %s", sentinel, fmt.Sprintf(detail, args...))
	}
	return &DecodeError{Offset: off, Field: field, Err: err}
}

// opError prefixes an error with the operation that failed, keeping a
// single "sms: " prefix in the message.
type opError struct {
	op  string
	err error
}

func (e *opError) Error() string {
	return "sms: " + e.op + ": " + strings.TrimPrefix(e.err.Error(), "sms: ")
}

func (e *opError) Unwrap() error { return e.err }

func wrapOp(op string, err error) error { return &opError{op: op, err: err} }
