package main

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/smsgw/smsgw/queue"
	"github.com/smsgw/smsgw/store"
)

// cmdSend queues a message in the gateway's database through the same queue code the API
// uses; the running gateway sends it (it looks for new work every second).
func cmdSend(ctx context.Context, e env, args []string) int {
	fs := newFlagSet(e, "send", "send --to NUMBER --text TEXT [flags]", `  smsgw send --to +4915112345678 --text "Your order has shipped."
  smsgw send --to 0151 12345678 --region DE --text "Hallo" --wait
  smsgw send --state-dir ./smsgw-demo --to +12025550199 --text "from the demo" --wait
  smsgw send --to +4915112345678 --text "Reminder" --at 2026-12-01T09:00:00+01:00 --key reminder-42
`)
	var cf configFlags
	cf.register(fs)
	to := fs.String("to", "", "recipient's number (E.164, or national with the configured region)")
	text := fs.String("text", "", "message text (long texts are split into parts; Unicode is fine)")
	line := fs.String("line", "", "send from this line (default: any modem)")
	key := fs.String("key", "", "idempotency key: repeating the command with the same key sends nothing new")
	at := fs.String("at", "", "send at this time (RFC 3339) instead of now")
	automated := fs.Bool("automated", false, "mark as automated (held in quiet hours)")
	wait := fs.Bool("wait", false, "wait until the message is sent, failed or unknown")
	timeout := fs.Duration("timeout", 2*time.Minute, "how long --wait waits")
	asJSON := fs.Bool("json", false, "print the message as JSON")
	if code, stop := parseFlags(fs, args); stop {
		return code
	}
	if *to == "" || *text == "" {
		fmt.Fprintln(e.stderr, "smsgw send: --to and --text are required (see smsgw send --help)")
		return 2
	}
	cfg, err := cf.load(e)
	if err == nil {
		err = cfg.Validate()
	}
	if err != nil {
		fmt.Fprintf(e.stderr, "smsgw: %v\n", err)
		return 1
	}
	req := queue.Request{To: *to, Body: *text, Line: *line, IdempotencyKey: *key}
	if *automated {
		req.Kind = queue.KindAutomated
	}
	if *at != "" {
		if req.SendAt, err = time.Parse(time.RFC3339, *at); err != nil {
			fmt.Fprintf(e.stderr, "smsgw send: --at %q is not an RFC 3339 time such as 2026-12-01T09:00:00+01:00\n", *at)
			return 2
		}
	}
	db, err := store.Open(ctx, cfg.DatabasePath())
	if err != nil {
		fmt.Fprintf(e.stderr, "smsgw: %v\n", err)
		return 1
	}
	defer db.Close()
	if err := db.Migrate(ctx); err != nil {
		fmt.Fprintf(e.stderr, "smsgw: %v\n", err)
		return 1
	}
	q, err := newQueue(cfg, db, nil, nil)
	if err != nil {
		fmt.Fprintf(e.stderr, "smsgw: %v\n", err)
		return 1
	}
	m, dup, err := q.Enqueue(ctx, req)
	if err != nil {
		fmt.Fprintf(e.stderr, "smsgw send: %v\n", err)
		return 1
	}
	if dup {
		fmt.Fprintf(e.stderr, "smsgw send: key %q was used before; this is the first message, nothing new was queued\n", *key)
	}
	if *wait {
		deadline := time.Now().Add(*timeout)
		for !finalStatus(m.Status) {
			if time.Now().After(deadline) {
				fmt.Fprintf(e.stderr, "smsgw send: still %s after %s; is the gateway running (smsgw serve)?\n", m.Status, *timeout)
				printMessage(e, m, *asJSON)
				return 1
			}
			time.Sleep(200 * time.Millisecond)
			if m, err = db.MessageByUID(ctx, m.UID); err != nil {
				fmt.Fprintf(e.stderr, "smsgw: %v\n", err)
				return 1
			}
		}
	}
	printMessage(e, m, *asJSON)
	if m.Status == "failed" || m.Status == "expired" {
		return 1
	}
	return 0
}

func finalStatus(s string) bool {
	switch s {
	case "sent", "delivered", "failed", "expired", "unknown", "cancelled":
		return true
	}
	return false
}

func printMessage(e env, m store.Message, asJSON bool) {
	if asJSON {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(m)
		return
	}
	fmt.Fprintf(e.stdout, "%s %s to %s, %d part(s), %s", m.UID, m.Status, m.Peer, m.Segments, m.Encoding)
	if m.Modem != "" {
		fmt.Fprintf(e.stdout, ", via %s", m.Modem)
	}
	if m.Error != "" {
		fmt.Fprintf(e.stdout, ": %s", m.Error)
	}
	fmt.Fprintln(e.stdout)
}
