package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/smsgw/smsgw/config"
	"github.com/smsgw/smsgw/modem/sim"
	"github.com/smsgw/smsgw/queue"
	"github.com/smsgw/smsgw/sms"
	"github.com/smsgw/smsgw/store"
)

// TestBurstAndUnplug is the CI-sized variant of bench/reliability's burst and unplug
// harnesses (docs/reliability.md has the full runs): the gateway binary takes an inbound
// burst of 150 messages at 20/s into a modem with 20-slot storages (every third one in
// three shuffled parts, every tenth with a part delivered twice), then keeps sending and
// receiving while the modem is unplugged and replugged under a new pty name 5 times.
// Every inbound message must be in the inbox exactly once, and every outbound one must
// have reached the network exactly once or be flagged unknown. No timing is asserted.
func TestBurstAndUnplug(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the gateway binary")
	}
	dir := t.TempDir()
	pers, _ := sim.PersonalityByName("generic")
	pers.SMCapacity, pers.MECapacity = 20, 20
	lat := sim.LatencyInstant()
	lat.Send = sim.Span{Min: sim.Duration(20 * time.Millisecond), Max: sim.Duration(100 * time.Millisecond)}
	farm, err := sim.Start(sim.Config{Modems: 1, LinkDir: filepath.Join(dir, "dev"), Latency: lat, Personality: pers, FirstNumber: "+12025550100"})
	if err != nil {
		t.Fatal(err)
	}
	defer farm.Close()
	m := farm.Modems[0]
	cfg := fmt.Sprintf("listen: 127.0.0.1:0\nstate_dir: %s\nregion: US\nlog:\n  level: error\nmodem:\n  detect: false\nmodems:\n  - name: %s\n    port: %s\n    imei: \"%s\"\n",
		dir, m.Name(), m.Link(), m.Identity().IMEI)
	cfgPath := filepath.Join(dir, "smsgw.yaml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	c := config.Default()
	c.StateDir, c.Region = dir, "US"
	db, err := store.Open(ctx, c.DatabasePath())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	q, err := newQueue(c, db, nil, nil)
	if err != nil {
		t.Fatal(err)
	}

	bin := buildBinary(t)
	cmd := exec.Command(bin, "serve", "--config", cfgPath)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
	}()

	rng := rand.New(rand.NewPCG(11, 12))
	var inbound []string
	// The burst.
	for i := range 150 {
		text := fmt.Sprintf("burst %d %s", i, strings.Repeat("z", rng.IntN(100)))
		if i%3 == 0 {
			text = fmt.Sprintf("burst %d three parts ", i) + strings.Repeat("abcdefghij", 40)
		}
		pdus, err := sms.EncodeDeliver(fmt.Sprintf("+1212555%04d", i), text, sms.DeliverOptions{Ref: i%250 + 1})
		if err != nil {
			t.Fatal(err)
		}
		rng.Shuffle(len(pdus), func(a, b int) { pdus[a], pdus[b] = pdus[b], pdus[a] })
		if i%10 == 0 {
			pdus = append(pdus, pdus[0])
		}
		for _, p := range pdus {
			if err := m.Inject(sim.RouteNetwork, p.Bytes); err != nil {
				t.Fatal(err)
			}
		}
		inbound = append(inbound, text)
		time.Sleep(50 * time.Millisecond)
	}
	// Traffic both ways while the modem comes and goes.
	outbound := map[string]string{}
	for k := range 5 {
		var reqs []queue.Request
		for j := range 10 {
			reqs = append(reqs, queue.Request{To: fmt.Sprintf("+1213555%04d", k*10+j), Body: fmt.Sprintf("out %d/%d", k, j), NoReport: true})
		}
		ms, _, err := q.EnqueueBatch(ctx, reqs)
		if err != nil {
			t.Fatal(err)
		}
		for i, msg := range ms {
			outbound[msg.UID] = reqs[i].Body
		}
		for j := range 5 {
			text := fmt.Sprintf("during unplug %d/%d %s", k, j, strings.Repeat("y", 170))
			if err := farm.Network.Phone(fmt.Sprintf("+1214555%04d", k*10+j)).Send(m.Identity().MSISDN, text, sim.SendOptions{Shuffle: true}); err != nil {
				t.Fatal(err)
			}
			inbound = append(inbound, text)
		}
		time.Sleep(time.Duration(300+rng.IntN(1200)) * time.Millisecond)
		if err := m.Unplug(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Duration(200+rng.IntN(800)) * time.Millisecond)
		if _, err := m.Replug(); err != nil {
			t.Fatal(err)
		}
	}

	// Wait until everything is settled.
	deadline := time.Now().Add(90 * time.Second)
	var stored []store.Message
	for {
		stored = stored[:0]
		var before int64
		for {
			ms, err := db.Messages(ctx, store.MessageFilter{Direction: "in", BeforeID: before, Limit: 500})
			if err != nil {
				t.Fatal(err)
			}
			stored = append(stored, ms...)
			if len(ms) < 500 {
				break
			}
			before = ms[len(ms)-1].ID
		}
		busy := 0
		for uid := range outbound {
			msg, err := db.MessageByUID(ctx, uid)
			if err != nil {
				t.Fatal(err)
			}
			if msg.Status == "queued" || msg.Status == "sending" {
				busy++
			}
		}
		if len(stored) >= len(inbound) && busy == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 90 s: %d of %d inbound stored, %d outbound not settled", len(stored), len(inbound), busy)
		}
		time.Sleep(300 * time.Millisecond)
	}
	time.Sleep(time.Second) // a late duplicate would show up now
	got := map[string]int{}
	for _, s := range stored {
		got[s.Body]++
	}
	for _, text := range inbound {
		if got[text] != 1 {
			t.Errorf("inbound %.40q stored %d times", text, got[text])
		}
	}
	atNetwork := map[string]int{}
	for _, s := range farm.Network.Messages() {
		atNetwork[s.Text]++
		if s.Duplicates > 0 {
			t.Errorf("%q: %d duplicate parts at the network", s.Text, s.Duplicates)
		}
	}
	unknown := 0
	for uid, text := range outbound {
		msg, err := db.MessageByUID(ctx, uid)
		if err != nil {
			t.Fatal(err)
		}
		switch n := atNetwork[text]; {
		case n > 1:
			t.Errorf("%q reached the network %d times", text, n)
		case n == 0 && msg.Status != "unknown":
			t.Errorf("%q (%s) never reached the network and is not unknown", text, msg.Status)
		case msg.Status == "unknown":
			unknown++
		}
	}
	if err := db.IntegrityCheck(ctx); err != nil {
		t.Error(err)
	}
	t.Logf("%d inbound stored once each, %d outbound (%d unknown by an unplug mid-send)", len(inbound), len(outbound), unknown)
}
