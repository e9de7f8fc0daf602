// Command apiload measures the REST API of the real smsgw binary from outside, over
// HTTP on 127.0.0.1 with a Bearer token: enqueue rate with single and batched sends,
// and, on a database seeded by bench/seed, inbox list, conversation open and search
// latency; the gateway's RSS idle and under each load (sampled from /proc every 100 ms).
// No modems are configured, so queued messages stay queued.
//
//	go run ./bench/apiload                                          # empty database
//	go run ./bench/seed -messages 1000000 -contacts 50000 -db /tmp/bench1m/smsgw.db
//	go run ./bench/apiload -db /tmp/bench1m/smsgw.db                 # adds reads at 1M
//
// The seeded database is used in place (a user and a token are added to it).
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/smsgw/smsgw/bench/internal/harness"
)

func main() {
	log.SetFlags(log.Ltime)
	bin := flag.String("smsgw", "", "smsgw binary (default: build ./cmd/smsgw)")
	dbPath := flag.String("db", "", "seeded database to read from (default: a fresh one, enqueue only)")
	d := flag.Duration("duration", 10*time.Second, "length of each load phase")
	clients := flag.Int("clients", 16, "concurrent clients for single sends")
	readers := flag.Int("readers", 4, "concurrent clients for the read phases and batches")
	batch := flag.Int("batch", 100, "messages per batch request")
	flag.Parse()
	tmp, err := os.MkdirTemp("", "smsgw-apiload-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(tmp)
	if *bin, err = harness.BuildSmsgw(*bin, tmp); err != nil {
		log.Fatal(err)
	}
	port, _ := harness.FreePort()
	cfg := fmt.Sprintf("listen: 127.0.0.1:%d\nstate_dir: %s\nregion: DE\nlog:\n  level: warn\nmodem:\n  detect: false\n", port, tmp)
	if *dbPath != "" {
		abs, _ := filepath.Abs(*dbPath)
		cfg += "database: " + abs + "\n"
	}
	cfgPath := filepath.Join(tmp, "smsgw.yaml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		log.Fatal(err)
	}
	user := fmt.Sprintf("apiload%d", time.Now().Unix())
	add := exec.Command(*bin, "user", "add", "--config", cfgPath, "--admin", user, "--password-stdin")
	add.Stdin = strings.NewReader("apiload-password-123\n")
	if out, err := add.CombinedOutput(); err != nil {
		log.Fatalf("user add: %v\n%s", err, out)
	}
	out, err := exec.Command(*bin, "token", "create", "--config", cfgPath, "--user", user, "--name", "apiload", "--scopes", "admin").Output()
	if err != nil {
		log.Fatalf("token create: %v", err)
	}
	token := ""
	for _, l := range strings.Fields(string(out)) {
		if strings.HasPrefix(l, "smsgw_") {
			token = l
		}
	}
	if token == "" {
		log.Fatalf("no token in %q", out)
	}
	p, err := harness.StartGateway(*bin, cfgPath, filepath.Join(tmp, "smsgw.log"))
	if err != nil {
		log.Fatal(err)
	}
	defer p.Stop(10 * time.Second)
	base := fmt.Sprintf("http://127.0.0.1:%d/api/v1", port)
	if _, ok := harness.WaitFor(60*time.Second, 50*time.Millisecond, func() bool {
		_, err := harness.Metrics(context.Background(), port)
		return err == nil
	}); !ok {
		log.Fatal("gateway did not start")
	}
	time.Sleep(10 * time.Second)
	idle := float64(p.RSS()) / 1e6
	fmt.Printf("<!-- apiload %s, machine: %s, db: %q -->\n\n", time.Now().UTC().Format(time.RFC3339), harness.MachineInfo(), *dbPath)
	fmt.Printf("| phase | clients | requests | req/s | items/s | p50 | p99 | errors | RSS after (peak so far) |\n|---|---|---|---|---|---|---|---|---|\n")
	fmt.Printf("| idle, 10 s after start | – | – | – | – | – | – | – | %.1f MB |\n", idle)
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	do := func(method, url string, body []byte) (int, error) {
		req, _ := http.NewRequest(method, url, bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := client.Do(req)
		if err != nil {
			return 0, err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode, nil
	}
	var seq sync.Mutex
	n := 0
	next := func() int { seq.Lock(); defer seq.Unlock(); n++; return n }
	phase := func(name string, workers, items int, want int, req func(rng *rand.Rand) (string, string, []byte)) {
		var mu sync.Mutex
		var lat []float64
		errs := 0
		stop := time.Now().Add(*d)
		var wg sync.WaitGroup
		start := time.Now()
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				rng := rand.New(rand.NewPCG(uint64(w), 7))
				for time.Now().Before(stop) {
					m, u, b := req(rng)
					t0 := time.Now()
					code, err := do(m, u, b)
					el := time.Since(t0).Seconds() * 1000
					mu.Lock()
					if err != nil || code != want {
						errs++
						if errs == 1 {
							log.Printf("%s: %d %v", name, code, err)
						}
					} else {
						lat = append(lat, el)
					}
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		el := time.Since(start).Seconds()
		s := harness.Summarize(lat)
		_, peak := p.Usage()
		fmt.Printf("| %s | %d | %d | %.0f | %.0f | %.1f ms | %.1f ms | %d | %.1f MB (%.1f MB) |\n",
			name, workers, s.N, float64(s.N)/el, float64(s.N*items)/el, s.Median, s.P99, errs, float64(p.RSS())/1e6, float64(peak)/1e6)
	}
	send := func(i int) map[string]any {
		return map[string]any{"to": fmt.Sprintf("+4915123%06d", i%1000000), "body": fmt.Sprintf("apiload %d: your order has shipped", i)}
	}
	phase("POST /messages (one message, fsync before 202)", *clients, 1, http.StatusAccepted, func(*rand.Rand) (string, string, []byte) {
		b, _ := json.Marshal(send(next()))
		return "POST", base + "/messages", b
	})
	phase(fmt.Sprintf("POST /messages/batch (%d messages)", *batch), *readers, *batch, http.StatusAccepted, func(*rand.Rand) (string, string, []byte) {
		ms := make([]map[string]any, *batch)
		for i := range ms {
			ms[i] = send(next())
		}
		b, _ := json.Marshal(map[string]any{"messages": ms})
		return "POST", base + "/messages/batch", b
	})
	if *dbPath != "" {
		phase("GET /conversations?status=all&limit=50 (inbox list)", *readers, 1, http.StatusOK, func(*rand.Rand) (string, string, []byte) {
			return "GET", base + "/conversations?status=all&limit=50", nil
		})
		phase("GET /conversations/{id}/messages?limit=50 (open a conversation)", *readers, 1, http.StatusOK, func(rng *rand.Rand) (string, string, []byte) {
			return "GET", fmt.Sprintf("%s/conversations/%d/messages?limit=50", base, 1+rng.IntN(50000)), nil
		})
		phase("GET /conversations?status=all&q=Customer N (search)", *readers, 1, http.StatusOK, func(rng *rand.Rand) (string, string, []byte) {
			return "GET", fmt.Sprintf("%s/conversations?status=all&q=Customer%%20%d", base, 1+rng.IntN(50000)), nil
		})
	}
	time.Sleep(5 * time.Second)
	fmt.Printf("| idle again, 5 s after the load | – | – | – | – | – | – | – | %.1f MB |\n", float64(p.RSS())/1e6)
}
