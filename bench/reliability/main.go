// Command reliability runs the long reliability harnesses against the smsgw binary and
// virtual modems that live in this process (so they outlive every kill of the gateway
// and record exactly what reached the virtual network):
//
//	go run ./bench/reliability kill-send -cycles 100     # SIGKILL loop while sending
//	go run ./bench/reliability kill-recv -cycles 100     # SIGKILL loop while receiving
//	go run ./bench/reliability unplug -cycles 200        # unplug/replug loop
//	go run ./bench/reliability hung -cycles 3            # hung modem: detection and recovery
//	go run ./bench/reliability burst -messages 1000      # 1,000 inbound at 5/s into 20 slots
//	go run ./bench/reliability soak -duration 1h         # 1 msg/s over 4 modems, faults every 10 min
//
// Each prints a summary (Markdown) to stdout and exits non-zero when a message was lost
// or duplicated. `make soak` runs the soak; `make bench` runs the shorter ones.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/smsgw/smsgw/bench/internal/harness"
	"github.com/smsgw/smsgw/modem/sim"
	"github.com/smsgw/smsgw/queue"
	"github.com/smsgw/smsgw/sms"
	"github.com/smsgw/smsgw/store"
)

type common struct {
	bin  string
	dir  string
	keep bool
	seed uint64
}

func main() {
	log.SetFlags(log.Ltime)
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: reliability kill-send|kill-recv|unplug|hung|burst|soak [flags]")
		os.Exit(2)
	}
	mode := os.Args[1]
	fs := flag.NewFlagSet(mode, flag.ExitOnError)
	var c common
	fs.StringVar(&c.bin, "smsgw", "", "smsgw binary (default: build ./cmd/smsgw)")
	fs.StringVar(&c.dir, "dir", "", "work directory (default: a new temp dir)")
	fs.BoolVar(&c.keep, "keep", false, "keep the work directory")
	fs.Uint64Var(&c.seed, "seed", 1, "random seed")
	cycles := fs.Int("cycles", 0, "kill/unplug/hang cycles (0: the mode's default)")
	messages := fs.Int("messages", 0, "messages (0: the mode's default)")
	duration := fs.Duration("duration", time.Hour, "soak: how long to run")
	faultEvery := fs.Duration("fault-every", 10*time.Minute, "soak: fault interval")
	sample := fs.Duration("sample", 10*time.Second, "soak: sampling interval")
	csv := fs.String("csv", "", "soak: write samples to this CSV file")
	_ = fs.Parse(os.Args[2:])
	if c.dir == "" {
		d, err := os.MkdirTemp("", "smsgw-rel-"+mode+"-")
		if err != nil {
			log.Fatal(err)
		}
		c.dir = d
	}
	if !c.keep {
		defer os.RemoveAll(c.dir)
	}
	bin, err := harness.BuildSmsgw(c.bin, c.dir)
	if err != nil {
		log.Fatal(err)
	}
	c.bin = bin
	fmt.Printf("<!-- %s, %s, machine: %s -->\n", mode, time.Now().UTC().Format(time.RFC3339), harness.MachineInfo())
	var ok bool
	switch mode {
	case "kill-send":
		ok = killSend(c, def(*cycles, 100), def(*messages, 3000))
	case "kill-recv":
		ok = killRecv(c, def(*cycles, 100), def(*messages, 1500))
	case "unplug":
		ok = unplug(c, def(*cycles, 200))
	case "hung":
		ok = hung(c, def(*cycles, 3))
	case "burst":
		ok = burst(c, def(*messages, 1000))
	case "soak":
		ok = soak(c, *duration, *faultEvery, *sample, *csv)
	default:
		log.Fatalf("unknown mode %q", mode)
	}
	if !ok {
		if !c.keep {
			os.RemoveAll(c.dir)
		}
		os.Exit(1)
	}
}

func def(v, d int) int {
	if v > 0 {
		return v
	}
	return d
}

// gateway starts the farm's gateway with the given modem settings and returns a
// restartable handle.
type gateway struct {
	c    common
	cfg  string
	port int
	log  string
	proc *harness.Proc
}

func newGateway(c common, farm *sim.Farm, modemExtra string) (*gateway, error) {
	port, err := harness.FreePort()
	if err != nil {
		return nil, err
	}
	cfg, err := harness.GatewayConfig(c.dir, port, farm.Modems, modemExtra, "")
	if err != nil {
		return nil, err
	}
	return &gateway{c: c, cfg: cfg, port: port, log: filepath.Join(c.dir, "smsgw.log")}, nil
}

func (g *gateway) start() {
	p, err := harness.StartGateway(g.c.bin, g.cfg, g.log)
	if err != nil {
		log.Fatal(err)
	}
	g.proc = p
}

