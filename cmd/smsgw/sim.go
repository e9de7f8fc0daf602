package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/smsgw/smsgw/modem/sim"
)

// cmdSim is the "sim" entry of the command table.
func cmdSim(ctx context.Context, e env, args []string) int {
	return simMain(ctx, args, e.stdout, e.stderr)
}

const simUsage = `Usage: smsgw sim [flags]

Run virtual GSM modems on pseudo-terminals, joined by a virtual network of
virtual phones, until interrupted. Each modem's pty path is printed on its own
line, then the URL of the control API. Real modem software (gammu,
gammu-smsd, smstools, the gateway itself) can open the paths.

Examples:
  smsgw sim --modems 2 --link-dir /tmp/sim
      two modems; /tmp/sim/modem0 and /tmp/sim/modem1 always point at their ptys
  smsgw sim --latency realistic --personality huawei --control 127.0.0.1:8089
      a slow Huawei-like stick with ^RSSI noise; control API on port 8089
  smsgw sim --pin 1234 --preload inbox.txt
      SIMs locked with PIN 1234, messages preloaded from a file of
      "<memory> <stat> <hex PDU>" lines (or bare hex PDUs for SM, unread)

Control API (JSON):
  curl -X POST URL/api/phones/+4915550001/send -d '{"to":"modem0","text":"hello"}'
  curl URL/api/messages            what the network received, reassembled
  curl URL/api/submissions         every submitted PDU, hex, with time
  curl -X PUT URL/api/modems/modem0/fault -d '{"send_error":38}'
  curl -X POST URL/api/modems/modem0/unplug     (and /replug)
  curl -X POST URL/api/modems/modem0/inject -d '{"route":"cmti","pdu":"07..."}'

Flags:
`

// simMain runs `smsgw sim` until ctx is done or SIGINT/SIGTERM arrives; it
// returns the exit code.
func simMain(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("smsgw sim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	modems := fs.Int("modems", 1, "number of virtual modems")
	linkDir := fs.String("link-dir", "", "directory for stable symlinks modemN → /dev/pts/M")
	control := fs.String("control", "127.0.0.1:0", "listen address of the HTTP control API (\"\" for none)")
	latency := fs.String("latency", "instant", "latency profile: instant or realistic")
	personality := fs.String("personality", "generic", "modem personality: "+strings.Join(sim.PersonalityNames(), ", "))
	pin := fs.String("pin", "", "lock every SIM with this PIN")
	preload := fs.String("preload", "", "file of PDUs to store in every modem at start")
	first := fs.String("first-number", "+4915100000001", "MSISDN of modem0; the others count up")
	verbose := fs.Bool("v", false, "log every AT command line to stderr")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), simUsage)
		fs.PrintDefaults()
	}
	for _, a := range args {
		if a == "-h" || a == "-help" || a == "--help" {
			fs.SetOutput(stdout)
			fs.Usage()
			return 0
		}
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "smsgw sim: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	lat, ok := sim.LatencyByName(*latency)
	if !ok {
		fmt.Fprintf(stderr, "smsgw sim: unknown latency profile %q (instant, realistic)\n", *latency)
		return 2
	}
	pers, ok := sim.PersonalityByName(*personality)
	if !ok {
		fmt.Fprintf(stderr, "smsgw sim: unknown personality %q (%s)\n", *personality, strings.Join(sim.PersonalityNames(), ", "))
		return 2
	}
	if *modems < 1 || *modems > 256 {
		fmt.Fprintf(stderr, "smsgw sim: --modems must be 1..256\n")
		return 2
	}
	var pre []sim.Preload
	if *preload != "" {
		var err error
		if pre, err = sim.ReadPreload(*preload); err != nil {
			fmt.Fprintf(stderr, "smsgw sim: %v\n", err)
			return 1
		}
	}
	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	farm, err := sim.Start(sim.Config{
		Modems: *modems, LinkDir: *linkDir, ControlAddr: *control, Latency: lat, Personality: pers,
		PIN: *pin, Preload: pre, FirstNumber: *first, Logger: log,
	})
	if err != nil {
		fmt.Fprintf(stderr, "smsgw sim: %v\n", err)
		return 1
	}
	for _, m := range farm.Modems {
		fmt.Fprintln(stdout, m.Path())
	}
	if u := farm.ControlURL(); u != "" {
		fmt.Fprintln(stdout, u)
	}
	for _, m := range farm.Modems {
		id := m.Identity()
		log.Info("virtual modem", "name", m.Name(), "path", m.Path(), "link", m.Link(),
			"msisdn", id.MSISDN, "imei", id.IMEI, "iccid", id.ICCID)
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := farm.Run(ctx); err != nil {
		fmt.Fprintf(stderr, "smsgw sim: %v\n", err)
		return 1
	}
	return 0
}
