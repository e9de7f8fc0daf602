// Package harness holds what the benchmark and reliability programs under bench/ share:
// building and running the smsgw binary against in-process virtual modems, measuring a
// process group's CPU time and memory from /proc, scraping the gateway's metrics, and
// small statistics helpers.
package harness

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/smsgw/smsgw/modem/sim"
	"github.com/smsgw/smsgw/queue"
	"github.com/smsgw/smsgw/store"
)

// ModuleRoot returns the directory holding go.mod (the harnesses run from anywhere in the
// checkout).
func ModuleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("harness: go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", errors.New("harness: not inside the smsgw module")
	}
	return filepath.Dir(mod), nil
}

// BuildSmsgw builds ./cmd/smsgw into dir and returns the binary's path. If bin is not
// empty it is used as is.
func BuildSmsgw(bin, dir string) (string, error) {
	if bin != "" {
		return filepath.Abs(bin) // the tools run in their own work directories
	}
	root, err := ModuleRoot()
	if err != nil {
		return "", err
	}
	bin = filepath.Join(dir, "smsgw")
	cmd := exec.Command("go", "build", "-trimpath", "-o", bin, "./cmd/smsgw")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("harness: build smsgw: %w\n%s", err, out)
	}
	return bin, nil
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// GatewayConfig writes an smsgw.yaml into dir for the given modems (pinned by IMEI with
// their stable symlink as port) and returns its path. Everything else is smsgw's default
// except what extra adds (YAML appended at the top level, e.g. "modem:\n  health_interval: 5s\n";
// it must not repeat the modem: key unless modemExtra is empty).
func GatewayConfig(dir string, port int, modems []*sim.Modem, modemExtra, extra string) (string, error) {
	var b strings.Builder
	fmt.Fprintf(&b, "listen: 127.0.0.1:%d\nstate_dir: %s\nregion: DE\nlog:\n  level: warn\n", port, dir)
	fmt.Fprintf(&b, "modem:\n  detect: false\n%s", modemExtra)
	b.WriteString("modems:\n")
	for _, m := range modems {
		fmt.Fprintf(&b, "  - name: %s\n    port: %s\n    imei: \"%s\"\n", m.Name(), m.Link(), m.Identity().IMEI)
	}
	b.WriteString(extra)
	path := filepath.Join(dir, "smsgw.yaml")
	return path, os.WriteFile(path, []byte(b.String()), 0o600)
}

// OpenDB opens (and migrates) the gateway database in dir, as the gateway would.
func OpenDB(ctx context.Context, dir string) (*store.DB, error) {
	db, err := store.Open(ctx, filepath.Join(dir, "smsgw.db"))
	if err != nil {
		return nil, err
	}
	if err := db.Migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// Enqueue queues reqs in the database in dir through package queue, the code path of
// `smsgw send` and the REST API, in batches of 500, and returns the messages' UIDs in
// order.
func Enqueue(ctx context.Context, dir string, reqs []queue.Request) ([]string, error) {
	db, err := OpenDB(ctx, dir)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	return EnqueueDB(ctx, db, reqs)
}

// EnqueueDB is Enqueue on an open database.
func EnqueueDB(ctx context.Context, db *store.DB, reqs []queue.Request) ([]string, error) {
	q := queue.New(queue.Config{Region: "DE"}, db, nil, nil, nil)
	var uids []string
	for len(reqs) > 0 {
		n := min(len(reqs), 500)
		ms, _, err := q.EnqueueBatch(ctx, reqs[:n])
		if err != nil {
			return uids, err
		}
		for _, m := range ms {
			uids = append(uids, m.UID)
		}
		reqs = reqs[n:]
	}
	return uids, nil
}

// Proc is a started process group whose CPU time and memory are sampled from /proc.
type Proc struct {
	Cmd     *exec.Cmd
	Start   time.Time
	mu      sync.Mutex
	cpu     map[int]float64 // pid → last seen utime+stime in seconds
	peakRSS int64           // bytes, summed over the group, max over samples
	stop    chan struct{}
	done    chan struct{}
	exited  chan struct{}
	waitErr error
}

// StartProc starts cmd in a new process group and samples it every interval.
func StartProc(cmd *exec.Cmd, interval time.Duration) (*Proc, error) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	p := &Proc{Cmd: cmd, cpu: map[int]float64{}, stop: make(chan struct{}), done: make(chan struct{}), exited: make(chan struct{})}
	p.Start = time.Now()
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	go func() {
		p.waitErr = cmd.Wait()
		close(p.exited)
	}()
	go func() {
		defer close(p.done)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			p.Sample()
			select {
			case <-p.stop:
				return
			case <-p.exited:
				return
			case <-t.C:
			}
		}
	}()
	return p, nil
}

// Exited is closed when the group leader has exited.
func (p *Proc) Exited() <-chan struct{} { return p.exited }

var clkTck = 100.0 // USER_HZ on Linux

// Sample reads every process of the group once.
func (p *Proc) Sample() {
	pgid := p.Cmd.Process.Pid
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return
	}
	var rss int64
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(s[i+1:])
		// f[0] is state (field 3); pgrp is field 5 → f[2]; utime 14 → f[11]; stime 15 → f[12]; rss 24 → f[21] (pages)
		if len(f) < 22 {
			continue
		}
		if g, _ := strconv.Atoi(f[2]); g != pgid {
			continue
		}
		if f[0] == "Z" {
			continue
		}
		ut, _ := strconv.ParseFloat(f[11], 64)
		st, _ := strconv.ParseFloat(f[12], 64)
		p.cpu[pid] = (ut + st) / clkTck
		pages, _ := strconv.ParseInt(f[21], 10, 64)
		rss += pages * int64(os.Getpagesize())
	}
	if rss > p.peakRSS {
		p.peakRSS = rss
	}
}

