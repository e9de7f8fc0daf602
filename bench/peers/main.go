// Command peers runs smsgw, gammu-smsd (files backend) and smstools3 smsd side by side
// on the same virtual modem (generic personality, in this process) with the same
// messages, and measures wall time until the virtual network has them all (or, for
// receiving, until the gateway has stored them all), CPU seconds and peak RSS of each
// gateway's process group (sampled from /proc every 100 ms).
//
//	go run ./bench/peers -dir send -latency instant -messages 500 -runs 3
//	go run ./bench/peers -dir recv -latency instant -messages 500 -runs 3
//	go run ./bench/peers -dir send -latency realistic -messages 20 -runs 3
//	go run ./bench/peers -scaling 1,2,4,8,16          # smsgw only, 3 s per AT+CMGS
//
// Every run appends one JSON line to -out (default bench-peers.jsonl); the summary
// (median and range per configuration, Markdown) goes to stdout.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/smsgw/smsgw/bench/internal/harness"
	"github.com/smsgw/smsgw/modem/sim"
	"github.com/smsgw/smsgw/queue"
)

// Result is one run.
type Result struct {
	Tool      string  `json:"tool"`
	Direction string  `json:"direction"`
	Latency   string  `json:"latency"`
	Modems    int     `json:"modems"`
	Messages  int     `json:"messages"`
	Parts     int     `json:"parts"`
	Wall      float64 `json:"wall_s"`      // process start → last message at the network / in the inbox
	Active    float64 `json:"active_s"`    // first → last AT+CMGS seen by the network (send)
	CPU       float64 `json:"cpu_s"`       // user+system of the process group at completion
	PeakRSS   float64 `json:"peak_rss_mb"` // max over samples of the group's summed RSS
	IdleRSS   float64 `json:"idle_rss_mb"` // smsgw: RSS before any work (recv runs: first sample)
	Complete  bool    `json:"complete"`    // everything arrived before the timeout
	Wrong     int     `json:"wrong"`       // texts that arrived altered (send) / not found (recv)
	Dup       int     `json:"dup"`         // duplicates
	GapP50    float64 `json:"gap_p50_ms"`  // send, one modem: time between consecutive AT+CMGS
	GapP99    float64 `json:"gap_p99_ms"`  //
	When      string  `json:"when"`
	Note      string  `json:"note,omitempty"`
}

type opts struct {
	bin     string
	timeout time.Duration
	out     string
	keep    bool
}

func main() {
	log.SetFlags(log.Ltime)
	dir := flag.String("dir", "send", "send or recv")
	lat := flag.String("latency", "instant", "instant, realistic or fixed4")
	messages := flag.Int("messages", 500, "messages per run")
	runs := flag.Int("runs", 3, "runs per tool")
	tools := flag.String("tools", "smsgw,smstools,gammu", "tools to run, in order")
	scaling := flag.String("scaling", "", "smsgw only: comma-separated modem counts (e.g. 1,2,4,8,16), 3 s per AT+CMGS")
	perModem := flag.Int("per-modem", 10, "scaling: messages per modem")
	var o opts
	flag.StringVar(&o.bin, "smsgw", "", "smsgw binary (default: build ./cmd/smsgw)")
	flag.DurationVar(&o.timeout, "timeout", 30*time.Minute, "give up a run after this long")
	flag.StringVar(&o.out, "out", "bench-peers.jsonl", "append one JSON line per run here")
	flag.BoolVar(&o.keep, "keep", false, "keep the work directories")
	summary := flag.String("summary", "", "only print the summary of this JSONL file")
	flag.Parse()
	if *summary != "" {
		printSummary(*summary)
		return
	}
	tmp, err := os.MkdirTemp("", "smsgw-peers-")
	if err != nil {
		log.Fatal(err)
	}
	if !o.keep {
		defer os.RemoveAll(tmp)
	}
	if o.bin, err = harness.BuildSmsgw(o.bin, tmp); err != nil {
		log.Fatal(err)
	}
	log.Printf("machine: %s", harness.MachineInfo())
	if *scaling != "" {
		for _, s := range strings.Split(*scaling, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(s))
			if err != nil {
				log.Fatal(err)
			}
			for r := range *runs {
				res := runScaling(o, tmp, n, *perModem)
				save(o.out, res)
				log.Printf("scaling n=%d run %d: %d parts in %.1fs active (%.2f parts/s)", n, r+1, res.Parts, res.Active, float64(res.Parts)/res.Active)
			}
		}
		return
	}
	msgs := workload(*messages)
	for r := range *runs {
		for _, tool := range strings.Split(*tools, ",") {
			var res Result
			work := filepath.Join(tmp, fmt.Sprintf("%s-%s-%s-%d", tool, *dir, *lat, r))
			if err := os.MkdirAll(work, 0o755); err != nil {
				log.Fatal(err)
			}
			switch *dir {
			case "send":
				res = runSend(o, tool, work, *lat, msgs)
			case "recv":
				res = runRecv(o, tool, work, *lat, msgs)
			default:
				log.Fatalf("-dir %q: want send or recv", *dir)
			}
			save(o.out, res)
			log.Printf("%s %s %s run %d: wall %.1fs active %.1fs cpu %.2fs peak %.1f MB complete=%v wrong=%d dup=%d gap p50 %.1f ms p99 %.1f ms %s",
				tool, *dir, *lat, r+1, res.Wall, res.Active, res.CPU, res.PeakRSS, res.Complete, res.Wrong, res.Dup, res.GapP50, res.GapP99, res.Note)
		}
	}
	printSummary(o.out)
}

