package api

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/crypto/bcrypt"

	"github.com/smsgw/smsgw/auth"
	"github.com/smsgw/smsgw/event"
	"github.com/smsgw/smsgw/queue"
	"github.com/smsgw/smsgw/router"
	"github.com/smsgw/smsgw/server"
	"github.com/smsgw/smsgw/store"
)

// Benchmarks of the API on a seeded database. With SMSGW_BENCH_DB=FILE they use that
// file (seed it with go run ./bench/seed); otherwise a small inbox is seeded in a
// temporary directory. They report requests/s and p50/p99 latency:
//
//	go run ./bench/seed -messages 1000000 -contacts 50000 -db /tmp/bench.db
//	SMSGW_BENCH_DB=/tmp/bench.db go test -run '^$' -bench . -benchtime 10s ./api/

type benchEnv struct {
	ts               *httptest.Server
	sendTok, listTok string
	adminTok         string
	cleanup          func()
}

func newBenchEnv(b *testing.B) *benchEnv {
	b.Helper()
	ctx := context.Background()
	path := os.Getenv("SMSGW_BENCH_DB")
	if path == "" {
		path = filepath.Join(b.TempDir(), "bench.db")
	}
	db, err := store.Open(ctx, path)
	if err != nil {
		b.Fatal(err)
	}
	if err := db.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	a := auth.New(db, auth.Options{BcryptCost: bcrypt.MinCost})
	ana, err := db.UserByUsername(ctx, "ana")
	if err != nil { // not seeded by bench/seed: seed a small inbox here
		ag, err := db.CreateAgent(ctx, "ana", "Ana", "dispatcher")
		if err != nil {
			b.Fatal(err)
		}
		if err := db.Update(ctx, func(tx *store.Tx) error { return tx.AddQueueMember(1, ag.ID) }); err != nil {
			b.Fatal(err)
		}
		if err := db.SeedBench(ctx, store.SeedOptions{Contacts: 2000, Messages: 40000, Owners: []int64{ag.ID}}); err != nil {
			b.Fatal(err)
		}
		ana, _ = db.User(ctx, ag.ID)
	}
	admin, err := db.UserByUsername(ctx, "benchadmin")
	if err != nil {
		if admin, err = a.CreateUser(ctx, "benchadmin", "", "bench password", auth.RoleAdmin); err != nil {
			b.Fatal(err)
		}
	}
	bus := event.New(1024, nil)
	q := queue.New(queue.Config{Region: "US"}, db, nil, nil, nil)
	rt := router.New(router.Config{DefaultRegion: "US"}, router.Deps{DB: db, Bus: bus, Outbox: outbox{q}})
	ap := New(Deps{DB: db, Auth: a, Queue: q, Router: rt, Bus: bus})
	srv := server.New(server.Options{Registry: prometheus.NewRegistry(), MaxBodyBytes: 1 << 20})
	ap.Mount(srv.Router())
	e := &benchEnv{ts: httptest.NewServer(srv.Handler())}
	mk := func(u store.User, scopes ...string) string {
		t, _, err := a.CreateToken(ctx, u.ID, "bench", scopes, time.Now().Add(time.Hour))
		if err != nil {
			b.Fatal(err)
		}
		return t
	}
	e.sendTok = mk(admin, auth.ScopeMessagesSend)
	e.adminTok = mk(admin, auth.ScopeInboxRead)
	e.listTok = mk(ana, auth.ScopeInboxRead)
	e.cleanup = func() { e.ts.Close(); _ = db.Close() }
	return e
}

// measure runs req in parallel b.N times and reports req/s, p50 and p99.
func measure(b *testing.B, req func(client *http.Client, i int64) (int, error), okStatus int) {
	var mu sync.Mutex
	var lat []time.Duration
	var n atomic.Int64
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	b.SetParallelism(4)
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		var local []time.Duration
		for pb.Next() {
			t0 := time.Now()
			code, err := req(client, n.Add(1))
			if err != nil || code != okStatus {
				b.Errorf("status %d, %v", code, err)
				return
			}
			local = append(local, time.Since(t0))
		}
		mu.Lock()
		lat = append(lat, local...)
		mu.Unlock()
	})
	elapsed := time.Since(start)
	b.StopTimer()
	if len(lat) == 0 {
		return
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(len(lat))/elapsed.Seconds(), "req/s")
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
}

func do(client *http.Client, method, url, token, body string) (int, error) {
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res.StatusCode, nil
}

func BenchmarkSend(b *testing.B) {
	e := newBenchEnv(b)
	defer e.cleanup()
	url := e.ts.URL + "/api/v1/messages"
	run := time.Now().UnixNano()
	measure(b, func(c *http.Client, i int64) (int, error) {
		body := fmt.Sprintf(`{"to":"+1202555%04d","body":"Your order %d has shipped","idempotency_key":"b%d-%d"}`, i%10_000, i, run, i)
		return do(c, "POST", url, e.sendTok, body)
	}, http.StatusAccepted)
}

func BenchmarkInboxList(b *testing.B) {
	e := newBenchEnv(b)
	defer e.cleanup()
	for _, c := range []struct{ name, tok, query string }{
		{"dispatcher-live", e.listTok, "?status=NEW,OPEN&limit=50"},
		{"dispatcher-mine-unread", e.listTok, "?owner=me&unread=true&limit=50"},
		{"admin-all", e.adminTok, "?status=all&limit=50"},
		{"admin-all-with-counts", e.adminTok, "?status=all&limit=50&include=counts"},
		{"admin-search", e.adminTok, "?q=Customer%204242&limit=50"},
		{"admin-search-text", e.adminTok, "?q=order%204242&limit=50"},   // message text: 11 threads
		{"admin-search-number", e.adminTok, "?q=0004242&limit=50"},      // digits inside a number
		{"dispatcher-search-text", e.listTok, "?q=order%2042&limit=50"}, // 111 threads, visibility filter
		{"admin-search-everywhere", e.adminTok, "?q=message&limit=50"},  // worst case: in every message
		{"admin-resolved", e.adminTok, "?status=RESOLVED&limit=50"},
	} {
		b.Run(c.name, func(b *testing.B) {
			url := e.ts.URL + "/api/v1/conversations" + c.query
			measure(b, func(cl *http.Client, _ int64) (int, error) { return do(cl, "GET", url, c.tok, "") }, http.StatusOK)
		})
	}
}

func BenchmarkCounts(b *testing.B) {
	e := newBenchEnv(b)
	defer e.cleanup()
	for _, c := range []struct{ name, tok string }{{"dispatcher", e.listTok}, {"admin", e.adminTok}} {
		b.Run(c.name, func(b *testing.B) {
			url := e.ts.URL + "/api/v1/conversations/counts"
			measure(b, func(cl *http.Client, _ int64) (int, error) { return do(cl, "GET", url, c.tok, "") }, http.StatusOK)
		})
	}
}

func BenchmarkThreadMessages(b *testing.B) {
	e := newBenchEnv(b)
	defer e.cleanup()
	url := e.ts.URL + "/api/v1/conversations/17/messages?limit=50"
	measure(b, func(cl *http.Client, _ int64) (int, error) { return do(cl, "GET", url, e.adminTok, "") }, http.StatusOK)
}
