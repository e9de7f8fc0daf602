package queue

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/smsgw/smsgw/modem"
	"github.com/smsgw/smsgw/modem/sim"
	"github.com/smsgw/smsgw/store"
)

func benchDB(b *testing.B) *store.DB {
	b.Helper()
	db, err := store.Open(context.Background(), filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	if err := db.Migrate(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	return db
}

// BenchmarkEnqueue measures accepting one message per transaction with
// synchronous=FULL: the cost a POST pays before its 202.
func BenchmarkEnqueue(b *testing.B) {
	q := New(Config{}, benchDB(b), nil, nil, nil)
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if _, _, err := q.Enqueue(ctx, Request{To: fmt.Sprintf("+1202555%04d", i%10000), Body: "Your order has shipped."}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}

// BenchmarkEnqueueBatch100 measures batches of 100 messages in one transaction.
func BenchmarkEnqueueBatch100(b *testing.B) {
	q := New(Config{}, benchDB(b), nil, nil, nil)
	ctx := context.Background()
	batch := make([]Request, 100)
	for i := range batch {
		batch[i] = Request{To: fmt.Sprintf("+1202555%04d", i), Body: "Reminder: your appointment is tomorrow at 9:00."}
	}
	b.ResetTimer()
	for b.Loop() {
		if _, _, err := q.EnqueueBatch(ctx, batch); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*len(batch))/b.Elapsed().Seconds(), "msgs/s")
}

// BenchmarkDispatch measures end-to-end throughput through N instant virtual modems over
// real ptys: from enqueue until every part has its +CMGS answer recorded. With instant
// modems this is the gateway's own overhead per SMS (AT round trips on a pty, SQLite
// commits with synchronous=FULL, encoding), the figure real modems never let you see.
func BenchmarkDispatch(b *testing.B) {
	for _, n := range []int{1, 4, 16} {
		b.Run(fmt.Sprintf("modems=%d", n), func(b *testing.B) {
			benchDispatch(b, n)
		})
	}
}

func benchDispatch(b *testing.B, modems int) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	db := benchDB(b)
	q := New(Config{Poll: 20 * time.Millisecond}, db, nil, nil, nil)
	net := sim.NewNetwork(sim.NetworkConfig{})
	var routes []Route
	var wg sync.WaitGroup
	for i := range modems {
		sm, err := net.NewModem(sim.ModemConfig{Name: fmt.Sprintf("m%d", i), Latency: sim.LatencyInstant()})
		if err != nil {
			b.Fatal(err)
		}
		if err := sm.Start(); err != nil {
			b.Fatal(err)
		}
		defer sm.Close()
		s := modem.NewSession(modem.Config{Name: sm.Name(), Port: sm.Path(), HealthInterval: time.Hour, SweepInterval: time.Hour},
			nil, func(context.Context, modem.Inbound) error { return nil }, nil, nil)
		wg.Add(1)
		go func() { defer wg.Done(); _ = s.Run(ctx) }()
		wctx, wcancel := context.WithTimeout(ctx, 10*time.Second)
		if err := s.WaitReady(wctx); err != nil {
			b.Fatal(err)
		}
		wcancel()
		routes = append(routes, Route{Sender: s})
	}
	qctx, qcancel := context.WithCancel(ctx)
	qdone := make(chan struct{})
	go func() { defer close(qdone); _ = q.Run(qctx, routes) }()
	defer func() { qcancel(); <-qdone; cancel(); wg.Wait() }()

	const per = 50
	body := strings.Repeat("x", 100)
	cpu0 := cpuTime()
	b.ResetTimer()
	for b.Loop() {
		batch := make([]Request, per)
		for i := range batch {
			batch[i] = Request{To: fmt.Sprintf("+1202555%04d", i), Body: body, NoReport: true}
		}
		ms, _, err := q.EnqueueBatch(ctx, batch)
		if err != nil {
			b.Fatal(err)
		}
		deadline := time.Now().Add(60 * time.Second)
		for _, m := range ms {
			for {
				got, err := db.MessageByUID(ctx, m.UID)
				if err != nil {
					b.Fatal(err)
				}
				if got.Status == "sent" {
					break
				}
				if time.Now().After(deadline) {
					b.Fatalf("message %s still %s after 60s", m.UID, got.Status)
				}
				time.Sleep(2 * time.Millisecond)
			}
		}
	}
	b.StopTimer()
	// CPU of the whole process: the gateway's queue, sessions and SQLite, and the
	// virtual modems answering them (an upper bound for the gateway alone).
	b.ReportMetric((cpuTime()-cpu0).Seconds()/float64(b.N*per)*1000, "cpu-ms/msg")
	b.ReportMetric(float64(b.N*per)/b.Elapsed().Seconds(), "msgs/s")
	b.ReportMetric(b.Elapsed().Seconds()/float64(b.N*per)*1000, "ms/msg")
}

// cpuTime is the user plus system CPU time this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