func save(path string, r Result) {
	r.When = time.Now().UTC().Format(time.RFC3339)
	b, _ := json.Marshal(r)
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	fmt.Fprintln(f, string(b))
}

type message struct {
	to, text string
	unicode  bool
}

// workload is the same for every tool: per 10 messages, 6 short GSM-7, 2 long GSM-7 (2 and
// 3 parts), 1 short UCS-2 and 1 long UCS-2 (2 parts). No characters outside the BMP:
// smstools3 drops text after one (SIMULATOR.md 2.6), which would measure a bug.
func workload(n int) []message {
	var out []message
	for i := range n {
		m := message{to: fmt.Sprintf("+4915112%06d", i)}
		switch i % 10 {
		case 6:
			m.text = fmt.Sprintf("Long message %d: ", i) + strings.Repeat("Your parcel is on its way. ", 8)
		case 7:
			m.text = fmt.Sprintf("Longer message %d: ", i) + strings.Repeat("Please confirm the delivery window. ", 9)
		case 8:
			m.text, m.unicode = fmt.Sprintf("Привет %d, заказ готов", i), true
		case 9:
			m.text, m.unicode = fmt.Sprintf("Ünïcødé %d: ", i)+strings.Repeat("Ваш заказ доставлен. ", 4), true
		default:
			m.text = fmt.Sprintf("Short message %d from the benchmark", i)
		}
		out = append(out, m)
	}
	return out
}

// latency returns a profile by name: instant, realistic (2–6 s per AT+CMGS, drawn at
// random), or fixed4 (realistic command latency, exactly 4 s per AT+CMGS, so every tool
// gets the same modem time and differences are the tools' own overhead).
func latency(name string) sim.Latency {
	if name == "fixed4" {
		l := sim.LatencyRealistic()
		l.Send = sim.Fixed(4 * time.Second)
		return l
	}
	l, ok := sim.LatencyByName(name)
	if !ok {
		log.Fatalf("latency %q: want instant or realistic", name)
	}
	return l
}

// tool setup: config files and the command, for one modem.
func setup(o opts, tool, work string, m *sim.Modem, port int, modems []*sim.Modem) *exec.Cmd {
	mk := func(names ...string) {
		for _, n := range names {
			if err := os.MkdirAll(filepath.Join(work, n), 0o755); err != nil {
				log.Fatal(err)
			}
		}
	}
	switch tool {
	case "smsgw":
		cfg, err := harness.GatewayConfig(work, port, modems, "", "")
		if err != nil {
			log.Fatal(err)
		}
		return exec.Command(o.bin, "serve", "--config", cfg)
	case "gammu":
		mk("inbox", "outbox", "sent", "error")
		rc := fmt.Sprintf(gammuConf, m.Link(), work)
		if err := os.WriteFile(filepath.Join(work, "gammurc"), []byte(rc), 0o644); err != nil {
			log.Fatal(err)
		}
		return exec.Command("gammu-smsd", "-c", filepath.Join(work, "gammurc"))
	case "smstools":
		mk("outgoing", "checked", "failed", "sent", "incoming", "report")
		conf := fmt.Sprintf(smsdConf, work, m.Link())
		if err := os.WriteFile(filepath.Join(work, "smsd.conf"), []byte(conf), 0o644); err != nil {
			log.Fatal(err)
		}
		return exec.Command("smsd", "-c"+filepath.Join(work, "smsd.conf"), "-t")
	}
	log.Fatalf("unknown tool %q", tool)
	return nil
}