func (g *gateway) waitReady(d time.Duration) bool {
	_, ok := harness.WaitFor(d, 50*time.Millisecond, func() bool {
		_, err := harness.Metrics(context.Background(), g.port)
		return err == nil
	})
	return ok
}

func (g *gateway) stop() {
	if g.proc != nil {
		g.proc.Stop(10 * time.Second)
		g.proc = nil
	}
}

func (g *gateway) kill() {
	if g.proc != nil {
		g.proc.Kill()
		g.proc = nil
	}
}

func mixedText(rng *rand.Rand, i int) string {
	switch i % 5 {
	case 0: // GSM-7, 2 parts
		return fmt.Sprintf("#%d long ", i) + strings.Repeat("the quick brown fox jumps ", 8)
	case 1: // UCS-2 short
		return fmt.Sprintf("#%d Grüße – привет 👋", i)
	case 2: // UCS-2, 3 parts
		return fmt.Sprintf("#%d Ünïcödé ", i) + strings.Repeat("日本語のテキスト ", 14)
	default:
		return fmt.Sprintf("#%d short %d", i, rng.IntN(1e6))
	}
}

// outcome compares what the gateway stored for each queued message with what reached the
// virtual network.
type outcome struct{ lost, dup, unknownParts, unknownMsgs, failed int }

func checkOutbound(ctx context.Context, db *store.DB, net *sim.Network, texts map[string]string) outcome {
	got := map[string]int{}
	for _, m := range net.Messages() {
		got[m.Text]++
	}
	var o outcome
	for uid, text := range texts {
		m, err := db.MessageByUID(ctx, uid)
		if err != nil {
			log.Printf("message %s: %v", uid, err)
			o.lost++
			continue
		}
		unknown := 0
		for _, p := range m.Parts {
			switch p.State {
			case store.PartUnknown:
				unknown++
			case store.PartFailed, store.PartExpired:
				o.failed++
			}
		}
		o.unknownParts += unknown
		if unknown > 0 {
			o.unknownMsgs++
		}
		switch n := got[text]; {
		case n > 1:
			o.dup++
			log.Printf("DUPLICATE: %q reached the network %d times", text, n)
		case n == 0 && unknown == 0:
			o.lost++
			log.Printf("LOST: %q (%s) never reached the network and is not unknown", text, m.Status)
		}
	}
	for _, m := range net.Messages() {
		if m.Duplicates > 0 {
			o.dup++
			log.Printf("DUPLICATE parts: %q got %d duplicate parts", m.Text, m.Duplicates)
		}
	}
	return o
}

// waitSettled waits until no message in texts is queued or sending.
func waitSettled(ctx context.Context, db *store.DB, texts map[string]string, d time.Duration) bool {
	_, ok := harness.WaitFor(d, time.Second, func() bool {
		for uid := range texts {
			m, err := db.MessageByUID(ctx, uid)
			if err != nil || m.Status == "queued" || m.Status == "sending" {
				return false
			}
		}
		return true
	})
	return ok
}

// killSend: R1 for sending. Messages are queued up front; the gateway is SIGKILLed at a
// random moment 0.2–1.1 s after each start.
func killSend(c common, cycles, messages int) bool {
	ctx := context.Background()
	lat := sim.LatencyInstant()
	lat.Send = sim.Span{Min: sim.Duration(2 * time.Millisecond), Max: sim.Duration(12 * time.Millisecond)}
	farm, err := harness.NewFarm(2, lat, filepath.Join(c.dir, "dev"), nil)
	if err != nil {
		log.Fatal(err)
	}
	defer farm.Close()
	g, err := newGateway(c, farm, "")
	if err != nil {
		log.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(c.seed, 2))
	var reqs []queue.Request
	for i := range messages {
		reqs = append(reqs, queue.Request{To: fmt.Sprintf("+4915171%06d", i), Body: mixedText(rng, i), NoReport: true})
	}
	uids, err := harness.Enqueue(ctx, c.dir, reqs)
	if err != nil {
		log.Fatal(err)
	}
	texts := map[string]string{}
	for i, u := range uids {
		texts[u] = reqs[i].Body
	}
	start := time.Now()
	for k := range cycles {
		g.start()
		time.Sleep(time.Duration(200+rng.IntN(900)) * time.Millisecond)
		g.kill()
		if (k+1)%10 == 0 {
			log.Printf("kill-send: %d/%d kills, %d messages at the network", k+1, cycles, len(farm.Network.Messages()))
		}
	}
	g.start()
	defer g.stop()
	db, err := harness.OpenDB(ctx, c.dir)
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	settled := waitSettled(ctx, db, texts, 5*time.Minute)
	integrity := db.IntegrityCheck(ctx)
	o := checkOutbound(ctx, db, farm.Network, texts)
	fmt.Printf("\n### SIGKILL during sending\n\n%d messages (mix of 1–3 parts, GSM-7 and UCS-2) queued, 2 virtual modems (send 2–12 ms), %d SIGKILLs 0.2–1.1 s after each start, then one clean run; %s total.\n\n",
		messages, cycles, time.Since(start).Round(time.Second))
	fmt.Printf("| lost | duplicated | unknown (messages / parts) | failed | settled | integrity |\n|---|---|---|---|---|---|\n| %d | %d | %d / %d (bound: %d parts) | %d | %v | %v |\n",
		o.lost, o.dup, o.unknownMsgs, o.unknownParts, 2*cycles, o.failed, settled, errString(integrity))
	return settled && o.lost == 0 && o.dup == 0 && integrity == nil && o.unknownParts <= 2*cycles
}

