package sms

import "fmt"

// StatusClass is the outcome class of a TP-ST value.
type StatusClass int

const (
	// Delivered means the transaction completed: the message reached the
	// phone, or the service centre forwarded or replaced it.
	Delivered StatusClass = iota + 1
	// Pending means a temporary error: the service centre is still trying.
	Pending
	// Failed means the service centre has given up: a permanent error, a
	// temporary error with no more attempts, or a reserved value.
	Failed
)

// String returns "delivered", "pending" or "failed".
func (c StatusClass) String() string {
	switch c {
	case Delivered:
		return "delivered"
	case Pending:
		return "pending"
	case Failed:
		return "failed"
	}
	return fmt.Sprintf("StatusClass(%d)", int(c))
}

// statusTexts holds the TP-ST values TS 23.040 9.2.3.15 names.
var statusTexts = map[byte]string{
	0x00: "received by the recipient",
	0x01: "forwarded to the recipient, delivery not confirmed",
	0x02: "replaced by the service centre",

	0x20: "congestion, still trying",
	0x21: "recipient busy, still trying",
	0x22: "no response from recipient, still trying",
	0x23: "service rejected, still trying",
	0x24: "quality of service not available, still trying",
	0x25: "error in recipient, still trying",

	0x40: "remote procedure error",
	0x41: "incompatible destination",
	0x42: "connection rejected by recipient",
	0x43: "not obtainable",
	0x44: "quality of service not available",
	0x45: "no interworking available",
	0x46: "validity period expired",
	0x47: "deleted by the sender",
	0x48: "deleted by service centre administration",
	0x49: "message does not exist",

	0x60: "congestion, no more attempts",
	0x61: "recipient busy, no more attempts",
	0x62: "no response from recipient, no more attempts",
	0x63: "service rejected, no more attempts",
	0x64: "quality of service not available, no more attempts",
	0x65: "error in recipient, no more attempts",
}

// StatusMeaning explains a TP-ST value from an SMS-STATUS-REPORT and
// classifies it. Values that TS 23.040 reserves or leaves to the service
// centre take the class of their range (0x00-0x1F delivered, 0x20-0x3F
// pending, 0x40-0x7F failed); values from 0x80 up are reserved and
// classed as failed, since nothing says the message will still arrive.
func StatusMeaning(st byte) (string, StatusClass) {
	var class StatusClass
	var group string
	switch {
	case st < 0x20:
		class, group = Delivered, "transaction completed"
	case st < 0x40:
		class, group = Pending, "temporary error, still trying"
	case st < 0x60:
		class, group = Failed, "permanent error"
	case st < 0x80:
		class, group = Failed, "temporary error, no more attempts"
	default:
		return fmt.Sprintf("reserved status 0x%02X", st), Failed
	}
	if text, ok := statusTexts[st]; ok {
		return text, class
	}
	if st&0x1f >= 0x10 {
		return fmt.Sprintf("%s (service centre specific 0x%02X)", group, st), class
	}
	return fmt.Sprintf("%s (reserved 0x%02X)", group, st), class
}