// gammuConf: gammu-smsd 1.42, files backend (default "detail" formats, so a long message
// is one smsbackup file with all its parts), tuned for speed: no pause between loops,
// 1 s receive poll, no status/battery/signal/security checks, no delivery reports, no
// resets, 1 s communication timeout.
const gammuConf = `[gammu]
device = %[1]s
connection = at

[smsd]
service = files
logfile = %[2]s/smsd.log
debuglevel = 0
inboxpath = %[2]s/inbox/
outboxpath = %[2]s/outbox/
sentsmspath = %[2]s/sent/
errorsmspath = %[2]s/error/
inboxformat = unicode
deliveryreport = no
LoopSleep = 0
ReceiveFrequency = 1
StatusFrequency = 0
CommTimeout = 1
SendTimeout = 30
MaxRetries = 1
CheckSecurity = 0
CheckBattery = 0
CheckSignal = 0
CheckNetwork = 0
ResetFrequency = 0
HardResetFrequency = 0
`

// smsdConf: smstools3 3.1.21 tuned for speed: 1 s idle sleep in the modem and main
// processes, no network check before each send, no pre-init, no status-file signal
// quality, no delivery reports, autosplit with concatenation headers.
const smsdConf = `devices = GSM1
outgoing = %[1]s/outgoing
checked = %[1]s/checked
failed = %[1]s/failed
sent = %[1]s/sent
incoming = %[1]s/incoming
report = %[1]s/report
logfile = %[1]s/smsd.log
infofile = %[1]s/smsd.running
pidfile = %[1]s/smsd.pid
loglevel = 4
delaytime = 1
delaytime_mainprocess = 1
errorsleeptime = 1
autosplit = 3
status_signal_quality = no
stats_no_zeroes = yes

[GSM1]
device = %[2]s
incoming = yes
baudrate = 115200
check_network = 0
pre_init = no
report = no
`

// feed puts the messages where each tool takes them from: smsgw's database through
// package queue (what `smsgw send` and the API do), gammu-smsd's outbox through
// gammu-smsd-inject, smsd's outgoing folder as message files.
func feed(tool, work string, msgs []message) {
	switch tool {
	case "smsgw":
		var reqs []queue.Request
		for _, m := range msgs {
			reqs = append(reqs, queue.Request{To: m.to, Body: m.text, NoReport: true})
		}
		if _, err := harness.Enqueue(context.Background(), work, reqs); err != nil {
			log.Fatal(err)
		}
	case "gammu":
		for _, m := range msgs {
			args := []string{"-c", filepath.Join(work, "gammurc"), "TEXT", m.to, "-autolen", strconv.Itoa(len(m.text)), "-textutf8", m.text}
			if m.unicode {
				args = append(args, "-unicode")
			}
			if out, err := exec.Command("gammu-smsd-inject", args...).CombinedOutput(); err != nil {
				log.Fatalf("gammu-smsd-inject: %v\n%s", err, out)
			}
		}
	case "smstools":
		for i, m := range msgs {
			body := fmt.Sprintf("To: %s\nAlphabet: UTF\n\n%s", strings.TrimPrefix(m.to, "+"), m.text)
			tmp := filepath.Join(work, fmt.Sprintf("msg%05d.tmp", i))
			if err := os.WriteFile(tmp, []byte(body), 0o644); err != nil {
				log.Fatal(err)
			}
			if err := os.Rename(tmp, filepath.Join(work, "outgoing", fmt.Sprintf("msg%05d", i))); err != nil {
				log.Fatal(err)
			}
		}
	}
}

