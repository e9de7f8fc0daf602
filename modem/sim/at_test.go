package sim

import (
	"bytes"
	"context"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestParseLine(t *testing.T) {
	tests := []struct {
		in   string
		want []command
		ok   bool
	}{
		{"", nil, true},
		{"E0", []command{{name: "E", args: "0"}}, true},
		{"E0V1&F0", []command{{name: "E", args: "0"}, {name: "V", args: "1"}, {name: "&F", args: "0"}}, true},
		{"+CMEE=1;+CREG=2", []command{{name: "+CMEE", kind: kindSet, args: "1"}, {name: "+CREG", kind: kindSet, args: "2"}}, true},
		{"+CSCS?", []command{{name: "+CSCS", kind: kindRead}}, true},
		{"+cscs=?", []command{{name: "+CSCS", kind: kindTest}}, true},
		{`+CUSD=1,"*100#;x",15`, []command{{name: "+CUSD", kind: kindSet, args: `1,"*100#;x",15`}}, true},
		{`+CMGL = "ALL"`, []command{{name: "+CMGL", kind: kindSet, args: `"ALL"`}}, true},
		{"D+4915550001;", []command{{name: "D", kind: kindSet, args: "+4915550001;"}}, true},
		{"S0=2", []command{{name: "S0", kind: kindSet, args: "2"}}, true},
		{"S3?", []command{{name: "S3", kind: kindRead}}, true},
		{"^CURC=0", []command{{name: "^CURC", kind: kindSet, args: "0"}}, true},
		{"$TSSPCSW=?", []command{{name: "$TSSPCSW", kind: kindTest}}, true},
		{"+", nil, false},
		{"+CSQ?x", nil, false},
		{"=", nil, false},
		{"&", nil, false},
		{"S", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, ok := parseLine(tt.in)
			if ok != tt.ok || len(got) != len(tt.want) {
				t.Fatalf("parseLine(%q) = %+v, %v", tt.in, got, ok)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("command %d = %+v, want %+v", i, got[i], tt.want[i])
				}
			}
		})
	}
}

func TestSplitParams(t *testing.T) {
	got := splitParams(`"SM",,3,"a,b"`)
	want := []param{{"SM", true}, {"", false}, {"3", false}, {"a,b", true}}
	if len(got) != len(want) {
		t.Fatalf("%+v", got)
	}
	for i := range got {
		if got[i] != want[i] {
			t.Errorf("param %d = %+v, want %+v", i, got[i], want[i])
		}
	}
}

// syncBuffer is a goroutine-safe output sink.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.b.Len() > 1<<20 {
		s.b.Reset()
	}
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func (s *syncBuffer) Reset() {
	s.mu.Lock()
	s.b.Reset()
	s.mu.Unlock()
}

// memSession is an AT engine without a pty, driven synchronously.
func memSession(t testing.TB) (*session, *syncBuffer) {
	t.Helper()
	n := NewNetwork(NetworkConfig{})
	m, err := n.NewModem(ModemConfig{Name: "mem", Latency: LatencyInstant()})
	if err != nil {
		t.Fatal(err)
	}
	m.mu.Lock()
	m.plugged = true
	m.mu.Unlock()
	t.Cleanup(func() { _ = m.Close() })
	out := &syncBuffer{}
	return &session{m: m, w: out, ctx: context.Background(), dead: make(chan struct{})}, out
}

// alive checks that the engine still answers a plain AT.
func alive(t testing.TB, s *session, out *syncBuffer) {
	t.Helper()
	s.input([]byte("\x1b\r"))
	s.m.SetFault(Fault{})
	s.m.mu.Lock()
	s.m.set.quiet, s.m.set.verbose = false, true
	s.m.mu.Unlock()
	out.Reset()
	s.input([]byte("AT\r"))
	if !strings.HasSuffix(out.String(), "OK\r\n") {
		t.Fatalf("engine stopped answering: %q", out.String())
	}
}

func FuzzATLine(f *testing.F) {
	for _, seed := range []string{
		"AT", "ATE1", "ATE0V1Q0", "AT+CMEE=1;+CREG=2", "AT+CSCS=?", `AT+CPMS="SM","SM"`, "AT+CMGL=4",
		"AT+CMGS=23\r0011000B919451550000F10000AA05E8329BFD06\x1a", "AT+CMGF=1\rAT+CMGS=\"+491\"\rhi\x1a",
		"AT+CNMI=2,1,0,2,0", `AT+CUSD=1,"*100#",15`, "ATD+4915550001;", "ATS0=2", "A/", "\x1b\r",
		"AT+CMGD=1,4", "AT+CPIN=\"1234\"", "AT^CURC=0", "AT+CMGW=5,1\r00\x1b", "AT+CNMA=2,3\r00\x1a",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, line string) {
		_, _ = parseLine(line)
		_ = splitParams(line)
		s, out := memSession(t)
		s.input([]byte(line + "\r"))
		alive(t, s, out)
	})
}

// TestRandomLines drives 10,000 random lines into the engine and checks that
// it still answers.
func TestRandomLines(t *testing.T) {
	s, out := memSession(t)
	r := rand.New(rand.NewPCG(7, 11))
	words := []string{"AT", "+CMGS", "+CMGW", "+CMGF", "+CPMS", "+CNMI", "+CMGR", "+CMGD", "+CMGL", "+CUSD",
		"+CPIN", "+CFUN", "E", "V", "Q", "Z", "=", "?", "=?", ",", ";", `"`, "1", "0", "255", "99999999999",
		"SM", "ME", "\x1a", "\x1b", "\r", " ", "&F", "S3", "D", "+CSCS", "UCS2", "+CNMA", "+CMSS", "A/", "^"}
	start := time.Now()
	for i := range 10000 {
		var b []byte
		for range r.IntN(8) {
			if r.IntN(4) == 0 {
				b = append(b, byte(r.IntN(256)))
			} else {
				b = append(b, words[r.IntN(len(words))]...)
			}
		}
		b = append(b, '\r')
		s.input(b)
		if i%1000 == 999 {
			alive(t, s, out)
		}
	}
	alive(t, s, out)
	t.Logf("10000 random lines in %v", time.Since(start))
}
