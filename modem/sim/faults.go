package sim

import (
	"math/rand/v2"
	"strings"
	"time"
)

// Fault is the set of faults a modem currently shows. The zero value is a
// healthy modem. Faults are switched at run time with [Modem.SetFault].
type Fault struct {
	// Hang makes the modem swallow every byte: no echo, no answer, no effect.
	Hang bool `json:"hang,omitempty"`
	// Mute makes commands take effect but drops their final result (and
	// information lines). A +CMGS under Mute reaches the network, but the
	// client never learns its message reference.
	Mute bool `json:"mute,omitempty"`
	// Delay is added before every final result ("answer late").
	Delay Duration `json:"delay,omitempty"`
	// Garbage sends a burst of random bytes before every answer and at random
	// times.
	Garbage bool `json:"garbage,omitempty"`
	// SendError makes +CMGS/+CMSS answer "+CMS ERROR: <SendError>" (e.g. 500,
	// 330, 331, 38) without reaching the network.
	SendError int `json:"send_error,omitempty"`
	// SendErrorCount limits SendError to that many sends; 0 means every send
	// until the fault is cleared.
	SendErrorCount int `json:"send_error_count,omitempty"`
	// Deregistered drops the modem from the network: +CREG stat 0, +COPS: 0,
	// sends fail with +CMS ERROR: 331, inbound messages wait in the network.
	Deregistered bool `json:"deregistered,omitempty"`
	// StorageFull makes every message storage report itself full: +CMGW
	// answers +CMS ERROR: 322 and inbound messages wait in the network.
	StorageFull bool `json:"storage_full,omitempty"`
}

// Duration is a time.Duration that reads and writes JSON as a Go duration
// string ("2.5s") and also accepts a number of milliseconds.
type Duration time.Duration

// MarshalText implements encoding.TextMarshaler.
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(strings.TrimSpace(string(b)))
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// UnmarshalJSON accepts "2s" or a number of milliseconds.
func (d *Duration) UnmarshalJSON(b []byte) error {
	s := strings.TrimSpace(string(b))
	if s == "null" {
		return nil
	}
	if strings.HasPrefix(s, `"`) {
		return d.UnmarshalText([]byte(strings.Trim(s, `"`)))
	}
	ms, err := time.ParseDuration(s + "ms")
	if err != nil {
		return err
	}
	*d = Duration(ms)
	return nil
}

// Span is a range of durations; a value is drawn uniformly from [Min, Max].
type Span struct {
	Min Duration `json:"min"`
	Max Duration `json:"max"`
}

// Fixed returns a Span of exactly d.
func Fixed(d time.Duration) Span { return Span{Duration(d), Duration(d)} }

func (s Span) draw(r *rand.Rand) time.Duration {
	lo, hi := time.Duration(s.Min), time.Duration(s.Max)
	if hi <= lo {
		return lo
	}
	return lo + time.Duration(r.Int64N(int64(hi-lo)+1))
}

// Latency says how long the modem takes to answer. Zero values are instant.
type Latency struct {
	// Command is spent on every command line before its final result.
	Command Span `json:"command"`
	// Send is spent between the Ctrl-Z of +CMGS (or +CMSS) and its answer.
	Send Span `json:"send"`
	// PerCommand adds time for particular commands, keyed by upper-case name
	// ("+COPS", "+CUSD", "+CMGL").
	PerCommand map[string]Span `json:"per_command,omitempty"`
	// StatusReport is the delay between a send and its status report.
	StatusReport Span `json:"status_report"`
	// USSD is the delay before the network's +CUSD answer.
	USSD Span `json:"ussd"`
	// RingEvery is the interval between RING indications of an incoming call.
	RingEvery Duration `json:"ring_every"`
}

// LatencyInstant answers at once; use it in tests.
func LatencyInstant() Latency {
	return Latency{RingEvery: Duration(200 * time.Millisecond)}
}

// LatencyRealistic behaves like a USB stick on a live network: a few
// milliseconds per command, 2–6 s per +CMGS, status reports after 3–15 s.
func LatencyRealistic() Latency {
	return Latency{
		Command: Span{Duration(5 * time.Millisecond), Duration(30 * time.Millisecond)},
		Send:    Span{Duration(2 * time.Second), Duration(6 * time.Second)},
		PerCommand: map[string]Span{
			"+COPS": Fixed(200 * time.Millisecond),
			"+CMGL": Fixed(100 * time.Millisecond),
		},
		StatusReport: Span{Duration(3 * time.Second), Duration(15 * time.Second)},
		USSD:         Span{Duration(1 * time.Second), Duration(3 * time.Second)},
		RingEvery:    Duration(3 * time.Second),
	}
}

// LatencyByName returns "instant" or "realistic".
func LatencyByName(name string) (Latency, bool) {
	switch strings.ToLower(name) {
	case "", "instant":
		return LatencyInstant(), true
	case "realistic":
		return LatencyRealistic(), true
	}
	return Latency{}, false
}

func (l Latency) clone() Latency {
	if l.PerCommand != nil {
		pc := make(map[string]Span, len(l.PerCommand))
		for k, v := range l.PerCommand {
			pc[strings.ToUpper(k)] = v
		}
		l.PerCommand = pc
	}
	return l
}

// garbage returns a few random bytes such as a noisy line produces.
func garbage(r *rand.Rand) []byte {
	b := make([]byte, 3+r.IntN(12))
	for i := range b {
		b[i] = byte(r.IntN(256))
		if b[i] == 0x1a || b[i] == 0x1b {
			b[i] = 0xff
		}
	}
	return b
}
