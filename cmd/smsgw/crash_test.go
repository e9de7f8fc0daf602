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
	"github.com/smsgw/smsgw/store"
)

// buildBinary builds the smsgw binary for tests that need a real process.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "smsgw")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	return bin
}

// TestCrashSafety kills the gateway with SIGKILL at random moments while it sends 2,000
// messages through two virtual modems, and restarts it each time. The virtual modems
// and their network live in this test process, so they outlive every kill and record
// exactly what reached the "SMSC". Afterwards every message must have arrived exactly
// once, except parts left unknown by a kill during their own submission: those are
// flagged, never resent, and there can be at most one per modem per kill.
func TestCrashSafety(t *testing.T) {
	const (
		messages = 2000
		minKills = 30
	)
	dir := t.TempDir()
	lat := sim.LatencyInstant()
	lat.Send = sim.Span{Min: sim.Duration(2 * time.Millisecond), Max: sim.Duration(12 * time.Millisecond)}
	farm, err := sim.Start(sim.Config{Modems: 2, LinkDir: filepath.Join(dir, "dev"), Latency: lat, FirstNumber: "+12025550100"})
	if err != nil {
		t.Fatal(err)
	}
	defer farm.Close()

	cfg := fmt.Sprintf("listen: 127.0.0.1:0\nstate_dir: %s\nregion: US\nlog:\n  level: warn\nmodem:\n  detect: false\n  health_interval: 5s\nmodems:\n", dir)
	for _, m := range farm.Modems {
		cfg += fmt.Sprintf("  - name: %s\n    port: %s\n    imei: \"%s\"\n", m.Name(), m.Link(), m.Identity().IMEI)
	}
	cfgPath := filepath.Join(dir, "smsgw.yaml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}

	// Queue everything up front through the queue, as the API would.
	ctx := context.Background()
	c := config.Default()
	c.StateDir, c.Region = dir, "US"
	db, err := store.Open(ctx, c.DatabasePath())
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	q, err := newQueue(c, db, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	texts := map[string]string{} // uid → text
	var batch []queue.Request
	for i := range messages {
		text := fmt.Sprintf("crash test #%d", i)
		if i%5 == 0 {
			text += " " + strings.Repeat("long enough for two parts ", 8)
		}
		batch = append(batch, queue.Request{To: fmt.Sprintf("+1212555%04d", i), Body: text, NoReport: true})
		if len(batch) == 500 {
			ms, _, err := q.EnqueueBatch(ctx, batch)
			if err != nil {
				t.Fatal(err)
			}
			for j, m := range ms {
				texts[m.UID] = batch[j].Body
			}
			batch = nil
		}
	}
	db.Close()

	bin := buildBinary(t)
	start := func() *exec.Cmd {
		cmd := exec.Command(bin, "serve", "--config", cfgPath)
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd
	}
	rng := rand.New(rand.NewPCG(1, 2))
	kills := 0
	for kills < minKills || (kills < 4*minKills && len(farm.Network.Messages()) < messages/2) {
		cmd := start()
		time.Sleep(time.Duration(200+rng.IntN(900)) * time.Millisecond)
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		_ = cmd.Wait()
		kills++
	}
	// A last run that is allowed to finish.
	cmd := start()
	defer func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
	}()
	db, err = store.Open(ctx, c.DatabasePath())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	deadline := time.Now().Add(3 * time.Minute)
	var final map[string]store.Message
	for {
		final = map[string]store.Message{}
		busy := 0
		for uid := range texts {
			m, err := db.MessageByUID(ctx, uid)
			if err != nil {
				t.Fatal(err)
			}
			final[uid] = m
			if m.Status == "queued" || m.Status == "sending" {
				busy++
			}
		}
		if busy == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d messages still not sent 3 minutes after the last restart", busy)
		}
		time.Sleep(500 * time.Millisecond)
	}
	if err := db.IntegrityCheck(ctx); err != nil {
		t.Fatal(err)
	}

	// What reached the network, by text.
	got := map[string]int{}
	dupParts := 0
	for _, m := range farm.Network.Messages() {
		got[m.Text]++
		dupParts += m.Duplicates
	}
	unknownParts, lost, twice := 0, 0, 0
	for uid, text := range texts {
		m := final[uid]
		unknown := 0
		for _, p := range m.Parts {
			if p.State == store.PartUnknown {
				unknown++
			}
			if p.State == store.PartFailed || p.State == store.PartExpired {
				t.Errorf("message %s part %d is %s: %s", uid, p.Seq, p.State, p.Error)
			}
		}
		unknownParts += unknown
		n := got[text]
		switch {
		case n > 1:
			twice++
			t.Errorf("%q reached the network %d times", text, n)
		case n == 0 && unknown == 0:
			lost++
			t.Errorf("%q (%s) never reached the network and is not flagged unknown", text, m.Status)
		}
	}
	if dupParts > 0 {
		t.Errorf("%d parts reached the network twice", dupParts)
	}
	if unknownParts > 2*kills {
		t.Errorf("%d unknown parts after %d kills of a 2-modem gateway; at most %d can be explained", unknownParts, kills, 2*kills)
	}
	t.Logf("%d messages, %d kills: %d lost, %d duplicated, %d parts unknown (flagged, not resent)",
		messages, kills, lost, twice, unknownParts)
}