func errString(err error) string {
	if err == nil {
		return "ok"
	}
	return err.Error()
}

// killRecv: R1 for receiving. Phones text the modems at a steady rate (long messages in
// shuffled order) while the gateway is killed at random moments.
func killRecv(c common, cycles, messages int) bool {
	ctx := context.Background()
	farm, err := harness.NewFarm(2, sim.LatencyInstant(), filepath.Join(c.dir, "dev"), nil)
	if err != nil {
		log.Fatal(err)
	}
	defer farm.Close()
	g, err := newGateway(c, farm, "")
	if err != nil {
		log.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(c.seed, 3))
	texts := make([]string, messages)
	for i := range texts {
		texts[i] = mixedText(rng, i)
	}
	// Feed over the kill loop's expected length (about 0.65 s per cycle).
	feedDone := make(chan struct{})
	interval := time.Duration(float64(cycles) * 650 * float64(time.Millisecond) / float64(messages))
	go func() {
		defer close(feedDone)
		for i, t := range texts {
			m := farm.Modems[i%2]
			ph := farm.Network.Phone(fmt.Sprintf("+4915660%05d", i))
			if err := ph.Send(m.Identity().MSISDN, t, sim.SendOptions{Shuffle: true}); err != nil {
				log.Printf("send %d: %v", i, err)
			}
			time.Sleep(interval)
		}
	}()
	start := time.Now()
	for k := range cycles {
		g.start()
		time.Sleep(time.Duration(200+rng.IntN(900)) * time.Millisecond)
		g.kill()
		if (k+1)%10 == 0 {
			log.Printf("kill-recv: %d/%d kills", k+1, cycles)
		}
	}
	<-feedDone
	g.start()
	defer g.stop()
	db, err := harness.OpenDB(ctx, c.dir)
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	var stored []store.Message
	settled := false
	if _, ok := harness.WaitFor(5*time.Minute, time.Second, func() bool {
		stored, err = harness.InboundBodies(ctx, db)
		waiting := 0
		for _, m := range farm.Modems {
			waiting += m.Status().Pending
			for _, u := range m.Memories() {
				waiting += u.Used
			}
		}
		return err == nil && len(stored) >= messages && waiting == 0
	}); ok {
		settled = true
	}
	time.Sleep(3 * time.Second) // let a late duplicate show up, if any
	stored, _ = harness.InboundBodies(ctx, db)
	integrity := db.IntegrityCheck(ctx)
	count := map[string]int{}
	incomplete := 0
	for _, m := range stored {
		count[m.Body]++
		if m.Status == "incomplete" {
			incomplete++
		}
	}
	lost, dup := 0, 0
	for _, t := range texts {
		switch count[t] {
		case 0:
			lost++
			log.Printf("LOST inbound %q", t)
		case 1:
		default:
			dup++
			log.Printf("DUPLICATE inbound %q ×%d", t, count[t])
		}
	}
	fmt.Printf("\n### SIGKILL during receiving\n\n%d inbound messages (mix of 1–3 parts, GSM-7 and UCS-2, parts shuffled) texted to 2 virtual modems over the run, %d SIGKILLs 0.2–1.1 s after each start, then one clean run; %s total.\n\n",
		messages, cycles, time.Since(start).Round(time.Second))
	fmt.Printf("| lost | duplicated | incomplete | stored | settled | integrity |\n|---|---|---|---|---|---|\n| %d | %d | %d | %d | %v | %v |\n",
		lost, dup, incomplete, len(stored), settled, errString(integrity))
	return lost == 0 && dup == 0 && integrity == nil
}

