package store

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

func TestFTSQueryQuotesEveryWord(t *testing.T) {
	cases := []struct{ in, want string }{
		{"", ""},
		{`  "*-()  `, ""},
		{"Customer 4242", `"Customer*" "4242*"`},
		{`a" OR "b`, `"a*" "OR*" "b*"`},
		{"x NEAR/2 y", `"x*" "NEAR*" "2*" "y*"`},
		{"-foo +bar", `"foo*" "bar*"`},
		{"(a OR b) AND NOT c*", `"a*" "OR*" "b*" "AND*" "NOT*" "c*"`},
		{"body:secret", `"body*" "secret*"`},
		{"0151 1234", `("0151*" OR "151*") "1234*"`},
		{"000", `"000*"`},
		{"Müller café 🎉 東京", `"Müller*" "café*" "東京*"`},
		{"\u0301abc", `"abc*"`},
		{"a b c d e f g h i j", `"a*" "b*" "c*" "d*" "e*" "f*" "g*" "h*"`},
	}
	for _, c := range cases {
		if got := ftsQuery(c.in); got != c.want {
			t.Errorf("ftsQuery(%q) = %s, want %s", c.in, got, c.want)
		}
	}
}

// searchFixture: three contacts on line l1, each with a thread, an episode and messages.
type searchFixture struct {
	db             *DB
	ana, bea, acme Conversation
	anaMsg         int64
}

