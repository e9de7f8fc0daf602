package router

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/smsgw/smsgw/modem"
	"github.com/smsgw/smsgw/modem/sim"
	"github.com/smsgw/smsgw/store"
)

// TestThousandInboundThroughVirtualModem texts a virtual modem with a 10-slot SIM
// storage 1,000 times from 40 phones (every 8th message long, its parts shuffled), with
// a real modem.Session storing each PDU through InsertInboundPDU and waking the router.
// Every message must end up exactly once, complete, in its sender's thread.
func TestThousandInboundThroughVirtualModem(t *testing.T) {
	total := 1000
	if testing.Short() {
		total = 200
	}
	const phones = 40
	e := newEnv(t, Config{PollInterval: 200 * time.Millisecond, SweepInterval: time.Hour})
	rt := New(Config{DefaultRegion: "DE", PollInterval: 200 * time.Millisecond, SweepInterval: time.Hour},
		Deps{DB: e.db, Bus: e.bus, Outbox: e.out, Reports: e.rep})

	n := sim.NewNetwork(sim.NetworkConfig{})
	sm, err := n.NewModem(sim.ModemConfig{Name: "m0", Latency: sim.LatencyInstant(),
		Personality: sim.Personality{Name: "small", SMCapacity: 10}})
	if err != nil {
		t.Fatal(err)
	}
	if err := sm.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sm.Close() })

	handler := func(ctx context.Context, in modem.Inbound) error {
		_, err := e.db.InsertInboundPDU(ctx, store.InboundPDU{Modem: in.Modem, IMEI: in.IMEI, IMSI: in.IMSI,
			Storage: in.Storage, Index: in.Index, PDU: in.PDU})
		if err == nil {
			rt.Notify()
		}
		return err
	}
	cfg := modem.Config{
		Name: "m0", Port: sm.Path(), CommandTimeout: 5 * time.Second, SendTimeout: 5 * time.Second,
		HealthInterval: time.Second, SweepInterval: time.Second,
		ReconnectMin: 20 * time.Millisecond, ReconnectMax: 200 * time.Millisecond,
		QuietTime: 50 * time.Millisecond, TraceLines: 200, USSDTimeout: 3 * time.Second,
		Find: func() []string { return []string{sm.Path()} },
	}
	sess := modem.NewSession(cfg, nil, handler, nil, modem.NewMetrics(prometheus.NewRegistry()))
	ctx, cancel := context.WithCancel(context.Background())
	sessDone := make(chan error, 1)
	routerDone := make(chan error, 1)
	go func() { sessDone <- sess.Run(ctx) }()
	go func() { routerDone <- rt.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		for _, ch := range []chan error{sessDone, routerDone} {
			select {
			case err := <-ch:
				if err != nil {
					t.Errorf("run: %v", err)
				}
			case <-time.After(15 * time.Second):
				t.Error("a goroutine did not stop within 15s")
			}
		}
	})
	rctx, rcancel := context.WithTimeout(ctx, 20*time.Second)
	err = sess.WaitReady(rctx)
	rcancel()
	if err != nil {
		t.Fatal(err)
	}

	start := time.Now()
	modemNumber := sm.Identity().MSISDN
	want := map[string][]string{} // E.164 sender → bodies
	long := strings.Repeat("This is a long message that needs several parts. ", 8)
	for i := 0; i < total; i++ {
		from := fmt.Sprintf("+4915112%06d", i%phones)
		body := fmt.Sprintf("message %d from %s", i, from)
		opts := sim.SendOptions{}
		if i%8 == 0 {
			body = fmt.Sprintf("long %d: %s", i, long)
			opts.Shuffle = true
		}
		if err := n.Phone(from).Send(modemNumber, body, opts); err != nil {
			t.Fatal(err)
		}
		want[from] = append(want[from], body)
	}

	deadline := time.Now().Add(90 * time.Second)
	for {
		got, _, err := e.db.CountInboundMessages(e.ctx)
		if err != nil {
			t.Fatal(err)
		}
		unrouted, parked, _ := e.db.CountUnprocessedPDUs(e.ctx)
		if got >= total && unrouted == 0 && parked == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 90s: %d of %d messages, %d unrouted and %d parked PDUs; modem storage %+v",
				got, total, unrouted, parked, sm.Memories())
		}
		time.Sleep(50 * time.Millisecond)
	}
	elapsed := time.Since(start)
	got, incomplete, _ := e.db.CountInboundMessages(e.ctx)
	if got != total || incomplete != 0 {
		t.Fatalf("%d messages (%d incomplete), want exactly %d complete", got, incomplete, total)
	}
	for from, bodies := range want {
		c, err := e.db.ContactByNumber(e.ctx, from)
		if err != nil {
			t.Fatalf("contact %s: %v", from, err)
		}
		ths := must(e.db.ThreadsOfContact(e.ctx, c.ID))
		if len(ths) != 1 || ths[0].Line != "m0" {
			t.Fatalf("%s: threads %+v", from, ths)
		}
		msgs := must(e.db.ThreadMessages(e.ctx, ths[0].ID, 0, 500))
		var gotBodies []string
		for _, m := range msgs {
			gotBodies = append(gotBodies, m.Body)
		}
		sort.Strings(gotBodies)
		sort.Strings(bodies)
		if strings.Join(gotBodies, "\n") != strings.Join(bodies, "\n") {
			t.Fatalf("%s: thread has %d messages, want %d\n got %q\nwant %q", from, len(gotBodies), len(bodies), gotBodies, bodies)
		}
		eps := must(e.db.ConversationsOfThread(e.ctx, ths[0].ID))
		if len(eps) != 1 || eps[0].Status != store.StatusNew {
			t.Fatalf("%s: episodes %+v", from, eps)
		}
	}
	for _, m := range sm.Memories() {
		if m.Used != 0 {
			t.Errorf("modem storage %s still holds %d", m.Memory, m.Used)
		}
	}
	t.Logf("%d messages from %d phones through a 10-slot SIM in %s", total, phones, elapsed.Round(time.Millisecond))
}