// unplug: R3. Modem0 is unplugged for 0.1–3 s and replugged under a new pty name while
// messages flow; the time from replug until the gateway reports the modem up again is the
// recovery time.
func unplug(c common, cycles int) bool {
	ctx := context.Background()
	lat := sim.LatencyInstant()
	lat.Send = sim.Span{Min: sim.Duration(50 * time.Millisecond), Max: sim.Duration(300 * time.Millisecond)}
	farm, err := harness.NewFarm(2, lat, filepath.Join(c.dir, "dev"), nil)
	if err != nil {
		log.Fatal(err)
	}
	defer farm.Close()
	g, err := newGateway(c, farm, "")
	if err != nil {
		log.Fatal(err)
	}
	g.start()
	defer g.stop()
	if !g.waitReady(30 * time.Second) {
		log.Fatal("gateway did not start")
	}
	db, err := harness.OpenDB(ctx, c.dir)
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	rng := rand.New(rand.NewPCG(c.seed, 4))
	texts := map[string]string{}
	stopFeed := make(chan struct{})
	fed := make(chan struct{})
	go func() { // a steady trickle of outbound messages: 5/s
		defer close(fed)
		for i := 0; ; i++ {
			select {
			case <-stopFeed:
				return
			case <-time.After(200 * time.Millisecond):
			}
			body := fmt.Sprintf("unplug #%d %s", i, strings.Repeat("x", rng.IntN(200)))
			uids, err := harness.EnqueueDB(ctx, db, []queue.Request{{To: fmt.Sprintf("+4915172%06d", i), Body: body, NoReport: true}})
			if err == nil {
				texts[uids[0]] = body
			}
		}
	}()
	m := farm.Modems[0]
	var rec []float64
	pathsSeen := map[string]bool{m.Path(): true}
	failures := 0
	for k := range cycles {
		if _, ok := harness.WaitFor(60*time.Second, 20*time.Millisecond, func() bool { return harness.ModemUp(ctx, g.port, m.Name()) }); !ok {
			log.Printf("cycle %d: modem0 not up before unplug", k)
		}
		time.Sleep(time.Duration(rng.IntN(1500)) * time.Millisecond) // land anywhere, also mid-CMGS
		if err := m.Unplug(); err != nil {
			log.Fatal(err)
		}
		harness.WaitFor(10*time.Second, 20*time.Millisecond, func() bool { return !harness.ModemUp(ctx, g.port, m.Name()) })
		time.Sleep(time.Duration(100+rng.IntN(2900)) * time.Millisecond)
		path, err := m.Replug()
		if err != nil {
			log.Fatal(err)
		}
		pathsSeen[path] = true
		d, ok := harness.WaitFor(60*time.Second, 20*time.Millisecond, func() bool { return harness.ModemUp(ctx, g.port, m.Name()) })
		if !ok {
			failures++
			log.Printf("cycle %d: modem0 not back within 60 s", k)
			continue
		}
		rec = append(rec, d.Seconds())
		if (k+1)%20 == 0 {
			s := harness.Summarize(rec)
			log.Printf("unplug: %d/%d cycles, recovery p50 %.2fs p95 %.2fs max %.2fs", k+1, cycles, s.Median, s.P95, s.Max)
		}
	}
	close(stopFeed)
	<-fed
	settled := waitSettled(ctx, db, texts, 3*time.Minute)
	o := checkOutbound(ctx, db, farm.Network, texts)
	s := harness.Summarize(rec)
	fmt.Printf("\n### Unplug/replug\n\n2 virtual modems (send 50–300 ms), 5 outbound messages/s; modem0 unplugged at a random moment (also mid-`AT+CMGS`), kept away 0.1–3 s, replugged under a new pty name (%d distinct names seen), %d cycles. Recovery = replug → `smsgw_modem_up{modem=\"modem0\"}` is 1 again (polled every 20 ms), gateway defaults (reconnect backoff 0.5 s doubling to 30 s).\n\n",
		len(pathsSeen), cycles)
	fmt.Printf("| cycles | recovered | recovery p50 | p95 | max | messages | lost | duplicated | unknown (msgs/parts) | failed |\n|---|---|---|---|---|---|---|---|---|---|\n| %d | %d | %.2f s | %.2f s | %.2f s | %d | %d | %d | %d / %d | %d |\n",
		cycles, len(rec), s.Median, s.P95, s.Max, len(texts), o.lost, o.dup, o.unknownMsgs, o.unknownParts, o.failed)
	return failures == 0 && o.lost == 0 && o.dup == 0 && settled
}

