// Command seed fills an smsgw database with a synthetic inbox for benchmarks:
//
//	go run ./bench/seed -messages 1000000 -contacts 50000 -db /tmp/bench.db
//
// It creates three agents (ana, ben, cleo, in the default queue) who own the OPEN
// conversations, and prints the time it took.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/smsgw/smsgw/store"
)

func main() {
	messages := flag.Int("messages", 1_000_000, "messages to create")
	contacts := flag.Int("contacts", 50_000, "contacts (one thread and conversation each)")
	path := flag.String("db", "bench.db", "database file (created, or added to)")
	flag.Parse()
	if err := run(*path, *contacts, *messages); err != nil {
		fmt.Fprintln(os.Stderr, "seed:", err)
		os.Exit(1)
	}
}

func run(path string, contacts, messages int) error {
	ctx := context.Background()
	db, err := store.Open(ctx, path)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := db.Migrate(ctx); err != nil {
		return err
	}
	var owners []int64
	for _, n := range []string{"ana", "ben", "cleo"} {
		a, err := db.CreateAgent(ctx, n, n, "dispatcher")
		if err != nil {
			return fmt.Errorf("agent %s (is the database already seeded?): %w", n, err)
		}
		owners = append(owners, a.ID)
		if err := db.Update(ctx, func(tx *store.Tx) error { return tx.AddQueueMember(1, a.ID) }); err != nil {
			return err
		}
	}
	start := time.Now()
	err = db.SeedBench(ctx, store.SeedOptions{Contacts: contacts, Messages: messages, Owners: owners,
		Progress: func(n int) { fmt.Fprintf(os.Stderr, "\r%d messages", n) }})
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "\nseeded %d contacts and %d messages into %s in %s\n", contacts, messages, path, time.Since(start).Round(time.Millisecond))
	return nil
}