func runSend(o opts, tool, work, lat string, msgs []message) Result {
	farm, err := harness.NewFarm(1, latency(lat), filepath.Join(work, "dev"), nil)
	if err != nil {
		log.Fatal(err)
	}
	defer farm.Close()
	m := farm.Modems[0]
	port, _ := harness.FreePort()
	cmd := setup(o, tool, work, m, port, farm.Modems)
	feed(tool, work, msgs)
	want := map[string]bool{}
	for _, x := range msgs {
		want[x.text] = true
	}
	lf, _ := os.Create(filepath.Join(work, "stdout.log"))
	defer lf.Close()
	cmd.Stdout, cmd.Stderr, cmd.Dir = lf, lf, work
	p, err := harness.StartProc(cmd, 100*time.Millisecond)
	if err != nil {
		log.Fatal(err)
	}
	defer p.Stop(5 * time.Second)
	res := Result{Tool: tool, Direction: "send", Latency: lat, Modems: 1, Messages: len(msgs)}
	deadline := time.Now().Add(o.timeout)
	for {
		done, wrong := 0, 0
		for _, s := range farm.Network.Messages() {
			if s.Got < s.Parts {
				continue
			}
			if want[s.Text] {
				done++
			} else {
				wrong++
			}
		}
		if done+wrong >= len(msgs) {
			res.Complete, res.Wrong = true, wrong
			break
		}
		if time.Now().After(deadline) {
			res.Note = fmt.Sprintf("timeout: %d of %d", done+wrong, len(msgs))
			res.Wrong = wrong
			break
		}
		select {
		case <-p.Exited():
			res.Note = "exited early"
			deadline = time.Now()
		case <-time.After(50 * time.Millisecond):
		}
	}
	res.Wall = time.Since(p.Start).Seconds()
	cpu, peak := p.Usage()
	res.CPU, res.PeakRSS = cpu, float64(peak)/1e6
	subs := farm.Network.Submissions()
	res.Parts = len(subs)
	if len(subs) > 1 {
		res.Active = subs[len(subs)-1].Time.Sub(subs[0].Time).Seconds()
		var gaps []float64
		for i := 1; i < len(subs); i++ {
			gaps = append(gaps, float64(subs[i].Time.Sub(subs[i-1].Time).Microseconds())/1000)
		}
		s := harness.Summarize(gaps)
		res.GapP50, res.GapP99 = s.Median, s.P99
	}
	for _, s := range farm.Network.Messages() {
		res.Dup += s.Duplicates
	}
	return res
}

