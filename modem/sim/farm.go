package sim

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
)

// Config configures a set of virtual modems with their network and control
// API, as run by `smsgw sim` and demo mode.
type Config struct {
	// Modems is the number of modems, named modem0, modem1, ...
	Modems int
	// LinkDir, when set, holds stable symlinks <LinkDir>/modemN → /dev/pts/M.
	LinkDir string
	// ControlAddr is the listen address of the HTTP control API
	// ("127.0.0.1:0"); "" runs no control server.
	ControlAddr string
	// Latency of every modem.
	Latency Latency
	// Personality of every modem.
	Personality Personality
	// PIN locks every SIM with this PIN.
	PIN string
	// Preload is stored in every modem.
	Preload []Preload
	// FirstNumber is the MSISDN of modem0; the others count up from it
	// (default "+4915100000001").
	FirstNumber string
	// Logger; nil discards.
	Logger *slog.Logger
}

// Farm is a running set of modems, their network and the control server.
type Farm struct {
	Network *Network
	Modems  []*Modem
	srv     *http.Server
	ln      net.Listener
	done    chan struct{}
	log     *slog.Logger
}

// Start creates the network and cfg.Modems plugged-in modems and serves
// the control API. Stop it with [Farm.Close].
func Start(cfg Config) (*Farm, error) {
	if cfg.Modems < 1 {
		return nil, errors.New("sim: need at least one modem")
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	first := cfg.FirstNumber
	if first == "" {
		first = "+4915100000001"
	}
	base, err := strconv.ParseUint(digits(first), 10, 64)
	if err != nil {
		return nil, fmt.Errorf("sim: first number %q: %w", first, err)
	}
	f := &Farm{Network: NewNetwork(NetworkConfig{Logger: log}), log: log}
	for i := range cfg.Modems {
		m, err := f.Network.NewModem(ModemConfig{
			Name:        fmt.Sprintf("modem%d", i),
			Identity:    Identity{MSISDN: "+" + strconv.FormatUint(base+uint64(i), 10)},
			Personality: cfg.Personality,
			PIN:         cfg.PIN,
			Latency:     cfg.Latency,
			LinkDir:     cfg.LinkDir,
			Preload:     cfg.Preload,
			Logger:      log,
		})
		if err == nil {
			err = m.Start()
		}
		if err != nil {
			_ = f.Close()
			return nil, err
		}
		f.Modems = append(f.Modems, m)
	}
	if cfg.ControlAddr != "" {
		ln, err := net.Listen("tcp", cfg.ControlAddr)
		if err != nil {
			_ = f.Close()
			return nil, fmt.Errorf("sim: control listen: %w", err)
		}
		f.ln = ln
		f.srv = &http.Server{Handler: NewControlHandler(f.Network), ReadHeaderTimeout: 5 * time.Second}
		f.done = make(chan struct{})
		go func() {
			defer close(f.done)
			if err := f.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				log.Error("control server", "error", err)
			}
		}()
	}
	return f, nil
}

// ControlURL returns the base URL of the control API, or "".
func (f *Farm) ControlURL() string {
	if f.ln == nil {
		return ""
	}
	return "http://" + f.ln.Addr().String()
}

// Run blocks until ctx is done, then closes the farm.
func (f *Farm) Run(ctx context.Context) error {
	<-ctx.Done()
	return f.Close()
}

// Close stops the control server (waiting up to 5 s) and every modem.
func (f *Farm) Close() error {
	var errs []error
	if f.srv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		errs = append(errs, f.srv.Shutdown(ctx))
		cancel()
		<-f.done
		f.srv = nil
	}
	for _, m := range f.Modems {
		errs = append(errs, m.Close())
	}
	return errors.Join(errs...)
}

// ReadPreload reads a preload file: one message per line as
// "<memory> <stat> <hex PDU>" or just "<hex PDU>" (SM, REC UNREAD); blank
// lines and lines starting with '#' are skipped.
func ReadPreload(path string) ([]Preload, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("sim: preload: %w", err)
	}
	defer f.Close()
	var out []Preload
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 4096), 1<<20)
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		fields := strings.Fields(text)
		p := Preload{Memory: "SM", Stat: StatRecUnread}
		switch len(fields) {
		case 1:
		case 3:
			p.Memory = strings.ToUpper(fields[0])
			st, err := strconv.Atoi(fields[1])
			if err != nil {
				st2, ok := statFromText(strings.ReplaceAll(fields[1], "_", " "))
				if !ok {
					return nil, fmt.Errorf("sim: preload line %d: bad stat %q", line, fields[1])
				}
				st = st2
			}
			p.Stat = st
		default:
			return nil, fmt.Errorf("sim: preload line %d: want \"<memory> <stat> <pdu>\"", line)
		}
		b, err := decodeHexPDU(fields[len(fields)-1])
		if err != nil {
			return nil, fmt.Errorf("sim: preload line %d: %w", line, err)
		}
		p.PDU = b
		out = append(out, p)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("sim: preload: %w", err)
	}
	return out, nil
}