// hung: R4. The modem stops answering (every byte swallowed). Detection = hang →
// smsgw_modem_up 0; recovery = the modem answers again → smsgw_modem_up 1. Run idle (the
// hang is found by the health poll) and under load (the hang lands in an AT+CMGS, found
// by the send timeout); under load the other modem's throughput is compared with the
// same time before the hang.
func hung(c common, cycles int) bool {
	ctx := context.Background()
	lat := sim.LatencyInstant()
	lat.Send = sim.Fixed(500 * time.Millisecond)
	farm, err := harness.NewFarm(2, lat, filepath.Join(c.dir, "dev"), nil)
	if err != nil {
		log.Fatal(err)
	}
	defer farm.Close()
	g, err := newGateway(c, farm, "")
	if err != nil {
		log.Fatal(err)
	}
	g.start()
	defer g.stop()
	if !g.waitReady(30 * time.Second) {
		log.Fatal("gateway did not start")
	}
	db, err := harness.OpenDB(ctx, c.dir)
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	m := farm.Modems[0]
	other := farm.Modems[1].Name()
	sentBy := func(name string, since time.Time) int {
		n := 0
		for _, s := range farm.Network.Submissions() {
			if s.Modem == name && s.Time.After(since) {
				n++
			}
		}
		return n
	}
	type res struct {
		loaded                   bool
		detect, recover          float64
		otherBefore, otherDuring float64
	}
	var results []res
	texts := map[string]string{}
	seq := 0
	for _, loaded := range []bool{false, true} {
		for k := range cycles {
			harness.WaitFor(120*time.Second, 50*time.Millisecond, func() bool {
				return harness.ModemUp(ctx, g.port, m.Name()) && harness.ModemUp(ctx, g.port, other)
			})
			var r res
			r.loaded = loaded
			if loaded {
				// Enough work for both modems for well over the incident.
				var reqs []queue.Request
				for range 400 {
					seq++
					reqs = append(reqs, queue.Request{To: fmt.Sprintf("+4915173%06d", seq), Body: fmt.Sprintf("hung #%d", seq), NoReport: true})
				}
				uids, err := harness.EnqueueDB(ctx, db, reqs)
				if err != nil {
					log.Fatal(err)
				}
				for i, u := range uids {
					texts[u] = reqs[i].Body
				}
				time.Sleep(20 * time.Second)
			} else {
				time.Sleep(time.Duration(rand.IntN(30)) * time.Second) // anywhere in the health interval
			}
			t0 := time.Now()
			m.SetFault(sim.Fault{Hang: true})
			d, ok := harness.WaitFor(5*time.Minute, 50*time.Millisecond, func() bool { return !harness.ModemUp(ctx, g.port, m.Name()) })
			if !ok {
				log.Printf("hung (loaded=%v) cycle %d: not detected within 5 min", loaded, k)
			}
			r.detect = d.Seconds()
			if loaded {
				during := time.Since(t0)
				r.otherDuring = float64(sentBy(other, t0)) / during.Seconds()
				// Before: the 15 s before the hang, when both modems were already busy.
				r.otherBefore = float64(sentBy(other, t0.Add(-15*time.Second))-sentBy(other, t0)) / 15
			}
			m.SetFault(sim.Fault{})
			d, ok = harness.WaitFor(5*time.Minute, 50*time.Millisecond, func() bool { return harness.ModemUp(ctx, g.port, m.Name()) })
			if !ok {
				log.Printf("hung (loaded=%v) cycle %d: not recovered within 5 min", loaded, k)
			}
			r.recover = d.Seconds()
			results = append(results, r)
			log.Printf("hung loaded=%v cycle %d: detected %.1fs, recovered %.1fs, other modem %.2f→%.2f msg/s", loaded, k, r.detect, r.recover, r.otherBefore, r.otherDuring)
		}
	}
	settled := waitSettled(ctx, db, texts, 5*time.Minute)
	o := checkOutbound(ctx, db, farm.Network, texts)
	fmt.Printf("\n### Hung modem\n\n2 virtual modems (send 500 ms), gateway defaults (`command_timeout` 10 s, `send_timeout` 1 m, `health_interval` 30 s). The modem swallows every byte from the moment of the hang until the fault is cleared (cleared as soon as the hang was detected: a stand-in for the modem coming back after a reset or power cycle). Detection = hang → `smsgw_modem_up` 0; recovery = fault cleared → `smsgw_modem_up` 1.\n\n")
	fmt.Printf("| load | cycle | detected after | recovered after | other modem before → during (msg/s) |\n|---|---|---|---|---|\n")
	for i, r := range results {
		load := "idle"
		other := "–"
		if r.loaded {
			load = "sending (hang inside `AT+CMGS`)"
			other = fmt.Sprintf("%.2f → %.2f", r.otherBefore, r.otherDuring)
		}
		fmt.Printf("| %s | %d | %.1f s | %.1f s | %s |\n", load, i%cycles+1, r.detect, r.recover, other)
	}
	fmt.Printf("\nMessages sent under load: %d; lost %d, duplicated %d, unknown %d messages (%d parts), failed %d; settled %v.\n",
		len(texts), o.lost, o.dup, o.unknownMsgs, o.unknownParts, o.failed, settled)
	return o.lost == 0 && o.dup == 0
}