// Usage returns the CPU seconds used so far by every process seen in the group and the
// peak of the group's summed RSS in bytes.
func (p *Proc) Usage() (cpu float64, peakRSS int64) {
	p.Sample()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.cpu {
		cpu += c
	}
	return cpu, p.peakRSS
}

// RSS returns the group's current summed RSS in bytes.
func (p *Proc) RSS() int64 {
	pgid := p.Cmd.Process.Pid
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pgid))
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "VmRSS:") {
			f := strings.Fields(l)
			if len(f) >= 2 {
				kb, _ := strconv.ParseInt(f[1], 10, 64)
				return kb * 1024
			}
		}
	}
	return 0
}

// Signal sends sig to the whole group.
func (p *Proc) Signal(sig syscall.Signal) error {
	return syscall.Kill(-p.Cmd.Process.Pid, sig)
}

// Kill SIGKILLs the group and waits for the leader.
func (p *Proc) Kill() {
	_ = p.Signal(syscall.SIGKILL)
	<-p.exited
	p.halt()
}

// Stop sends SIGTERM, waits up to d, then SIGKILLs.
func (p *Proc) Stop(d time.Duration) {
	_ = p.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(d):
		_ = p.Signal(syscall.SIGKILL)
		<-p.exited
	}
	// Children of a daemon (smsd's modem handlers) may outlive the leader briefly.
	_ = p.Signal(syscall.SIGKILL)
	p.halt()
}

func (p *Proc) halt() {
	select {
	case <-p.stop:
	default:
		close(p.stop)
	}
	<-p.done
}

// StartGateway runs `smsgw serve --config cfg` with its output appended to logPath.
func StartGateway(bin, cfg, logPath string) (*Proc, error) {
	lf, err := os.OpenFile(logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "serve", "--config", cfg)
	cmd.Stdout, cmd.Stderr = lf, lf
	p, err := StartProc(cmd, 100*time.Millisecond)
	if err != nil {
		lf.Close()
		return nil, err
	}
	go func() { <-p.exited; lf.Close() }()
	return p, nil
}

// Metrics scrapes http://127.0.0.1:port/metrics into "name{labels}" → value.
func Metrics(ctx context.Context, port int) (map[string]float64, error) {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("http://127.0.0.1:%d/metrics", port), nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		l := sc.Text()
		if l == "" || l[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(l, ' ')
		if i < 0 {
			continue
		}
		v, err := strconv.ParseFloat(l[i+1:], 64)
		if err != nil {
			continue
		}
		out[l[:i]] = v
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	return out, sc.Err()
}

// ModemUp reports smsgw_modem_up for modem (false when the gateway does not answer).
func ModemUp(ctx context.Context, port int, modem string) bool {
	m, err := Metrics(ctx, port)
	if err != nil {
		return false
	}
	return m[fmt.Sprintf(`smsgw_modem_up{modem=%q}`, modem)] == 1
}

// WaitFor polls cond every step until it is true or d passes; it returns how long it
// took and whether cond became true.
func WaitFor(d, step time.Duration, cond func() bool) (time.Duration, bool) {
	start := time.Now()
	for {
		if cond() {
			return time.Since(start), true
		}
		if time.Since(start) > d {
			return time.Since(start), false
		}
		time.Sleep(step)
	}
}

// InboundBodies returns the body of every inbound message in the database.
func InboundBodies(ctx context.Context, db *store.DB) ([]store.Message, error) {
	var out []store.Message
	var before int64
	for {
		ms, err := db.Messages(ctx, store.MessageFilter{Direction: "in", BeforeID: before, Limit: 500})
		if err != nil {
			return out, err
		}
		out = append(out, ms...)
		if len(ms) < 500 {
			return out, nil
		}
		before = ms[len(ms)-1].ID
	}
}

// NewFarm starts n generic virtual modems with the given latency, symlinked in linkDir.
func NewFarm(n int, lat sim.Latency, linkDir string, pers *sim.Personality) (*sim.Farm, error) {
	cfg := sim.Config{Modems: n, LinkDir: linkDir, Latency: lat}
	if pers != nil {
		cfg.Personality = *pers
	}
	return sim.Start(cfg)
}

// Stats summarises samples.
type Stats struct {
	N                          int
	Min, Median, P95, P99, Max float64
}

// Summarize sorts a copy of xs and returns its order statistics.
func Summarize(xs []float64) Stats {
	if len(xs) == 0 {
		return Stats{}
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	q := func(p float64) float64 {
		i := int(p*float64(len(s)-1) + 0.5)
		return s[i]
	}
	return Stats{N: len(s), Min: s[0], Median: q(0.5), P95: q(0.95), P99: q(0.99), Max: s[len(s)-1]}
}

// MachineInfo describes the host for the reports.
func MachineInfo() string {
	cpu := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "model name") {
				cpu = strings.TrimSpace(l[strings.IndexByte(l, ':')+1:])
				break
			}
		}
	}
	mem := ""
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		f := strings.Fields(strings.SplitN(string(b), "\n", 2)[0])
		if len(f) >= 2 {
			kb, _ := strconv.ParseFloat(f[1], 64)
			mem = fmt.Sprintf(", %.0f GiB RAM", kb/1024/1024)
		}
	}
	load := ""
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		load = ", load " + strings.Join(strings.Fields(string(b))[:3], " ")
	}
	n := strings.Count(cpuList(), ",") + 1
	return fmt.Sprintf("%d× %s%s%s", n, cpu, mem, load)
}

func cpuList() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return ""
	}
	var ids []string
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "processor") {
			ids = append(ids, l)
		}
	}
	return strings.Join(ids, ",")
}
