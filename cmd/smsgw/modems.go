package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/smsgw/smsgw/modem"
)

// stringList is a repeatable string flag.
type stringList []string

func (l *stringList) String() string { return strings.Join(*l, ",") }

func (l *stringList) Set(s string) error {
	if strings.TrimSpace(s) == "" {
		return errors.New("empty path")
	}
	*l = append(*l, s)
	return nil
}

// foundJSON is one row of `smsgw modems --json`.
type foundJSON struct {
	modem.Found
	AnswerMS int64  `json:"answer_ms,omitempty"`
	InUse    bool   `json:"in_use,omitempty"`
	Error    string `json:"error,omitempty"`
}

const noModemsHint = "no USB serial modems found; is the modem in HiLink/network mode? see docs/diagnostics.md\n" +
	"(a stick that shows up as a network interface, not as /dev/ttyUSB*, needs usb_modeswitch to become a modem;\n" +
	" a port that is not USB can be probed with --port PATH)"

func cmdModems(ctx context.Context, e env, args []string) int {
	const examples = `  smsgw modems                                # probe every USB serial port
  smsgw modems --json
  smsgw modems --port /dev/ttyUSB2 --port /dev/ttyAMA0
  smsgw modems --port /dev/serial/by-id/usb-HUAWEI_Mobile-if02-port0
`
	fs := newFlagSet(e, "modems", "modems [--port PATH ...] [--json] [--timeout D]\n\n"+
		"Finds modems: lists USB serial ports (vendor:product, serial number), writes a\n"+
		"bare AT to each and identifies the ones that answer OK (maker, model, IMEI, SIM\n"+
		"IMSI/ICCID, operator, signal, registration). Ports that stay silent get nothing\n"+
		"else (a GPS or diagnostic port is never sent commands). Of a stick with several\n"+
		"ports, the AT port is shown and the others are listed with it. Ports a running\n"+
		"gateway holds are shown as in use and not touched.", examples)
	var ports stringList
	fs.Var(&ports, "port", "probe this port only (repeatable); skips USB enumeration")
	asJSON := fs.Bool("json", false, "print JSON")
	probe := fs.Duration("timeout", 1500*time.Millisecond, "how long a port may take to answer the first AT")
	baud := fs.Int("baud", 115200, "port speed")
	if code, stop := parseFlags(fs, args); stop {
		return code
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(e.stderr, "smsgw modems: unexpected argument %q; use --port PATH to probe a port\n", fs.Arg(0))
		return 2
	}
	if *probe <= 0 {
		fmt.Fprintln(e.stderr, "smsgw modems: --timeout must be positive")
		return 2
	}
	found, err := modem.Detect(ctx, modem.DetectOptions{
		Ports: ports, NoUSB: len(ports) > 0, ProbeTimeout: *probe, Baud: *baud,
	})
	if err != nil {
		fmt.Fprintf(e.stderr, "smsgw modems: %v\n", err)
	}
	code := 0
	for _, f := range found {
		if f.Err != nil && len(ports) > 0 {
			code = 1 // a port the operator named is not a usable modem
		}
	}
	if *asJSON {
		rows := make([]foundJSON, 0, len(found))
		for _, f := range found {
			r := foundJSON{Found: f, AnswerMS: f.AnswerTime.Milliseconds()}
			if f.Err != nil {
				r.Error, r.InUse = f.Err.Error(), errors.Is(f.Err, modem.ErrPortInUse)
			}
			rows = append(rows, r)
		}
		writeJSON(e.stdout, rows)
		if len(found) == 0 && len(ports) == 0 {
			fmt.Fprintln(e.stderr, noModemsHint)
		}
		return code
	}
	if len(found) == 0 {
		fmt.Fprintln(e.stdout, noModemsHint)
		return code
	}
	writeModems(e.stdout, found)
	return code
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// writeModems prints the usable modems as a table, then the ports that are not usable
// with the reason and what to do.
func writeModems(w io.Writer, found []modem.Found) {
	var ok, bad []modem.Found
	for _, f := range found {
		if f.Err == nil {
			ok = append(ok, f)
		} else {
			bad = append(bad, f)
		}
	}
	if len(ok) > 0 {
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "PORT\tUSB\tMODEM\tIMEI\tSIM IMSI\tSIM ICCID\tOPERATOR\tSIGNAL\tREGISTRATION")
		for _, f := range ok {
			usb := "-"
			if f.VID != "" {
				usb = f.VID + ":" + f.PID
			}
			model := strings.TrimSpace(f.Manufacturer + " " + f.Model)
			imsi := orDash(f.IMSI)
			if f.IMSI == "" && f.SIM != "" && f.SIM != "READY" {
				imsi = "(" + f.SIM + ")"
			}
			signal := "-"
			if f.SignalDBm != 0 {
				signal = fmt.Sprintf("%d dBm", f.SignalDBm)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", safeText(f.Port, ""), usb, safeText(orDash(model), ""),
				orDash(f.IMEI), imsi, orDash(f.ICCID), safeText(orDash(f.Operator), ""), signal, orDash(f.Registration))
		}
		_ = tw.Flush()
		for _, f := range ok {
			if len(f.OtherPorts) > 0 {
				fmt.Fprintf(w, "%s: AT port of a stick that also has %s\n", f.Port, strings.Join(f.OtherPorts, ", "))
			}
			if f.SIM != "" && f.SIM != "READY" {
				fmt.Fprintf(w, "%s: SIM wants %s; set the PIN in the config (modems[].pin)\n", f.Port, f.SIM)
			}
		}
	}
	if len(bad) > 0 {
		if len(ok) > 0 {
			fmt.Fprintln(w)
		}
		fmt.Fprintln(w, "Not usable:")
		for _, f := range bad {
			fmt.Fprintf(w, "  %s: %s\n", f.Port, whatToDo(f.Err))
		}
	}
}

// whatToDo explains a detection error with the action that helps.
func whatToDo(err error) string {
	var inUse *modem.PortInUseError
	switch {
	case errors.As(err, &inUse):
		return strings.TrimPrefix(err.Error(), "port "+inUse.Port+" ") + "; the gateway drives it (see the web UI), or stop that process"
	case errors.Is(err, modem.ErrNoAnswer):
		return err.Error() + "; normal for the extra ports of a stick"
	case errors.Is(err, modem.ErrNoPDUMode):
		return err.Error() + "; smsgw needs PDU mode"
	}
	s := err.Error()
	if strings.Contains(s, "permission denied") {
		s += "; add the user to group dialout"
	}
	return s
}
