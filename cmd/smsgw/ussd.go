package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/smsgw/smsgw/modem"
)

// errUSSDNoStore keeps inbound messages in the modem while a temporary USSD session runs:
// the session only deletes a message after its handler stored it.
var errUSSDNoStore = errors.New("smsgw ussd: messages are left in the modem for the gateway")

type ussdJSON struct {
	Port          string `json:"port,omitempty"`
	Modem         string `json:"modem,omitempty"`
	Code          string `json:"code"`
	Status        int    `json:"status"`
	StatusMeaning string `json:"status_meaning"`
	Text          string `json:"text"`
	DCS           int    `json:"dcs"`
}

func ussdStatusMeaning(m int) string {
	switch m {
	case 0:
		return "no further action required"
	case 1:
		return "further action required (menu); the session was closed"
	case 2:
		return "terminated by the network"
	}
	return fmt.Sprintf("status %d", m)
}

// validUSSD accepts the characters a USSD service code is made of.
func validUSSD(code string) bool {
	if code == "" || len(code) > 160 {
		return false
	}
	for _, c := range code {
		if !(c >= '0' && c <= '9' || c == '*' || c == '#' || c == '+') {
			return false
		}
	}
	return true
}

func cmdUSSD(ctx context.Context, e env, args []string) int {
	const examples = `  smsgw ussd --port /dev/ttyUSB2 '*100#'        # balance on many networks
  smsgw ussd --port /dev/ttyUSB2 --json '*101#'
  smsgw ussd --port /dev/ttyUSB2 --timeout 60s '*135#'
  SMSGW_TOKEN=smsgw_... smsgw ussd --modem modem0 '*100#'   # through the running gateway
  smsgw ussd --modem office --url https://sms.example.lan --token smsgw_... '*100#'
`
	fs := newFlagSet(e, "ussd", "ussd --port PATH [flags] CODE\n\n"+
		"Sends a USSD code (balance, own number, ...) and prints the network's answer.\n"+
		"With --port it opens the modem for the time of the request, so the gateway must\n"+
		"not be using it (SMS arriving meanwhile stay in the modem for the gateway).\n"+
		"With --modem NAME the running gateway sends it through its own session of that\n"+
		"modem; that needs an API token with the modems:admin scope (smsgw token create).", examples)
	port := fs.String("port", "", "serial port of the modem, e.g. /dev/ttyUSB2")
	name := fs.String("modem", "", "ask the running gateway to send it on this modem (see --url, --token)")
	gwURL := fs.String("url", "http://127.0.0.1:8080", "with --modem: the gateway's address")
	token := fs.String("token", "", "with --modem: an API token with modems:admin (default $SMSGW_TOKEN)")
	baud := fs.Int("baud", 115200, "port speed")
	timeout := fs.Duration("timeout", 30*time.Second, "how long to wait for the network's answer")
	connect := fs.Duration("connect-timeout", 30*time.Second, "how long to wait for the modem to be ready")
	force := fs.Bool("force", false, "use the port even if a running smsgw holds it")
	asJSON := fs.Bool("json", false, "print JSON")
	if code, stop := parseFlags(fs, args); stop {
		return code
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(e.stderr, "smsgw ussd: give exactly one USSD code, quoted, e.g. '*100#'")
		return 2
	}
	code := strings.TrimSpace(fs.Arg(0))
	if !validUSSD(code) {
		fmt.Fprintf(e.stderr, "smsgw ussd: %q is not a USSD code (digits, * and #, e.g. '*100#')\n", clip(code, 40))
		return 2
	}
	if *name != "" {
		if *port != "" {
			fmt.Fprintln(e.stderr, "smsgw ussd: give --port or --modem, not both")
			return 2
		}
		tok := *token
		if tok == "" {
			tok, _ = e.lookup("SMSGW_TOKEN")
		}
		return ussdViaGateway(ctx, e, *gwURL, tok, *name, code, *timeout, *asJSON)
	}
	if *port == "" {
		fmt.Fprintln(e.stderr, "smsgw ussd: --port or --modem is required, e.g. --port /dev/ttyUSB2 (list modems with 'smsgw modems')")
		return 2
	}
	if *timeout <= 0 || *connect <= 0 {
		fmt.Fprintln(e.stderr, "smsgw ussd: timeouts must be positive")
		return 2
	}
	if !*force {
		unlock, err := modem.LockPort(*port)
		if err != nil {
			fmt.Fprintf(e.stderr, "smsgw ussd: %v", err)
			if errors.Is(err, modem.ErrPortInUse) {
				fmt.Fprint(e.stderr, "; stop it or pass --force")
			}
			fmt.Fprintln(e.stderr)
			return 1
		}
		defer unlock()
	}

	// The lock is held here, so the session gets no Claim (it would conflict with it).
	s := modem.NewSession(modem.Config{
		Name: "ussd", Port: *port, Baud: *baud, USSDTimeout: *timeout,
		CommandTimeout: min(10*time.Second, *timeout),
		// No reconnect storm if the port is wrong: one attempt is all we wait for.
		ReconnectMin: time.Second, ReconnectMax: 5 * time.Second,
	}, slog.New(slog.DiscardHandler), func(context.Context, modem.Inbound) error { return errUSSDNoStore }, nil, nil)
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = s.Run(runCtx)
	}()
	defer func() {
		cancel()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
		}
	}()

	wctx, wcancel := context.WithTimeout(ctx, *connect)
	err := waitUsable(wctx, s)
	wcancel()
	if err != nil {
		fmt.Fprintf(e.stderr, "smsgw ussd: modem on %s not ready: %v\n", *port, err)
		return 1
	}
	rctx, rcancel := context.WithTimeout(ctx, *timeout+5*time.Second)
	defer rcancel()
	reply, err := s.USSD(rctx, code)
	if err != nil {
		fmt.Fprintf(e.stderr, "smsgw ussd: %v\n", err)
		return 1
	}
	if *asJSON {
		writeJSON(e.stdout, ussdJSON{Port: *port, Code: code, Status: reply.Status, StatusMeaning: ussdStatusMeaning(reply.Status), Text: reply.Text, DCS: reply.DCS})
		return 0
	}
	fmt.Fprintln(e.stdout, safeText(reply.Text, ""))
	if reply.Status != 0 {
		fmt.Fprintf(e.stderr, "(%s)\n", ussdStatusMeaning(reply.Status))
	}
	return 0
}

// waitUsable waits for the session to be ready, and gives up early with the reason
// when the SIM is locked (it will not become ready without an operator).
func waitUsable(ctx context.Context, s *modem.Session) error {
	ready := make(chan error, 1)
	go func() { ready <- s.WaitReady(ctx) }()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case err := <-ready:
			if err != nil {
				if st := s.Status(); st.LastError != "" {
					return fmt.Errorf("%s (%s)", st.State, st.LastError)
				}
			}
			return err
		case <-tick.C:
			if st := s.Status(); st.State == modem.StateLocked {
				return fmt.Errorf("the SIM is locked: %s; unlock it, e.g. smsgw at --port %s 'AT+CPIN=\"<PIN>\"'", st.LastError, st.Port)
			}
		}
	}
}
