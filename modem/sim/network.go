package sim

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/smsgw/smsgw/sms"
)

// NetworkConfig configures a [Network].
type NetworkConfig struct {
	// Logger receives the network's logs; nil discards.
	Logger *slog.Logger
	// USSD maps service codes to answers; nil gives a balance answer for
	// "*100#" and "*101#".
	USSD map[string]string
}

// Network is the virtual mobile network: it knows the modems by number,
// keeps virtual phones, records every submitted PDU and message, and routes
// messages between modems and phones. All methods are safe for concurrent
// use.
type Network struct {
	log *slog.Logger

	mu      sync.Mutex
	modems  []*Modem
	phones  map[string]*phoneState
	subs    []Submission
	msgs    []*SentMessage
	ussd    map[string]string
	changed chan struct{}
	nextRef int
	rng     *rand.Rand
	reports map[string]byte
}

type phoneState struct {
	number string
	inbox  []*SentMessage
}

// Submission is one PDU a modem submitted to the network (one part of a
// message), as the SMSC received it.
type Submission struct {
	Seq          int           `json:"seq"`
	Time         time.Time     `json:"time"`
	Modem        string        `json:"modem"`
	From         string        `json:"from"`
	To           string        `json:"to"`
	MR           int           `json:"mr"`
	SMSC         string        `json:"smsc"`
	PDU          string        `json:"pdu"` // hex, SMSC field + TPDU, as received
	TPDULen      int           `json:"tpdu_len"`
	Text         string        `json:"text"`
	Data         []byte        `json:"data,omitempty"`
	Encoding     string        `json:"encoding"`
	Concat       *sms.Concat   `json:"concat,omitempty"`
	StatusReport bool          `json:"status_report"`
	Validity     time.Duration `json:"validity,omitempty"`
	Message      *sms.Message  `json:"-"`
}

// SentMessage is a message reassembled from its parts: what the SMSC got
// from a modem, or what a phone received.
type SentMessage struct {
	From     string `json:"from"`
	To       string `json:"to"`
	Modem    string `json:"modem,omitempty"`
	Text     string `json:"text"`
	Encoding string `json:"encoding"`
	Ref      int    `json:"ref"`   // concatenation reference, -1 for a single part
	Parts    int    `json:"parts"` // parts expected
	Got      int    `json:"got"`   // distinct parts received
	Complete bool   `json:"complete"`
	MRs      []int  `json:"mrs"`  // message references of the parts, in arrival order
	Seqs     []int  `json:"seqs"` // submission sequence numbers of the parts
	// Duplicates counts parts that arrived more than once.
	Duplicates   int       `json:"duplicates"`
	StatusReport bool      `json:"status_report"`
	First        time.Time `json:"first"`
	Last         time.Time `json:"last"`
	texts        []string
	have         []bool
}

// NewNetwork creates an empty network.
func NewNetwork(cfg NetworkConfig) *Network {
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ussd := cfg.USSD
	if ussd == nil {
		ussd = map[string]string{
			"*100#": "Your balance is 12.34 EUR. Valid until 31.12.2027.",
			"*101#": "You have 250 SMS and 2.0 GB left.",
		}
	}
	u := map[string]string{}
	for k, v := range ussd {
		u[k] = v
	}
	return &Network{
		log: log, phones: map[string]*phoneState{}, ussd: u, changed: make(chan struct{}),
		rng: rand.New(rand.NewPCG(1, 2)), reports: map[string]byte{},
	}
}

// NewModem creates a modem in this network. It is not plugged in until
// [Modem.Start]. The name and the MSISDN must be unique.
func (n *Network) NewModem(cfg ModemConfig) (*Modem, error) {
	if cfg.Logger == nil {
		cfg.Logger = n.log
	}
	m, err := newModem(n, cfg)
	if err != nil {
		return nil, err
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, o := range n.modems {
		if o.name == m.name {
			return nil, fmt.Errorf("sim: modem name %q taken", m.name)
		}
		if sameNumber(o.id.MSISDN, m.id.MSISDN) {
			return nil, fmt.Errorf("sim: number %s taken by %s", m.id.MSISDN, o.name)
		}
	}
	n.modems = append(n.modems, m)
	return m, nil
}

func (n *Network) removeModem(m *Modem) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.modems = slices.DeleteFunc(n.modems, func(o *Modem) bool { return o == m })
}

// Modems returns the modems in creation order.
func (n *Network) Modems() []*Modem {
	n.mu.Lock()
	defer n.mu.Unlock()
	return slices.Clone(n.modems)
}

// Modem returns the modem with that name or number, or nil.
func (n *Network) Modem(nameOrNumber string) *Modem {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, m := range n.modems {
		if m.name == nameOrNumber || sameNumber(m.id.MSISDN, nameOrNumber) {
			return m
		}
	}
	return nil
}

// digits returns the digits of a number ("+49 151-1" → "491511").
func digits(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, s)
}

func sameNumber(a, b string) bool {
	da, db := digits(a), digits(b)
	return da != "" && da == db
}