// runRecv: phones text the modem before the gateway starts (what the storage cannot
// hold waits in the network); the run ends when the modem and the network hold nothing
// more and the gateway's inbox has stopped growing for 3 s.
func runRecv(o opts, tool, work, lat string, msgs []message) Result {
	farm, err := harness.NewFarm(1, latency(lat), filepath.Join(work, "dev"), nil)
	if err != nil {
		log.Fatal(err)
	}
	defer farm.Close()
	m := farm.Modems[0]
	port, _ := harness.FreePort()
	cmd := setup(o, tool, work, m, port, farm.Modems)
	parts := 0
	for i, x := range msgs {
		if err := farm.Network.Phone(fmt.Sprintf("+4917000%06d", i)).Send(m.Identity().MSISDN, x.text, sim.SendOptions{}); err != nil {
			log.Fatal(err)
		}
		ps, _ := smsParts(x.text)
		parts += ps
	}
	var count func() int
	switch tool {
	case "smsgw":
		// Create the database first so the harness can read it while the gateway runs.
		db, err := harness.OpenDB(context.Background(), work)
		if err != nil {
			log.Fatal(err)
		}
		defer db.Close()
		count = func() int {
			n, _, err := db.CountInboundMessages(context.Background())
			if err != nil {
				return 0
			}
			return n
		}
	case "gammu":
		count = func() int { return files(filepath.Join(work, "inbox")) }
	case "smstools":
		count = func() int { return files(filepath.Join(work, "incoming")) }
	}
	lf, _ := os.Create(filepath.Join(work, "stdout.log"))
	defer lf.Close()
	cmd.Stdout, cmd.Stderr, cmd.Dir = lf, lf, work
	p, err := harness.StartProc(cmd, 100*time.Millisecond)
	if err != nil {
		log.Fatal(err)
	}
	defer p.Stop(5 * time.Second)
	res := Result{Tool: tool, Direction: "recv", Latency: lat, Modems: 1, Messages: len(msgs), Parts: parts}
	time.Sleep(300 * time.Millisecond)
	_, res.IdleRSS = 0, float64(p.RSS())/1e6
	deadline := time.Now().Add(o.timeout)
	last, lastChange := 0, time.Now()
	var cpuAtLast float64
	var peakAtLast int64
	for {
		n := count()
		if n != last {
			last, lastChange = n, time.Now()
			cpuAtLast, peakAtLast = p.Usage()
		}
		left := m.Status().Pending
		for _, u := range m.Memories() {
			left += u.Used
		}
		if left == 0 && n >= len(msgs) && time.Since(lastChange) > 3*time.Second {
			res.Complete = true
			break
		}
		if time.Now().After(deadline) {
			res.Note = fmt.Sprintf("timeout: inbox has %d, modem/network still %d", n, left)
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	res.Wall = lastChange.Sub(p.Start).Seconds()
	res.CPU, res.PeakRSS = cpuAtLast, float64(peakAtLast)/1e6
	// Check the texts.
	switch tool {
	case "smsgw":
		db, err := harness.OpenDB(context.Background(), work)
		if err == nil {
			ms, _ := harness.InboundBodies(context.Background(), db)
			got := map[string]int{}
			for _, x := range ms {
				got[x.Body]++
			}
			for _, x := range msgs {
				switch got[x.text] {
				case 0:
					res.Wrong++
				case 1:
				default:
					res.Dup++
				}
			}
			db.Close()
		}
	case "smstools", "gammu":
		dir := filepath.Join(work, "incoming")
		if tool == "gammu" {
			dir = filepath.Join(work, "inbox")
		}
		all := readAll(dir)
		for i, x := range msgs {
			if tool == "gammu" {
				// One file per part, named IN<date>_<time>_<serial>_<sender>_<part>.txt.
				if got := all[fmt.Sprintf("+4917000%06d", i)]; got != x.text {
					if res.Wrong == 0 {
						log.Printf("gammu: first altered text: want %q, got %q", x.text, got)
					}
					res.Wrong++
				}
			} else if !strings.Contains(all[""], x.text) {
				res.Wrong++
			}
		}
		res.Note = strings.TrimSpace(res.Note + fmt.Sprintf(" %d files", last))
	}
	return res
}

func smsParts(text string) (int, error) {
	// Good enough for the workload: GSM-7 153/160, UCS-2 67/70.
	uni := false
	for _, r := range text {
		if r > 0x7e {
			uni = true
		}
	}
	n := len([]rune(text))
	one, multi := 160, 153
	if uni {
		one, multi = 70, 67
	}
	if n <= one {
		return 1, nil
	}
	return (n + multi - 1) / multi, nil
}

func files(dir string) int {
	ents, _ := os.ReadDir(dir)
	n := 0
	for _, e := range ents {
		if !e.IsDir() && !strings.HasPrefix(e.Name(), ".") && !strings.HasSuffix(e.Name(), ".LOCK") {
			n++
		}
	}
	return n
}

// readAll returns the files of dir decoded as text (UTF-8, or UTF-16 with a BOM as
// gammu's unicode inbox format writes): all of them under "", and gammu's part files
// joined in name order under their sender.
func readAll(dir string) map[string]string {
	ents, _ := os.ReadDir(dir)
	var b strings.Builder
	out := map[string]string{}
	for _, e := range ents {
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			continue
		}
		if len(data) >= 2 && ((data[0] == 0xff && data[1] == 0xfe) || (data[0] == 0xfe && data[1] == 0xff)) {
			le := data[0] == 0xff
			var rs []uint16
			for i := 2; i+1 < len(data); i += 2 {
				if le {
					rs = append(rs, uint16(data[i])|uint16(data[i+1])<<8)
				} else {
					rs = append(rs, uint16(data[i])<<8|uint16(data[i+1]))
				}
			}
			// gammu 1.42 writes a UCS-2 text, a U+0000 and then stale bytes of an earlier
			// message; the text ends at the U+0000.
			t, _, _ := strings.Cut(string(utf16Decode(rs)), "\x00")
			data = []byte(t)
		} else if head, body, ok := strings.Cut(string(data), "\n\n"); ok && strings.Contains(head, "Alphabet: UCS2") {
			// smstools stores UCS-2 messages as raw UTF-16BE after the headers.
			var rs []uint16
			for i := 0; i+1 < len(body); i += 2 {
				rs = append(rs, uint16(body[i])<<8|uint16(body[i+1]))
			}
			data = []byte(head + "\n\n" + string(utf16Decode(rs)))
		}
		b.Write(data)
		b.WriteByte('\n')
		if f := strings.Split(e.Name(), "_"); len(f) >= 5 {
			out[f[3]] += string(data)
		}
	}
	out[""] = b.String()
	return out
}

func utf16Decode(s []uint16) []rune {
	var out []rune
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0xd800 && c < 0xdc00 && i+1 < len(s) {
			out = append(out, (rune(c)-0xd800)<<10+(rune(s[i+1])-0xdc00)+0x10000)
			i++
			continue
		}
		out = append(out, rune(c))
	}
	return out
}