func newSearchFixture(t *testing.T) searchFixture {
	t.Helper()
	ctx := context.Background()
	db := openMigrated(t)
	now := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	f := searchFixture{db: db}
	f.ana = seedConversation(t, db, "+4915112345678", now)
	f.bea = seedConversation(t, db, "+15550004242", now.Add(time.Minute))
	f.acme = seedConversation(t, db, "ACME", now.Add(2*time.Minute))
	err := db.Update(ctx, func(tx *Tx) error {
		name := "Anna Müller"
		if err := tx.UpdateContact(f.ana.ContactID, ContactUpdate{Name: &name}, now); err != nil {
			return err
		}
		name = "Bea O'Brien"
		if err := tx.UpdateContact(f.bea.ContactID, ContactUpdate{Name: &name}, now); err != nil {
			return err
		}
		var err error
		if f.anaMsg, err = tx.InsertInboundMessage(InboundMessage{Peer: "+4915112345678", Line: "l1", ThreadID: f.ana.ThreadID,
			Body: "Is the technician still coming? Gate code 7781", Encoding: "gsm7", Status: "received", At: now}); err != nil {
			return err
		}
		if _, err := tx.InsertInboundMessage(InboundMessage{Peer: "+15550004242", Line: "l1", ThreadID: f.bea.ThreadID,
			Body: "Danke schön, bis morgen (NEAR the \"gate\") OR not", Encoding: "ucs2", Status: "received", At: now}); err != nil {
			return err
		}
		_, err = tx.AddNote(f.acme.ID, f.acme.ThreadID, mustAgent(t, tx), "internal: technician late", now)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func mustAgent(t *testing.T, tx *Tx) int64 {
	t.Helper()
	id, err := tx.insertID("agent", `INSERT INTO users (username, role, password_hash) VALUES ('searcher', 'admin', '')`)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func searchIDs(t *testing.T, db *DB, q string) []int64 {
	t.Helper()
	page, err := db.Conversations(context.Background(), ConversationFilter{Visibility: Visibility{All: true}, Search: q,
		Statuses: []string{StatusNew, StatusOpen, StatusSnoozed, StatusResolved, StatusClosed}})
	if err != nil {
		t.Fatalf("search %q: %v", q, err)
	}
	var ids []int64
	for _, it := range page.Items {
		ids = append(ids, it.ID)
	}
	slices.Sort(ids)
	return ids
}

func TestConversationSearch(t *testing.T) {
	f := newSearchFixture(t)
	ana, bea, acme := f.ana.ID, f.bea.ID, f.acme.ID
	cases := []struct {
		q    string
		want []int64
	}{
		{"technician", []int64{ana}},      // message text (a note is not a message)
		{"TECHN", []int64{ana}},           // prefix, case folded
		{"still coming", []int64{ana}},    // every word, in one message
		{"still danke", nil},              // words of two different messages
		{"muller", []int64{ana}},          // contact name, accents folded
		{"Müller", []int64{ana}},          //
		{"anna 7781", nil},                // name and message words do not mix
		{"brien", []int64{bea}},           // O'Brien: apostrophe splits the words
		{"4242", []int64{bea}},            // digits anywhere in a number
		{"12345", []int64{ana}},           //
		{"+49 151", []int64{ana}},         // written with spaces
		{"0151 123", []int64{ana}},        // national format
		{"acm", []int64{acme}},            // alphanumeric sender id
		{"cme", []int64{acme}},            //
		{"schön", []int64{bea}},           // UCS-2 text
		{"schon", []int64{bea}},           //
		{`NEAR "gate"`, []int64{bea}},     // operators are words
		{`OR`, []int64{bea}},              //
		{`gate*`, []int64{ana, bea}},      // the star is not syntax
		{`" OR 1=1 --`, nil},              // SQL and FTS syntax are inert
		{`(`, nil},                        // nothing searchable
		{`"`, nil},                        //
		{`-technician`, []int64{ana}},     // no NOT
		{`technician NOT coming`, nil},    // NOT is a word here: no message has it
		{"🎉", nil},                        // symbols only
		{"東京", nil},                       // unicode without a hit
		{"zzzz", nil},                     // no hit
		{"a\x00b", nil},                   // control characters separate words
		{string([]byte{0xff, 0xfe}), nil}, // invalid UTF-8
		{"technician still coming gate code 7781 is the", []int64{ana}}, // eight words kept
	}
	for _, c := range cases {
		t.Run(c.q, func(t *testing.T) {
			if got := searchIDs(t, f.db, c.q); !slices.Equal(got, c.want) {
				t.Errorf("search %q = %v, want %v", c.q, got, c.want)
			}
		})
	}
	// Contacts search shares the index (names and numbers, not messages).
	for q, want := range map[string]int{"muller": 1, "4242": 1, "acm": 1, "technician": 0, "%": 0, `" OR "`: 0} {
		got, err := f.db.Contacts(context.Background(), ContactFilter{Query: q})
		if err != nil || len(got) != want {
			t.Errorf("contacts %q: %d (%v), want %d", q, len(got), err, want)
		}
	}
}

func TestSearchIndexFollowsChanges(t *testing.T) {
	ctx := context.Background()
	f := newSearchFixture(t)
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	step := func(name string, fn func(tx *Tx) error) {
		t.Helper()
		if err := f.db.Update(ctx, fn); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	step("rename", func(tx *Tx) error {
		n := "Zoë Quartermaine"
		return tx.UpdateContact(f.ana.ContactID, ContactUpdate{Name: &n}, now)
	})
	if got := searchIDs(t, f.db, "muller"); got != nil {
		t.Errorf("old name still found: %v", got)
	}
	if got := searchIDs(t, f.db, "zoe quarter"); !slices.Equal(got, []int64{f.ana.ID}) {
		t.Errorf("new name: %v", got)
	}
	step("add number", func(tx *Tx) error { return tx.AddContactNumber(f.ana.ContactID, "+33612345999", now) })
	if got := searchIDs(t, f.db, "5999"); !slices.Equal(got, []int64{f.ana.ID}) {
		t.Errorf("added number: %v", got)
	}
	step("remove number", func(tx *Tx) error { return tx.RemoveContactNumber(f.ana.ContactID, "+33612345999") })
	if got := searchIDs(t, f.db, "5999"); got != nil {
		t.Errorf("removed number still found: %v", got)
	}
	step("late part", func(tx *Tx) error {
		return tx.UpdateInboundBody(f.anaMsg, "Parcel arrived, thank you", "received", 2, now)
	})
	if got := searchIDs(t, f.db, "technician"); got != nil {
		t.Errorf("old text still found: %v", got)
	}
	if got := searchIDs(t, f.db, "parcel"); !slices.Equal(got, []int64{f.ana.ID}) {
		t.Errorf("new text: %v", got)
	}
	// A merge moves the numbers (and threads): the source's number finds the target.
	step("merge", func(tx *Tx) error {
		_, err := tx.MergeContacts(f.bea.ContactID, f.acme.ContactID, now)
		return err
	})
	if got := must2(f.db.Contacts(ctx, ContactFilter{Query: "acme"})); len(got) != 1 || got[0].ID != f.bea.ContactID {
		t.Errorf("merged number: %+v", got)
	}
	if err := f.db.IntegrityCheck(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := f.db.w.ExecContext(ctx, `INSERT INTO message_fts (message_fts) VALUES ('integrity-check')`); err != nil {
		t.Errorf("message index out of step: %v", err)
	}
	if _, err := f.db.w.ExecContext(ctx, `INSERT INTO contact_fts (contact_fts) VALUES ('integrity-check')`); err != nil {
		t.Errorf("contact index out of step: %v", err)
	}
}

func TestSearchPagesWithCursor(t *testing.T) {
	ctx := context.Background()
	db := openMigrated(t)
	now := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	var want []int64
	for i := range 7 {
		c := seedConversation(t, db, fmt.Sprintf("+1555000%04d", i), now.Add(time.Duration(i%3)*time.Minute))
		if i%2 == 0 {
			want = append(want, c.ID)
			if err := db.Update(ctx, func(tx *Tx) error {
				_, err := tx.InsertInboundMessage(InboundMessage{Peer: "x", Line: "l1", ThreadID: c.ThreadID,
					Body: "refund please", Encoding: "gsm7", Status: "received", At: now})
				return err
			}); err != nil {
				t.Fatal(err)
			}
		}
	}
	var got []int64
	cursor := ""
	for pages := 0; ; pages++ {
		page, err := db.Conversations(ctx, ConversationFilter{Visibility: Visibility{All: true}, Search: "refund", Limit: 2, Cursor: cursor})
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range page.Items {
			got = append(got, it.ID)
		}
		if page.Next == "" {
			break
		}
		if pages > 5 {
			t.Fatal("cursor does not advance")
		}
		cursor = page.Next
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("paged search %v, want %v", got, want)
	}
}

// TestSearchMigrationBackfills: rows written before migration 0008 are found after it.
func TestSearchMigrationBackfills(t *testing.T) {
	ctx := context.Background()
	db := openTemp(t)
	ms := must2(Migrations())
	if err := db.migrateTo(ctx, ms, 7); err != nil {
		t.Fatal(err)
	}
	now := FormatTime(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	for _, q := range []string{
		`INSERT INTO contacts (id, name, created_at, updated_at) VALUES (1, 'Old Timer', '` + now + `', '` + now + `')`,
		`INSERT INTO contact_numbers (number, contact_id) VALUES ('+4930123456', 1)`,
		`INSERT INTO lines (name) VALUES ('l1')`,
		`INSERT INTO threads (id, contact_id, line, peer, last_activity_at, created_at) VALUES (1, 1, 'l1', '+4930123456', '` + now + `', '` + now + `')`,
		`INSERT INTO conversations (id, thread_id, contact_id, line, queue_id, status, last_activity_at, created_at) VALUES (1, 1, 1, 'l1', 1, 'NEW', '` + now + `', '` + now + `')`,
		`INSERT INTO messages (uid, direction, peer, thread_id, body, encoding, segments, status) VALUES ('u1', 'in', '+4930123456', 1, 'boiler broken again', 'gsm7', 1, 'received')`,
	} {
		if _, err := db.w.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{"boiler", "timer", "0123"} {
		if got := searchIDs(t, db, q); !slices.Equal(got, []int64{1}) {
			t.Errorf("after migration %q: %v", q, got)
		}
	}
}

// TestCountConversationsMatchesDefinition compares the badge counts with the plain
// definition (a read-marker lookup per episode) on random inboxes.
func TestCountConversationsMatchesDefinition(t *testing.T) {
	ctx := context.Background()
	db := openMigrated(t)
	now := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	ana := must2(db.CreateAgent(ctx, "ana", "Ana", "dispatcher"))
	bob := must2(db.CreateAgent(ctx, "bob", "Bob", "dispatcher"))
	rng := rand.New(rand.NewPCG(1, 2))
	err := db.Update(ctx, func(tx *Tx) error {
		if _, err := tx.exec(`INSERT INTO queues (id, name) VALUES (2, 'second')`); err != nil {
			return err
		}
		for i := range 300 {
			number := fmt.Sprintf("+1555100%04d", i)
			ct, err := tx.CreateContact(number, ContactLead, []string{number}, now)
			if err != nil {
				return err
			}
			th, _, err := tx.EnsureThread(ct.ID, "l1", number, now)
			if err != nil {
				return err
			}
			status := []string{StatusNew, StatusOpen, StatusSnoozed, StatusResolved, StatusClosed}[rng.IntN(5)]
			var owner int64
			if status == StatusOpen || (status == StatusSnoozed && rng.IntN(2) == 0) {
				owner = []int64{ana.ID, bob.ID}[rng.IntN(2)]
			}
			c, err := tx.CreateConversation(NewConversation{ThreadID: th.ID, ContactID: ct.ID, Line: "l1",
				QueueID: int64(1 + rng.IntN(2)), Status: StatusNew, Now: now})
			if err != nil {
				return err
			}
			var lastIn any
			if rng.IntN(4) > 0 {
				lastIn = rng.IntN(50) + 1
			}
			var snooze any
			if status == StatusSnoozed {
				snooze = FormatTime(now)
			}
			if _, err := tx.exec(`UPDATE conversations SET status = ?, owner_id = ?, last_owner_id = ?, snoozed_until = ?,
				needs_reply = ?, archived = ?, last_inbound_id = ? WHERE id = ?`, status, nullID(owner),
				nullID([]int64{0, ana.ID, bob.ID}[rng.IntN(3)]), snooze, rng.IntN(2), flag(rng.IntN(10) == 0), lastIn, c.ID); err != nil {
				return err
			}
			for _, u := range []int64{ana.ID, bob.ID} {
				if rng.IntN(2) == 0 {
					if err := tx.SetReadMarker(u, c.ID, int64(rng.IntN(60)), now); err != nil {
						return err
					}
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	definition := func(viewer int64, vis Visibility) ConversationCounts {
		cond, args := visibilityCond(vis)
		var c ConversationCounts
		err := db.r.QueryRowContext(ctx, `SELECT
			COALESCE(SUM(c.owner_id = ? AND c.status IN ('OPEN', 'SNOOZED')), 0),
			COALESCE(SUM(c.status = 'NEW'), 0),
			COALESCE(SUM(c.needs_reply = 1 AND c.status IN ('NEW', 'OPEN')), 0),
			COALESCE(SUM(COALESCE(c.last_inbound_id, 0) > COALESCE((SELECT last_read_id FROM read_markers r
				WHERE r.user_id = ? AND r.conversation_id = c.id), 0)), 0)
			FROM conversations c WHERE c.status <> 'CLOSED' AND c.archived = 0 AND `+cond,
			append([]any{viewer, viewer}, args...)...).Scan(&c.Mine, &c.Unowned, &c.NeedsReply, &c.Unread)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	for _, viewer := range []int64{ana.ID, bob.ID} {
		for _, vis := range []Visibility{
			{All: true},
			{UserID: viewer, MemberQueues: []int64{1}},
			{UserID: viewer, MemberQueues: []int64{2}, OthersInQueues: true},
			{UserID: viewer, MemberQueues: []int64{1, 2}, OthersEverywhere: true},
			{UserID: viewer},
		} {
			got := must2(db.CountConversations(ctx, viewer, vis))
			if want := definition(viewer, vis); got != want {
				t.Errorf("viewer %d %+v: counts %+v, want %+v", viewer, vis, got, want)
			}
		}
	}
}

func TestCountConversationsUsesCoveringIndex(t *testing.T) {
	ctx := context.Background()
	db := openMigrated(t)
	cond, args := visibilityCond(Visibility{UserID: 1, MemberQueues: []int64{1}, OthersInQueues: true})
	rows, err := db.r.QueryContext(ctx, `EXPLAIN QUERY PLAN SELECT count(*) FROM conversations c
		WHERE c.status <> 'CLOSED' AND c.archived = 0 AND `+cond, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	if len(plan) == 0 || plan[0] != "SEARCH c USING COVERING INDEX conversations_counts (archived=?)" {
		t.Errorf("plan %q", plan)
	}
}

func TestDeleteContact(t *testing.T) {
	ctx := context.Background()
	f := newSearchFixture(t)
	db := f.db
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	var keep, tombstone int64
	err := db.Update(ctx, func(tx *Tx) error {
		// A job, an alert, a tag, a read marker, an episode link and a queued outbound
		// message that all point at Ana's rows; and a contact merged into Ana earlier.
		if _, err := tx.exec(`INSERT INTO jobs (ref, contact_id, created_at, updated_at) VALUES ('J1', ?, ?, ?)`,
			f.ana.ContactID, FormatTime(now), FormatTime(now)); err != nil {
			return err
		}
		if _, err := tx.exec(`INSERT INTO alert_sends (job_id, event, recipient, body, state, due_at, message_id, created_at, updated_at)
			VALUES (1, 'created', 'customer', 'x', 'sent', ?, ?, ?, ?)`, FormatTime(now), f.anaMsg, FormatTime(now), FormatTime(now)); err != nil {
			return err
		}
		if _, err := tx.exec(`INSERT INTO job_relays (job_id, source_id, to_number, thread_id, body, created_at, updated_at)
			VALUES (1, ?, '+1', ?, 'x', ?, ?)`, f.anaMsg, f.ana.ThreadID, FormatTime(now), FormatTime(now)); err != nil {
			return err
		}
		uid := must2(tx.Agent(1)).ID
		if _, _, err := tx.RaiseAlert(uid, f.ana.ID, AlertQueue, "", f.anaMsg, time.Hour, now); err != nil {
			return err
		}
		if _, err := tx.TagConversation(f.ana.ID, "vip"); err != nil {
			return err
		}
		if err := tx.SetReadMarker(uid, f.ana.ID, f.anaMsg, now); err != nil {
			return err
		}
		if err := tx.LogActivity(f.ana.ID, uid, "note", "x", now); err != nil {
			return err
		}
		if ok, err := tx.Close(f.ana.ID, StatusNew, now); err != nil || !ok {
			return fmt.Errorf("close: %v %v", ok, err)
		}
		next, err := tx.CreateConversation(NewConversation{ThreadID: f.ana.ThreadID, ContactID: f.ana.ContactID, Line: "l1",
			QueueID: 1, Status: StatusNew, PreviousID: f.ana.ID, Now: now})
		if err != nil {
			return err
		}
		if _, err := tx.AddNote(next.ID, f.ana.ThreadID, uid, "second episode", now); err != nil {
			return err
		}
		old, err := tx.CreateContact("Old Ana", ContactLead, []string{"+4915199999999"}, now)
		if err != nil {
			return err
		}
		tombstone = old.ID
		if _, err := tx.MergeContacts(f.ana.ContactID, old.ID, now); err != nil {
			return err
		}
		keep = f.bea.ContactID
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.RecordOutbound(ctx, OutboundRecord{Kind: "agent", Peer: "+4915112345678", Line: "l1", ThreadID: f.ana.ThreadID,
		Body: "on our way", At: now}); err != nil {
		t.Fatal(err)
	}

	del := func(id int64, force bool) (ContactDeletion, error) {
		var d ContactDeletion
		err := db.Update(ctx, func(tx *Tx) error {
			var err error
			d, err = tx.DeleteContact(id, force)
			return err
		})
		return d, err
	}
	if _, err := del(9999, true); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown contact: %v", err)
	}
	d, err := del(f.ana.ContactID, false)
	if !errors.Is(err, ErrHasHistory) || d.Messages != 2 || d.Notes != 1 || d.Conversations != 2 {
		t.Fatalf("without force: %+v %v", d, err)
	}
	if _, err := db.Contact(ctx, f.ana.ContactID); err != nil {
		t.Fatalf("refused deletion changed something: %v", err)
	}
	d, err = del(f.ana.ContactID, true)
	if err != nil {
		t.Fatal(err)
	}
	if d.Threads != 1 || d.Conversations != 2 || d.Messages != 2 || d.Notes != 1 || d.MergedContacts != 1 || len(d.Episodes) != 2 {
		t.Errorf("deletion %+v", d)
	}
	for _, id := range []int64{f.ana.ContactID, tombstone} {
		if _, err := db.Contact(ctx, id); !errors.Is(err, ErrNotFound) {
			t.Errorf("contact %d still there: %v", id, err)
		}
	}
	if _, err := db.Contact(ctx, keep); err != nil {
		t.Errorf("other contact: %v", err)
	}
	// Nothing points at a deleted row, and the search index forgot it.
	for _, q := range []string{
		`SELECT count(*) FROM pragma_foreign_key_check`,
		`SELECT count(*) FROM messages WHERE thread_id NOT IN (SELECT id FROM threads)`,
		`SELECT count(*) FROM contact_numbers WHERE contact_id NOT IN (SELECT id FROM contacts)`,
		`SELECT count(*) FROM jobs WHERE contact_id IS NOT NULL`,
		`SELECT count(*) FROM alert_sends WHERE message_id IS NOT NULL`,
		`SELECT count(*) FROM job_relays WHERE thread_id IS NOT NULL OR source_id IS NOT NULL`,
		`SELECT count(*) FROM contact_fts WHERE docid NOT IN (SELECT id FROM contacts)`,
		`SELECT count(*) FROM message_fts WHERE message_fts MATCH 'technician OR way'`,
		`SELECT count(*) FROM notes n WHERE n.thread_id NOT IN (SELECT id FROM threads)`,
		`SELECT count(*) FROM conversations WHERE thread_id NOT IN (SELECT id FROM threads)`,
		`SELECT count(*) FROM read_markers`,
		`SELECT count(*) FROM alerts`,
		`SELECT count(*) FROM conversation_tags`,
	} {
		var n int
		if err := db.r.QueryRowContext(ctx, q).Scan(&n); err != nil || n != 0 {
			t.Errorf("%s: %d (%v)", q, n, err)
		}
	}
	if got := searchIDs(t, db, "4242"); !slices.Equal(got, []int64{f.bea.ID}) {
		t.Errorf("others still found: %v", got)
	}
	if err := db.IntegrityCheck(ctx); err != nil {
		t.Fatal(err)
	}
	// A contact with no history goes without force.
	var bare int64
	if err := db.Update(ctx, func(tx *Tx) error {
		c, err := tx.CreateContact("Bare", ContactLead, []string{"+15557654321"}, now)
		bare = c.ID
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if d, err := del(bare, false); err != nil || d.Messages != 0 {
		t.Errorf("bare contact: %+v %v", d, err)
	}
}

// TestSearchStartsFromTheHits: the search query starts from the index hits and looks
// conversations up by id, whatever statistics the database has (none by default),
// instead of walking every conversation in activity order.
func TestSearchStartsFromTheHits(t *testing.T) {
	ctx := context.Background()
	db := openMigrated(t)
	for _, vis := range []Visibility{{All: true}, {UserID: 1, MemberQueues: []int64{1}, OthersInQueues: true}} {
		q, args, empty, err := conversationsQuery(ConversationFilter{Visibility: vis, Search: "refund 42", Limit: 50})
		if err != nil || empty {
			t.Fatal(empty, err)
		}
		rows, err := db.r.QueryContext(ctx, "EXPLAIN QUERY PLAN "+q, args...)
		if err != nil {
			t.Fatal(err)
		}
		var plan []string
		for rows.Next() {
			var id, parent, unused int
			var detail string
			if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, detail)
		}
		rows.Close()
		if !slices.Contains(plan, "SCAN hits") || !slices.Contains(plan, "SEARCH c USING INTEGER PRIMARY KEY (rowid=?)") {
			t.Errorf("plan %q", plan)
		}
	}
}
