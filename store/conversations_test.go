package store

import (
	"context"
	"errors"
	"testing"
	"time"
)

// seedConversation creates a contact, a thread on line l1 and a NEW episode.
func seedConversation(t *testing.T, db *DB, number string, now time.Time) Conversation {
	t.Helper()
	var c Conversation
	err := db.Update(context.Background(), func(tx *Tx) error {
		ct, err := tx.CreateContact(number, ContactLead, []string{number}, now)
		if err != nil {
			return err
		}
		line, err := tx.EnsureLine("l1")
		if err != nil {
			return err
		}
		th, _, err := tx.EnsureThread(ct.ID, line.Name, number, now)
		if err != nil {
			return err
		}
		c, err = tx.CreateConversation(NewConversation{ThreadID: th.ID, ContactID: ct.ID, Line: line.Name,
			QueueID: line.QueueID, Status: StatusNew, Now: now})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestConversationCompareAndSet(t *testing.T) {
	ctx := context.Background()
	db := openMigrated(t)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	ana := must2(db.CreateAgent(ctx, "ana", "Ana", "dispatcher"))
	bob := must2(db.CreateAgent(ctx, "bob", "Bob", "dispatcher"))
	c := seedConversation(t, db, "+4915112345678", now)
	steps := []struct {
		name string
		op   func(tx *Tx) (bool, error)
		want bool
		st   string
	}{
		{"accept", func(tx *Tx) (bool, error) { return tx.Accept(c.ID, ana.ID, now) }, true, StatusOpen},
		{"second accept loses", func(tx *Tx) (bool, error) { return tx.Accept(c.ID, bob.ID, now) }, false, StatusOpen},
		{"release by a non-owner fails", func(tx *Tx) (bool, error) { return tx.Release(c.ID, bob.ID, now) }, false, StatusOpen},
		{"assign with a stale owner fails", func(tx *Tx) (bool, error) { return tx.Assign(c.ID, StatusOpen, bob.ID, bob.ID, now) }, false, StatusOpen},
		{"assign", func(tx *Tx) (bool, error) { return tx.Assign(c.ID, StatusOpen, ana.ID, bob.ID, now) }, true, StatusOpen},
		{"snooze", func(tx *Tx) (bool, error) { return tx.Snooze(c.ID, StatusOpen, now.Add(time.Hour), true, now) }, true, StatusSnoozed},
		{"wake", func(tx *Tx) (bool, error) { return tx.Wake(c.ID, now) }, true, StatusOpen},
		{"resolve", func(tx *Tx) (bool, error) { return tx.Resolve(c.ID, StatusOpen, bob.ID, "agent", now) }, true, StatusResolved},
		{"resolve twice fails", func(tx *Tx) (bool, error) { return tx.Resolve(c.ID, StatusResolved, bob.ID, "agent", now) }, false, StatusResolved},
		{"archive", func(tx *Tx) (bool, error) { return tx.SetArchived(c.ID, true, now) }, true, StatusResolved},
		{"reopen to the queue", func(tx *Tx) (bool, error) { return tx.Reopen(c.ID, 0, now) }, true, StatusNew},
		{"close", func(tx *Tx) (bool, error) { return tx.Close(c.ID, StatusNew, now) }, true, StatusClosed},
		{"accept CLOSED fails", func(tx *Tx) (bool, error) { return tx.Accept(c.ID, ana.ID, now) }, false, StatusClosed},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			var ok bool
			err := db.Update(ctx, func(tx *Tx) error {
				var err error
				ok, err = s.op(tx)
				return err
			})
			if err != nil || ok != s.want {
				t.Fatalf("ok %v (%v), want %v", ok, err, s.want)
			}
			got := must2(db.Conversation(ctx, c.ID))
			if got.Status != s.st {
				t.Fatalf("status %s, want %s", got.Status, s.st)
			}
		})
	}
	got := must2(db.Conversation(ctx, c.ID))
	if got.LastOwnerID != bob.ID || got.ReopenCount != 1 || got.Archived || got.OwnerID != 0 {
		t.Errorf("final %+v", got)
	}
}

func TestSchemaEnforcesInvariants(t *testing.T) {
	ctx := context.Background()
	db := openMigrated(t)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c := seedConversation(t, db, "+4915112345678", now)
	cases := []struct{ name, sql string }{
		{"OPEN without owner", `UPDATE conversations SET status = 'OPEN' WHERE id = ?`},
		{"RESOLVED with owner", `UPDATE conversations SET status = 'RESOLVED', owner_id = (SELECT MIN(id) FROM users) WHERE id = ?`},
		{"second live episode", `INSERT INTO conversations (thread_id, contact_id, line, queue_id, status, last_activity_at, created_at)
			SELECT thread_id, contact_id, line, queue_id, 'NEW', last_activity_at, created_at FROM conversations WHERE id = ?`},
	}
	if _, err := db.CreateAgent(ctx, "ana", "", "dispatcher"); err != nil {
		t.Fatal(err)
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := db.Update(ctx, func(tx *Tx) error {
				_, err := tx.exec(tc.sql, c.ID)
				return err
			})
			if err == nil {
				t.Fatal("accepted")
			}
		})
	}
}