// normNumber keys phones: "+<digits>" for numbers, the text otherwise.
func normNumber(s string) string {
	d := digits(s)
	if d == "" || len(d) < len(strings.TrimLeft(s, "+ ")) {
		if d != "" && strings.Trim(s, "+0123456789 -()") == "" {
			return "+" + d
		}
		return s
	}
	return "+" + d
}

// SetUSSD sets the answer to a USSD code ("*100#"); an empty answer removes
// it (the network then answers +CUSD: 4).
func (n *Network) SetUSSD(code, answer string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if answer == "" {
		delete(n.ussd, code)
		return
	}
	n.ussd[code] = answer
}

func (n *Network) ussdAnswer(_ *Modem, code string) (string, bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	a, ok := n.ussd[code]
	return a, ok
}

// SetReportStatus sets the TP-ST of status reports for messages to number
// (0 delivered, 0x20+ temporary, 0x40+ permanent failure).
func (n *Network) SetReportStatus(number string, status byte) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.reports[normNumber(number)] = status
}

func (n *Network) reportStatus(to string) byte {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.reports[normNumber(to)]
}

// notifyLocked wakes waiters.
func (n *Network) notifyLocked() {
	close(n.changed)
	n.changed = make(chan struct{})
}

// record stores a submission, reassembles its message and routes complete
// messages to a modem with the destination number.
func (n *Network) record(s Submission) {
	n.mu.Lock()
	s.Seq = len(n.subs) + 1
	s.To = normNumber(s.To)
	n.subs = append(n.subs, s)
	msg := n.assembleLocked(&n.msgs, s)
	var target *Modem
	var deliverText string
	if msg.Complete && msg.Got == msg.Parts && len(msg.MRs) == msg.Parts {
		if ph, ok := n.phones[s.To]; ok {
			ph.inbox = append(ph.inbox, msg)
		}
		for _, m := range n.modems {
			if sameNumber(m.id.MSISDN, s.To) {
				target, deliverText = m, msg.Text
			}
		}
	}
	n.notifyLocked()
	n.mu.Unlock()
	n.log.Debug("submitted", "modem", s.Modem, "to", s.To, "mr", s.MR, "seq", s.Seq)
	if target != nil {
		from := s.From
		if err := n.deliverText(target, from, deliverText, SendOptions{}); err != nil {
			n.log.Warn("modem to modem", "error", err)
		}
	}
}

// assembleLocked adds a part to its message in list and returns the message.
func (n *Network) assembleLocked(list *[]*SentMessage, s Submission) *SentMessage {
	var msg *SentMessage
	if c := s.Concat; c != nil && c.Total > 1 && c.Seq >= 1 && c.Seq <= c.Total {
		// The newest message with this reference that lacks the part, or
		// has the same text for it (a duplicate), takes it.
		for i := len(*list) - 1; i >= 0; i-- {
			cand := (*list)[i]
			if cand.Modem == s.Modem && cand.To == s.To && cand.Ref == c.Ref && cand.Parts == c.Total &&
				(!cand.have[c.Seq-1] || cand.texts[c.Seq-1] == s.Text) && s.Time.Sub(cand.First) < time.Hour {
				msg = cand
				break
			}
		}
	}
	if msg == nil {
		parts, ref := 1, -1
		if c := s.Concat; c != nil && c.Total > 1 {
			parts, ref = c.Total, c.Ref
		}
		msg = &SentMessage{From: s.From, To: s.To, Modem: s.Modem, Encoding: s.Encoding, Ref: ref, Parts: parts,
			First: s.Time, texts: make([]string, parts), have: make([]bool, parts)}
		*list = append(*list, msg)
	}
	seq := 1
	if s.Concat != nil && s.Concat.Total > 1 && s.Concat.Seq >= 1 && s.Concat.Seq <= msg.Parts {
		seq = s.Concat.Seq
	}
	if msg.have[seq-1] {
		msg.Duplicates++
	} else {
		msg.have[seq-1] = true
		msg.Got++
		msg.texts[seq-1] = s.Text
	}
	msg.MRs = append(msg.MRs, s.MR)
	msg.Seqs = append(msg.Seqs, s.Seq)
	msg.Last = s.Time
	msg.StatusReport = msg.StatusReport || s.StatusReport
	msg.Complete = msg.Got == msg.Parts
	msg.Text = strings.Join(msg.texts, "")
	return msg
}

// Submissions returns every PDU submitted so far, in order.
func (n *Network) Submissions() []Submission {
	n.mu.Lock()
	defer n.mu.Unlock()
	return slices.Clone(n.subs)
}

// Messages returns the messages submitted so far, reassembled, in order of
// their first part.
func (n *Network) Messages() []SentMessage {
	n.mu.Lock()
	defer n.mu.Unlock()
	out := make([]SentMessage, len(n.msgs))
	for i, m := range n.msgs {
		out[i] = m.copy()
	}
	return out
}

func (m *SentMessage) copy() SentMessage {
	c := *m
	c.MRs = slices.Clone(m.MRs)
	c.Seqs = slices.Clone(m.Seqs)
	c.texts, c.have = nil, nil
	return c
}

// Reset forgets all submissions and messages.
func (n *Network) Reset() {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.subs, n.msgs = nil, nil
	for _, p := range n.phones {
		p.inbox = nil
	}
	n.notifyLocked()
}

