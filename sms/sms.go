// Package sms is the SMS domain of smsgw: it encodes and decodes PDUs
// (SMS-SUBMIT, SMS-DELIVER and SMS-STATUS-REPORT, with or without the SMSC
// address prefix that AT commands carry), splits text into concatenated
// segments and counts them, explains TP-ST status values and normalizes phone
// numbers to E.164.
//
// The package does no I/O and keeps no mutable package state, so every
// function is safe for concurrent use. It is the only importer of
// github.com/warthog618/sms: the low-level GSM 7-bit tables and packing come
// from there, while segmentation, PDU framing and validation are done here so
// that an escape sequence or a UTF-16 surrogate pair is never split across
// segments, nothing is ever dropped, and Count always agrees with
// EncodeSubmit.
package sms

import (
	"encoding/hex"
	"fmt"
	"strings"
	"time"
)

// Direction tells which way a PDU travels, which is needed to tell the PDU
// types apart: the TP-MTI values overlap between the two directions.
type Direction int

const (
	// MT is network to phone: SMS-DELIVER and SMS-STATUS-REPORT, as read
	// with AT+CMGR/+CMGL or indicated with +CMT/+CDS.
	MT Direction = iota
	// MO is phone to network: SMS-SUBMIT, as sent with AT+CMGS or stored
	// with AT+CMGW.
	MO
)

// String returns "MT" or "MO".
func (d Direction) String() string {
	switch d {
	case MT:
		return "MT"
	case MO:
		return "MO"
	}
	return fmt.Sprintf("Direction(%d)", int(d))
}

// Type is the kind of TPDU.
type Type int

const (
	// Deliver is an SMS-DELIVER (MT).
	Deliver Type = iota + 1
	// Submit is an SMS-SUBMIT (MO).
	Submit
	// StatusReport is an SMS-STATUS-REPORT (MT).
	StatusReport
)

// String returns "DELIVER", "SUBMIT" or "STATUS-REPORT".
func (t Type) String() string {
	switch t {
	case Deliver:
		return "DELIVER"
	case Submit:
		return "SUBMIT"
	case StatusReport:
		return "STATUS-REPORT"
	}
	return fmt.Sprintf("Type(%d)", int(t))
}

// Encoding is the alphabet of the user data.
type Encoding int

const (
	// GSM7 is the GSM 7-bit default alphabet with its extension table.
	GSM7 Encoding = iota
	// UCS2 is UCS-2, which in practice is UTF-16 big endian.
	UCS2
	// Binary is 8-bit data.
	Binary
)

// String returns "gsm7", "ucs2" or "8bit".
func (e Encoding) String() string {
	switch e {
	case GSM7:
		return "gsm7"
	case UCS2:
		return "ucs2"
	case Binary:
		return "8bit"
	}
	return fmt.Sprintf("Encoding(%d)", int(e))
}

// Concat is the concatenation information element of one part of a
// concatenated (long) message.
type Concat struct {
	Ref   int  // reference shared by all parts: 0..255, or 0..65535 when Ref16
	Ref16 bool // the 16-bit reference IE (0x08) rather than the 8-bit one (0x00)
	Total int  // number of parts, 1..255
	Seq   int  // this part, 1..Total
}

// PDU is one encoded part as it crosses the AT interface.
type PDU struct {
	Bytes   []byte // SMSC address field, then the TPDU
	TPDULen int    // length of the TPDU alone: the number AT+CMGS/+CMGW/+CMGR/+CMT/+CDS carry
}

// Hex returns the upper-case hex of p.Bytes, as written after the AT+CMGS
// prompt.
func (p PDU) Hex() string {
	return strings.ToUpper(hex.EncodeToString(p.Bytes))
}

// TPDU returns the TPDU part of p.Bytes, without the SMSC address field.
func (p PDU) TPDU() []byte {
	if p.TPDULen < 0 || p.TPDULen > len(p.Bytes) {
		return nil
	}
	return p.Bytes[len(p.Bytes)-p.TPDULen:]
}

// Message is one decoded PDU.
type Message struct {
	Type Type
	// SMSC is the service centre address from the SMSC field: "" when the
	// field was empty (00) or absent, "+<digits>" when international.
	SMSC string
	// Address is the originator (DELIVER), destination (SUBMIT) or
	// recipient (STATUS-REPORT). International numbers are "+<digits>",
	// alphanumeric ids are text, other numbers are their digits.
	Address    string
	AddressTON int // type of number, 0..7 (1 international, 5 alphanumeric)
	AddressNPI int // numbering plan, 0..15 (1 ISDN/E.164)
	// MR is the message reference (SUBMIT, STATUS-REPORT).
	MR int
	// SCTS is the service-centre time stamp, with its zone (DELIVER,
	// STATUS-REPORT).
	SCTS time.Time
	// Discharge is the discharge time (STATUS-REPORT).
	Discharge time.Time
	// Status is TP-ST (STATUS-REPORT); see StatusMeaning.
	Status   byte
	PID, DCS byte
	Encoding Encoding
	// Text is the decoded text (GSM7, UCS2); empty for Binary.
	Text string
	// Data is the user data without UDH (Binary only).
	Data []byte
	// Concat is nil unless the PDU is part of a concatenated message.
	Concat *Concat
	// SrcPort and DstPort come from an application port addressing IE;
	// both are -1 when there is none.
	SrcPort, DstPort int
	// StatusReportRequested is TP-SRR (SUBMIT) or TP-SRI (DELIVER).
	StatusReportRequested bool
	// Validity is the relative validity period of a SUBMIT (0 = absent or
	// not relative).
	Validity time.Duration
	// ValidUntil is the absolute validity period of a SUBMIT (zero when
	// absent or not absolute).
	ValidUntil time.Time
	// MoreMessages is the negation of TP-MMS (DELIVER, STATUS-REPORT): the
	// service centre has more messages waiting for this phone.
	MoreMessages bool
	// StatusReportQualifier is TP-SRQ (STATUS-REPORT): the report is about
	// an SMS-COMMAND rather than an SMS-SUBMIT.
	StatusReportQualifier bool
	// UD is the raw user data without UDH: one septet per byte (GSM7),
	// big-endian UTF-16 code units (UCS2) or octets (Binary). Reassemble
	// uses it to repair escapes and surrogate pairs split by bad senders.
	UD []byte
	// NationalLocking and NationalShift are the national language table
	// identifiers from the UDH (0 when absent, the default alphabet).
	NationalLocking, NationalShift int
}