func TestRaiseAlertUpdatesInsteadOfDuplicating(t *testing.T) {
	ctx := context.Background()
	db := openMigrated(t)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	ana := must2(db.CreateAgent(ctx, "ana", "Ana", "dispatcher"))
	c := seedConversation(t, db, "+4915112345678", now)
	ttl := 14 * 24 * time.Hour
	raise := func(at time.Time) (Alert, bool) {
		var a Alert
		var created bool
		err := db.Update(ctx, func(tx *Tx) error {
			var err error
			a, created, err = tx.RaiseAlert(ana.ID, c.ID, AlertQueue, "new message", 0, ttl, at)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return a, created
	}
	a1, created1 := raise(now)
	a2, created2 := raise(now.Add(time.Hour))
	if !created1 || created2 || a1.ID != a2.ID || a2.Count != 2 || !a2.ExpiresAt.Equal(now.Add(ttl)) {
		t.Fatalf("first %+v %v, second %+v %v", a1, created1, a2, created2)
	}
	err := db.Update(ctx, func(tx *Tx) error {
		list, err := tx.SupersedeAlerts(c.ID, []string{AlertQueue}, 0, "accepted by Bob", now)
		if err == nil && len(list) != 1 {
			t.Errorf("superseded %d", len(list))
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	a3, created3 := raise(now.Add(2 * time.Hour))
	if !created3 || a3.ID != a1.ID || a3.Count != 1 || a3.State != AlertActive || !a3.ExpiresAt.Equal(now.Add(2*time.Hour+ttl)) {
		t.Fatalf("restarted %+v %v", a3, created3)
	}
	var expired int
	err = db.Update(ctx, func(tx *Tx) error {
		var err error
		expired, err = tx.ExpireAlerts(now.Add(2*time.Hour + ttl))
		return err
	})
	if err != nil || expired != 1 {
		t.Fatalf("expired %d (%v)", expired, err)
	}
}

func TestContactNumbersAreUnique(t *testing.T) {
	ctx := context.Background()
	db := openMigrated(t)
	now := time.Now()
	err := db.Update(ctx, func(tx *Tx) error {
		a, err := tx.CreateContact("A", ContactCustomer, []string{"+4915112345678", "ACME"}, now)
		if err != nil {
			return err
		}
		if err := tx.AddContactNumber(a.ID, "+4915112345678", now); err != nil {
			t.Errorf("re-adding own number: %v", err)
		}
		if _, err := tx.CreateContact("B", ContactLead, []string{"ACME"}, now); !errors.Is(err, ErrNumberTaken) {
			t.Errorf("taken number: %v", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	c := must2(db.ContactByNumber(ctx, "ACME"))
	if c.Name != "A" || len(c.Numbers) != 2 {
		t.Errorf("contact %+v", c)
	}
	list := must2(db.Contacts(ctx, ContactFilter{Query: "acm"}))
	if len(list) != 1 {
		t.Errorf("search found %d", len(list))
	}
	if list = must2(db.Contacts(ctx, ContactFilter{Query: "%"})); len(list) != 0 {
		t.Errorf("LIKE wildcard not escaped: %d", len(list))
	}
}

func must2[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