// Wait blocks until cond, called with the messages so far, returns true, or
// ctx is done.
func (n *Network) Wait(ctx context.Context, cond func(msgs []SentMessage) bool) ([]SentMessage, error) {
	for {
		n.mu.Lock()
		ch := n.changed
		n.mu.Unlock()
		msgs := n.Messages()
		if cond(msgs) {
			return msgs, nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return msgs, fmt.Errorf("sim: wait for messages: %w", ctx.Err())
		}
	}
}

// WaitMessages waits until at least count complete messages were submitted.
func (n *Network) WaitMessages(ctx context.Context, count int) ([]SentMessage, error) {
	return n.Wait(ctx, func(msgs []SentMessage) bool {
		c := 0
		for _, m := range msgs {
			if m.Complete {
				c++
			}
		}
		return c >= count
	})
}

// Phone is a virtual phone: it texts and calls modems and receives what
// they send to its number.
type Phone struct {
	n      *Network
	number string
}

// Phone returns the virtual phone with that number, creating it.
func (n *Network) Phone(number string) *Phone {
	key := normNumber(number)
	n.mu.Lock()
	defer n.mu.Unlock()
	if _, ok := n.phones[key]; !ok {
		n.phones[key] = &phoneState{number: key}
	}
	return &Phone{n: n, number: key}
}

// Phones lists the numbers of the virtual phones.
func (n *Network) Phones() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	var out []string
	for k := range n.phones {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Number returns the phone's number.
func (p *Phone) Number() string { return p.number }

// Inbox returns the complete messages modems sent to this phone.
func (p *Phone) Inbox() []SentMessage {
	p.n.mu.Lock()
	defer p.n.mu.Unlock()
	ph := p.n.phones[p.number]
	out := make([]SentMessage, len(ph.inbox))
	for i, m := range ph.inbox {
		out[i] = m.copy()
	}
	return out
}

// SendOptions tunes [Phone.Send].
type SendOptions struct {
	// UCS2 forces UCS-2 even for GSM text.
	UCS2 bool `json:"ucs2,omitempty"`
	// Ref16 uses 16-bit concatenation references.
	Ref16 bool `json:"ref16,omitempty"`
	// Ref sets the concatenation reference; 0 picks the next one.
	Ref int `json:"ref,omitempty"`
	// Shuffle delivers the parts of a long message in random order.
	Shuffle bool `json:"shuffle,omitempty"`
	// Reverse delivers the parts last to first.
	Reverse bool `json:"reverse,omitempty"`
	// Drop lists part numbers (1-based) that are never delivered.
	Drop []int `json:"drop,omitempty"`
	// Time is the service-centre time stamp; zero means now.
	Time time.Time `json:"time,omitempty"`
}

// Send texts a modem (by its number or name). Long texts are split into
// concatenated parts. It fails if no modem has that number.
func (p *Phone) Send(to, text string, o SendOptions) error {
	m := p.n.Modem(to)
	if m == nil {
		return fmt.Errorf("sim: no modem with number %q", to)
	}
	return p.n.deliverText(m, p.number, text, o)
}

// Call rings a modem: RING (or +CRING) and +CLIP when enabled, five times.
func (p *Phone) Call(to string) error {
	m := p.n.Modem(to)
	if m == nil {
		return fmt.Errorf("sim: no modem with number %q", to)
	}
	return m.ring(p.number)
}

// deliverText encodes SMS-DELIVER PDUs and queues them for the modem.
func (n *Network) deliverText(m *Modem, from, text string, o SendOptions) error {
	n.mu.Lock()
	ref := o.Ref
	if ref == 0 {
		n.nextRef++
		ref = n.nextRef % 256
		if o.Ref16 {
			ref = n.nextRef % 65536
		}
	}
	n.mu.Unlock()
	m.mu.Lock()
	smsc := m.csca
	m.mu.Unlock()
	t := o.Time
	if t.IsZero() {
		t = time.Now().Truncate(time.Second)
	}
	pdus, err := sms.EncodeDeliver(from, text, sms.DeliverOptions{SMSC: smsc, Time: t, ForceUCS2: o.UCS2, Ref: ref, Ref16: o.Ref16})
	if err != nil {
		return fmt.Errorf("sim: encode deliver: %w", err)
	}
	type part struct {
		seq int
		pdu sms.PDU
	}
	var parts []part
	for i, p := range pdus {
		if slices.Contains(o.Drop, i+1) {
			continue
		}
		parts = append(parts, part{i + 1, p})
	}
	switch {
	case o.Reverse:
		slices.Reverse(parts)
	case o.Shuffle:
		n.mu.Lock()
		n.rng.Shuffle(len(parts), func(i, j int) { parts[i], parts[j] = parts[j], parts[i] })
		n.mu.Unlock()
	}
	for _, p := range parts {
		m.deliver(inbound{pdu: p.pdu.Bytes, tpduLen: p.pdu.TPDULen})
	}
	n.log.Debug("delivering", "modem", m.name, "from", from, "parts", len(parts))
	return nil
}