// burst: R5. 1,000 inbound messages at 5/s into one modem with 20-slot SM and ME
// storages; every third message has 3 parts delivered in random order, every tenth
// has one part delivered twice.
func burst(c common, messages int) bool {
	ctx := context.Background()
	pers, _ := sim.PersonalityByName("generic")
	pers.SMCapacity, pers.MECapacity = 20, 20
	farm, err := harness.NewFarm(1, sim.LatencyInstant(), filepath.Join(c.dir, "dev"), &pers)
	if err != nil {
		log.Fatal(err)
	}
	defer farm.Close()
	m := farm.Modems[0]
	g, err := newGateway(c, farm, "")
	if err != nil {
		log.Fatal(err)
	}
	g.start()
	defer g.stop()
	if !g.waitReady(30*time.Second) || func() bool {
		_, ok := harness.WaitFor(30*time.Second, 50*time.Millisecond, func() bool { return harness.ModemUp(ctx, g.port, m.Name()) })
		return !ok
	}() {
		log.Fatal("gateway/modem not up")
	}
	rng := rand.New(rand.NewPCG(c.seed, 5))
	// Sample storage use.
	stopS := make(chan struct{})
	sampled := make(chan struct{})
	var maxUsed, fullSamples, samples int
	var fullSince time.Time
	var longestFull time.Duration
	go func() {
		defer close(sampled)
		for {
			select {
			case <-stopS:
				return
			case <-time.After(20 * time.Millisecond):
			}
			used, total := 0, 0
			for _, u := range m.Memories() {
				if u.Memory == "SM" || u.Memory == "ME" {
					used += u.Used
					total += u.Total
				}
			}
			samples++
			maxUsed = max(maxUsed, used)
			// "Full" = the memory the network delivers to (SM here) has no free slot.
			full := false
			for _, u := range m.Memories() {
				if u.Used >= u.Total && u.Total > 0 && u.Memory != "SR" {
					full = true
				}
			}
			if full {
				fullSamples++
				if fullSince.IsZero() {
					fullSince = time.Now()
				}
				longestFull = max(longestFull, time.Since(fullSince))
			} else {
				fullSince = time.Time{}
			}
		}
	}()
	texts := make([]string, messages)
	pdus, dups, multi := 0, 0, 0
	start := time.Now()
	tick := time.NewTicker(200 * time.Millisecond)
	for i := range messages {
		<-tick.C
		from := fmt.Sprintf("+4917012%05d", i)
		var t string
		if i%3 == 0 {
			t = fmt.Sprintf("burst #%d three parts ", i) + strings.Repeat("abcdefghij", 40)
			multi++
		} else {
			t = fmt.Sprintf("burst #%d %s", i, strings.Repeat("z", rng.IntN(120)))
		}
		texts[i] = t
		ps, err := sms.EncodeDeliver(from, t, sms.DeliverOptions{Ref: i%255 + 1})
		if err != nil {
			log.Fatal(err)
		}
		rng.Shuffle(len(ps), func(a, b int) { ps[a], ps[b] = ps[b], ps[a] })
		if i%10 == 0 {
			ps = append(ps, ps[rng.IntN(len(ps))])
			dups++
		}
		for _, p := range ps {
			if err := m.Inject(sim.RouteNetwork, p.Bytes); err != nil {
				log.Fatal(err)
			}
			pdus++
		}
	}
	tick.Stop()
	feed := time.Since(start)
	db, err := harness.OpenDB(ctx, c.dir)
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	var stored []store.Message
	drained, _ := harness.WaitFor(5*time.Minute, 200*time.Millisecond, func() bool {
		stored, err = harness.InboundBodies(ctx, db)
		return err == nil && len(stored) >= messages && m.Status().Pending == 0
	})
	time.Sleep(3 * time.Second)
	close(stopS)
	<-sampled
	stored, _ = harness.InboundBodies(ctx, db)
	count := map[string]int{}
	incomplete := 0
	for _, s := range stored {
		count[s.Body]++
		if s.Status == "incomplete" {
			incomplete++
		}
	}
	lost, dup := 0, 0
	for _, t := range texts {
		switch count[t] {
		case 0:
			lost++
			log.Printf("LOST %q", t)
		case 1:
		default:
			dup++
			log.Printf("DUPLICATE %q ×%d", t, count[t])
		}
	}
	fmt.Printf("\n### Inbound burst\n\n%d messages (%d with 3 parts in random order, %d with one part delivered twice: %d PDUs) at 5 messages/s into one virtual modem with 20-slot SM and ME storages (instant latency), gateway defaults. Feeding took %s; the inbox had all of them %s after the last one was sent.\n\n",
		messages, multi, dups, pdus, feed.Round(time.Second), drained.Round(100*time.Millisecond))
	fmt.Printf("| lost | duplicated | incomplete | max slots used (SM+ME) | time storage full (longest stretch, 20 ms samples) |\n|---|---|---|---|---|\n| %d | %d | %d | %d of 40 | %.1f %% of samples (%s) |\n",
		lost, dup, incomplete, maxUsed, 100*float64(fullSamples)/float64(max(samples, 1)), longestFull.Round(10*time.Millisecond))
	return lost == 0 && dup == 0
}