// runScaling: smsgw with n modems, 3 s per AT+CMGS (fixed, so the modems are equal),
// perModem single-part messages per modem queued before the start. Active time is first
// to last submission.
func runScaling(o opts, tmp string, n, perModem int) Result {
	work, err := os.MkdirTemp(tmp, fmt.Sprintf("scale%d-", n))
	if err != nil {
		log.Fatal(err)
	}
	lat := sim.LatencyRealistic()
	lat.Send = sim.Fixed(3 * time.Second)
	farm, err := harness.NewFarm(n, lat, filepath.Join(work, "dev"), nil)
	if err != nil {
		log.Fatal(err)
	}
	defer farm.Close()
	port, _ := harness.FreePort()
	cmd := setup(o, "smsgw", work, farm.Modems[0], port, farm.Modems)
	total := n * perModem
	var reqs []queue.Request
	for i := range total {
		reqs = append(reqs, queue.Request{To: fmt.Sprintf("+4915113%06d", i), Body: fmt.Sprintf("scaling %d", i), NoReport: true})
	}
	if _, err := harness.Enqueue(context.Background(), work, reqs); err != nil {
		log.Fatal(err)
	}
	lf, _ := os.Create(filepath.Join(work, "stdout.log"))
	defer lf.Close()
	cmd.Stdout, cmd.Stderr = lf, lf
	p, err := harness.StartProc(cmd, 100*time.Millisecond)
	if err != nil {
		log.Fatal(err)
	}
	defer p.Stop(5 * time.Second)
	res := Result{Tool: "smsgw", Direction: "send", Latency: "fixed-3s", Modems: n, Messages: total, Parts: total}
	ctx, cancel := context.WithTimeout(context.Background(), o.timeout)
	defer cancel()
	if _, err := farm.Network.WaitMessages(ctx, total); err == nil {
		res.Complete = true
	}
	res.Wall = time.Since(p.Start).Seconds()
	res.CPU, _ = p.Usage()
	subs := farm.Network.Submissions()
	if len(subs) > 1 {
		// A submission is recorded when its PDU arrives; the modem answers 3 s later.
		res.Active = subs[len(subs)-1].Time.Sub(subs[0].Time).Seconds() + 3
	}
	return res
}

func printSummary(path string) {
	b, err := os.ReadFile(path)
	if err != nil {
		log.Fatal(err)
	}
	type key struct {
		dir, lat, tool string
		modems         int
	}
	groups := map[key][]Result{}
	var keys []key
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var r Result
		if json.Unmarshal([]byte(l), &r) != nil {
			continue
		}
		k := key{r.Direction, r.Latency, r.Tool, r.Modems}
		if _, ok := groups[k]; !ok {
			keys = append(keys, k)
		}
		groups[k] = append(groups[k], r)
	}
	rng := func(rs []Result, f func(Result) float64, format string) string {
		var xs []float64
		for _, r := range rs {
			xs = append(xs, f(r))
		}
		s := harness.Summarize(xs)
		if s.N == 1 {
			return fmt.Sprintf(format, s.Median)
		}
		return fmt.Sprintf(format+" ("+format+"–"+format+")", s.Median, s.Min, s.Max)
	}
	fmt.Println("| direction | latency | modems | tool | runs | messages (parts) | wall s | msgs/min | CPU s | peak RSS MB | gap between CMGS p50 / p99 ms | complete, wrong, dup |")
	fmt.Println("|---|---|---|---|---|---|---|---|---|---|---|---|")
	for _, k := range keys {
		rs := groups[k]
		ok, wrong, dup := 0, 0, 0
		for _, r := range rs {
			if r.Complete {
				ok++
			}
			wrong += r.Wrong
			dup += r.Dup
		}
		gap := "–"
		if k.dir == "send" && k.modems == 1 {
			gap = rng(rs, func(r Result) float64 { return r.GapP50 }, "%.1f") + " / " + rng(rs, func(r Result) float64 { return r.GapP99 }, "%.1f")
		}
		fmt.Printf("| %s | %s | %d | %s | %d | %d (%d) | %s | %s | %s | %s | %s | %d/%d, %d, %d |\n",
			k.dir, k.lat, k.modems, k.tool, len(rs), rs[0].Messages, rs[0].Parts,
			rng(rs, func(r Result) float64 { return r.Wall }, "%.1f"),
			rng(rs, func(r Result) float64 { return 60 * float64(r.Messages) / r.Wall }, "%.0f"),
			rng(rs, func(r Result) float64 { return r.CPU }, "%.2f"),
			rng(rs, func(r Result) float64 { return r.PeakRSS }, "%.1f"),
			gap, ok, len(rs), wrong, dup)
	}
	_ = slices.Sort[[]int]
}
