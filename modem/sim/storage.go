package sim

import (
	"encoding/hex"
	"fmt"
	"strings"
)

// Message status values of 3GPP TS 27.005 (<stat> in PDU mode).
const (
	StatRecUnread = 0 // "REC UNREAD": received, not yet read
	StatRecRead   = 1 // "REC READ"
	StatStoUnsent = 2 // "STO UNSENT": written with +CMGW, not sent
	StatStoSent   = 3 // "STO SENT"
	statAll       = 4 // "ALL" (AT+CMGL only)
)

var statNames = [...]string{"REC UNREAD", "REC READ", "STO UNSENT", "STO SENT", "ALL"}

func statFromText(s string) (int, bool) {
	for i, n := range statNames {
		if strings.EqualFold(s, n) {
			return i, true
		}
	}
	return 0, false
}

// StoredMessage is one message in a modem's storage.
type StoredMessage struct {
	Memory string `json:"memory"`
	Index  int    `json:"index"`
	Stat   int    `json:"stat"`
	// PDU is the SMSC address field followed by the TPDU, as AT+CMGR shows it.
	PDU     []byte `json:"-"`
	PDUHex  string `json:"pdu"`
	TPDULen int    `json:"tpdu_len"`
	// Report is true for an SMS-STATUS-REPORT.
	Report bool `json:"report,omitempty"`
}

type slot struct {
	stat    int
	pdu     []byte
	tpduLen int
	report  bool
}

// store is one message memory ("SM", "ME", "SR"). Indexes start at 1.
type store struct {
	name  string
	slots []*slot
}

func newStore(name string, capacity int) *store {
	return &store{name: name, slots: make([]*slot, capacity)}
}

func (s *store) capacity() int { return len(s.slots) }

func (s *store) used() int {
	n := 0
	for _, sl := range s.slots {
		if sl != nil {
			n++
		}
	}
	return n
}

// put stores a message at the lowest free index and returns it; ok is false
// when the memory is full.
func (s *store) put(sl *slot) (int, bool) {
	for i, cur := range s.slots {
		if cur == nil {
			s.slots[i] = sl
			return i + 1, true
		}
	}
	return 0, false
}

func (s *store) get(index int) (*slot, bool) {
	if index < 1 || index > len(s.slots) {
		return nil, false
	}
	return s.slots[index-1], true
}

func (s *store) del(index int) bool {
	if index < 1 || index > len(s.slots) {
		return false
	}
	s.slots[index-1] = nil
	return true
}

// delFlag deletes messages by AT+CMGD <delflag> 1..4.
func (s *store) delFlag(flag int) {
	for i, sl := range s.slots {
		if sl == nil {
			continue
		}
		del := false
		switch flag {
		case 1:
			del = sl.stat == StatRecRead
		case 2:
			del = sl.stat == StatRecRead || sl.stat == StatStoSent
		case 3:
			del = sl.stat != StatRecUnread
		case 4:
			del = true
		}
		if del {
			s.slots[i] = nil
		}
	}
}

func (s *store) indexes() []int {
	var out []int
	for i, sl := range s.slots {
		if sl != nil {
			out = append(out, i+1)
		}
	}
	return out
}

func (s *store) snapshot() []StoredMessage {
	var out []StoredMessage
	for i, sl := range s.slots {
		if sl == nil {
			continue
		}
		out = append(out, StoredMessage{
			Memory: s.name, Index: i + 1, Stat: sl.stat,
			PDU: append([]byte(nil), sl.pdu...), PDUHex: strings.ToUpper(hex.EncodeToString(sl.pdu)),
			TPDULen: sl.tpduLen, Report: sl.report,
		})
	}
	return out
}

// tpduLen returns the TPDU length of a PDU that starts with the SMSC field.
func tpduLen(pdu []byte) (int, error) {
	if len(pdu) == 0 {
		return 0, fmt.Errorf("sim: empty PDU")
	}
	n := len(pdu) - 1 - int(pdu[0])
	if n <= 0 {
		return 0, fmt.Errorf("sim: PDU of %d bytes has no TPDU after a %d-byte SMSC field", len(pdu), pdu[0])
	}
	return n, nil
}

// decodeHexPDU decodes hex, ignoring white space.
func decodeHexPDU(s string) ([]byte, error) {
	s = strings.Map(func(r rune) rune {
		if r == ' ' || r == '\t' || r == '\r' || r == '\n' {
			return -1
		}
		return r
	}, s)
	b, err := hex.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("sim: PDU hex: %w", err)
	}
	return b, nil
}