// soak: R10. 1 outbound message/s plus one inbound every 2 s over 4 modems (send 0.5–1.5 s),
// a fault every faultEvery on a rotating modem; RSS, goroutines and WAL size sampled.
func soak(c common, d, faultEvery, sample time.Duration, csvPath string) bool {
	ctx := context.Background()
	lat := sim.LatencyRealistic()
	lat.Send = sim.Span{Min: sim.Duration(500 * time.Millisecond), Max: sim.Duration(1500 * time.Millisecond)}
	lat.StatusReport = sim.Span{Min: sim.Duration(time.Second), Max: sim.Duration(5 * time.Second)}
	farm, err := harness.NewFarm(4, lat, filepath.Join(c.dir, "dev"), nil)
	if err != nil {
		log.Fatal(err)
	}
	defer farm.Close()
	g, err := newGateway(c, farm, "")
	if err != nil {
		log.Fatal(err)
	}
	g.start()
	defer g.stop()
	if !g.waitReady(30 * time.Second) {
		log.Fatal("gateway did not start")
	}
	db, err := harness.OpenDB(ctx, c.dir)
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	var csv *os.File
	if csvPath != "" {
		if csv, err = os.Create(csvPath); err != nil {
			log.Fatal(err)
		}
		defer csv.Close()
		fmt.Fprintln(csv, "seconds,rss_bytes,goroutines,wal_bytes,db_bytes,out_sent,in_stored,event")
	}
	rng := rand.New(rand.NewPCG(c.seed, 6))
	texts := map[string]string{}
	var inTexts []string
	start := time.Now()
	nextFault := start.Add(faultEvery)
	nextSample := start
	faults := []string{"unplug 20 s", "hang 60 s", "send error 38 ×3", "deregistered 60 s", "storage full 60 s", "garbage 30 s"}
	fi := 0
	var event string
	type smp struct {
		t          time.Duration
		rss        int64
		goroutines float64
		wal        int64
	}
	var samples []smp
	i := 0
	for time.Since(start) < d {
		time.Sleep(time.Until(start.Add(time.Duration(i+1) * time.Second)))
		i++
		body := mixedText(rng, i)
		if uids, err := harness.EnqueueDB(ctx, db, []queue.Request{{To: fmt.Sprintf("+4915120%06d", i), Body: body}}); err == nil {
			texts[uids[0]] = body
		} else {
			log.Printf("enqueue: %v", err)
		}
		if i%2 == 0 {
			t := fmt.Sprintf("soak in #%d %s", i, strings.Repeat("y", rng.IntN(300)))
			m := farm.Modems[(i/2)%4]
			if err := farm.Network.Phone(fmt.Sprintf("+4915130%06d", i)).Send(m.Identity().MSISDN, t, sim.SendOptions{Shuffle: true}); err == nil {
				inTexts = append(inTexts, t)
			}
		}
		if time.Now().After(nextFault) {
			nextFault = nextFault.Add(faultEvery)
			m := farm.Modems[fi%4]
			kind := faults[fi%len(faults)]
			fi++
			event = m.Name() + ": " + kind
			log.Printf("soak: fault %s", event)
			switch kind {
			case "unplug 20 s":
				_ = m.Unplug()
				time.AfterFunc(20*time.Second, func() { _, _ = m.Replug() })
			case "hang 60 s":
				m.SetFault(sim.Fault{Hang: true})
				time.AfterFunc(60*time.Second, func() { m.SetFault(sim.Fault{}) })
			case "send error 38 ×3":
				m.SetFault(sim.Fault{SendError: 38, SendErrorCount: 3})
			case "deregistered 60 s":
				m.SetFault(sim.Fault{Deregistered: true})
				time.AfterFunc(60*time.Second, func() { m.SetFault(sim.Fault{}) })
			case "storage full 60 s":
				m.SetFault(sim.Fault{StorageFull: true})
				time.AfterFunc(60*time.Second, func() { m.SetFault(sim.Fault{}) })
			case "garbage 30 s":
				m.SetFault(sim.Fault{Garbage: true})
				time.AfterFunc(30*time.Second, func() { m.SetFault(sim.Fault{}) })
			}
		}
		if time.Now().After(nextSample) {
			nextSample = nextSample.Add(sample)
			met, _ := harness.Metrics(ctx, g.port)
			var wal, dbs int64
			if st, err := os.Stat(filepath.Join(c.dir, "smsgw.db-wal")); err == nil {
				wal = st.Size()
			}
			if st, err := os.Stat(filepath.Join(c.dir, "smsgw.db")); err == nil {
				dbs = st.Size()
			}
			s := smp{t: time.Since(start), rss: g.proc.RSS(), goroutines: met["go_goroutines"], wal: wal}
			samples = append(samples, s)
			if csv != nil {
				fmt.Fprintf(csv, "%.0f,%d,%.0f,%d,%d,%d,%d,%q\n", s.t.Seconds(), s.rss, s.goroutines, wal, dbs,
					len(farm.Network.Messages()), len(inTexts), event)
			}
			event = ""
			if len(samples)%30 == 0 {
				log.Printf("soak %s: rss %.1f MB, goroutines %.0f, wal %.1f MB", s.t.Round(time.Second), float64(s.rss)/1e6, s.goroutines, float64(wal)/1e6)
			}
		}
	}
	for _, m := range farm.Modems {
		m.SetFault(sim.Fault{})
	}
	elapsed := time.Since(start)
	settled := waitSettled(ctx, db, texts, 5*time.Minute)
	o := checkOutbound(ctx, db, farm.Network, texts)
	stored, _ := harness.InboundBodies(ctx, db)
	count := map[string]int{}
	for _, s := range stored {
		count[s.Body]++
	}
	inLost, inDup := 0, 0
	for _, t := range inTexts {
		switch count[t] {
		case 0:
			inLost++
		case 1:
		default:
			inDup++
		}
	}
	integrity := db.IntegrityCheck(ctx)
	// Drift: the median of the samples in the second 10 % of the run (after warm-up)
	// against the median of the last 10 %.
	rssAt := func(from, to float64) (float64, float64) {
		var xs, gs []float64
		for _, s := range samples {
			f := s.t.Seconds() / elapsed.Seconds()
			if f >= from && f <= to {
				xs = append(xs, float64(s.rss)/1e6)
				gs = append(gs, s.goroutines)
			}
		}
		return harness.Summarize(xs).Median, harness.Summarize(gs).Median
	}
	early, gEarly := rssAt(0.1, 0.2)
	late, gLate := rssAt(0.9, 1)
	var rss, gor, wal []float64
	for _, s := range samples {
		rss = append(rss, float64(s.rss)/1e6)
		gor = append(gor, s.goroutines)
		wal = append(wal, float64(s.wal)/1e6)
	}
	rs, gs, ws := harness.Summarize(rss), harness.Summarize(gor), harness.Summarize(wal)
	fmt.Printf("\n### Soak\n\n%s at 1 outbound message/s (mix of 1–3 parts, GSM-7/UCS-2, delivery reports on) plus 1 inbound message every 2 s (1–3 parts, shuffled) over 4 virtual modems (realistic command latency, sends 0.5–1.5 s); a fault every %s on a rotating modem (%s); %d samples every %s.\n\n",
		elapsed.Round(time.Second), faultEvery, strings.Join(faults, ", "), len(samples), sample)
	fmt.Printf("| RSS at 10–20 %% → last 10 %% (median) | RSS min / max | goroutines 10–20 %% → last 10 %% | goroutines max | WAL max | outbound: sent / lost / dup / unknown msgs / failed | inbound: received / lost / dup | integrity |\n|---|---|---|---|---|---|---|---|\n")
	fmt.Printf("| %.1f → %.1f MB (drift %+.1f MB) | %.1f / %.1f MB | %.0f → %.0f | %.0f | %.1f MB | %d / %d / %d / %d / %d | %d / %d / %d | %s |\n",
		early, late, late-early, rs.Min, rs.Max, gEarly, gLate, gs.Max, ws.Max,
		len(texts), o.lost, o.dup, o.unknownMsgs, o.failed, len(inTexts), inLost, inDup, errString(integrity))
	if !settled {
		fmt.Println("\nNot every outbound message was settled 5 minutes after the end.")
	}
	return o.lost == 0 && o.dup == 0 && inLost == 0 && inDup == 0
}
