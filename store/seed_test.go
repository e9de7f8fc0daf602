package store

import (
	"context"
	"path/filepath"
	"testing"
	"time"
)

func TestSeedBench(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "seed.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	a, err := db.CreateAgent(ctx, "ana", "Ana", "dispatcher")
	if err != nil {
		t.Fatal(err)
	}
	if err := db.SeedBench(ctx, SeedOptions{Contacts: 100, Messages: 1005, Owners: []int64{a.ID}, Now: time.Now()}); err != nil {
		t.Fatal(err)
	}
	ms, err := db.Messages(ctx, MessageFilter{Limit: 500})
	if err != nil || len(ms) != 500 {
		t.Fatalf("%d messages, %v", len(ms), err)
	}
	page, err := db.Conversations(ctx, ConversationFilter{Visibility: Visibility{All: true}, Statuses: []string{"NEW", "OPEN"}, Limit: 200})
	if err != nil || len(page.Items) != 40 {
		t.Fatalf("%d live conversations, %v", len(page.Items), err)
	}
	if err := db.IntegrityCheck(ctx); err != nil {
		t.Fatal(err)
	}
}
