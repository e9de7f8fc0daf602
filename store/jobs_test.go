package store

import (
	"context"
	"errors"
	"testing"
	"time"
)

func saveJob(t *testing.T, db *DB, j DispatchJob, now time.Time) DispatchJob {
	t.Helper()
	var out DispatchJob
	err := db.Update(context.Background(), func(tx *Tx) error {
		var err error
		out, err = tx.SaveJob(j, now)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestJobsLifecycleAndLookups(t *testing.T) {
	ctx := context.Background()
	db := openMigrated(t)
	now := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	j := saveJob(t, db, DispatchJob{Ref: "1042", Status: "created", Active: true, CustomerName: "Ada",
		CustomerNumber: "+4915100000001", WorkerName: "Sam", WorkerPhone: "+4915100000009",
		Fields: map[string]string{"eta": "14:00"}}, now)
	if j.ID == 0 || j.Fields["eta"] != "14:00" || !j.Active || !j.EndedAt.IsZero() || !j.CreatedAt.Equal(now) {
		t.Fatalf("saved %+v", j)
	}
	err := db.Update(ctx, func(tx *Tx) error {
		_, err := tx.SaveJob(DispatchJob{Ref: "1042", Active: true}, now)
		return err
	})
	if !errors.Is(err, ErrDuplicate) {
		t.Fatalf("duplicate ref: %v", err)
	}
	saveJob(t, db, DispatchJob{Ref: "1043", Status: "created", Active: true, SiteNumber: "+4915100000002",
		WorkerPhone: "+4915100000009"}, now.Add(time.Minute))

	err = db.Update(ctx, func(tx *Tx) error {
		list, err := tx.ActiveJobsOfWorker("+4915100000009")
		if err != nil || len(list) != 2 || list[0].Ref != "1042" || list[1].Ref != "1043" {
			t.Errorf("worker jobs %+v %v", list, err)
		}
		got, err := tx.ActiveJobOfCustomer("+4915100000002") // site contact of a job without a customer number
		if err != nil || got.Ref != "1043" {
			t.Errorf("customer job %+v %v", got, err)
		}
		if _, err := tx.ActiveJobOfCustomer("+4915100000077"); !errors.Is(err, ErrNotFound) {
			t.Errorf("unknown customer: %v", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	// Ending a job takes it out of the relay lookups and stamps ended_at once.
	j.Active, j.Status = false, "completed"
	ended := saveJob(t, db, j, now.Add(time.Hour))
	if ended.Active || !ended.EndedAt.Equal(now.Add(time.Hour)) {
		t.Fatalf("ended %+v", ended)
	}
	again := saveJob(t, db, ended, now.Add(2*time.Hour))
	if !again.EndedAt.Equal(now.Add(time.Hour)) {
		t.Fatalf("ended_at moved: %v", again.EndedAt)
	}
	_ = db.Update(ctx, func(tx *Tx) error {
		list, _ := tx.ActiveJobsOfWorker("+4915100000009")
		if len(list) != 1 || list[0].Ref != "1043" {
			t.Errorf("after end: %+v", list)
		}
		return nil
	})
	if list, _ := db.Jobs(ctx, true, 10); len(list) != 1 {
		t.Fatalf("active jobs %+v", list)
	}
	if list, _ := db.Jobs(ctx, false, 10); len(list) != 2 {
		t.Fatalf("all jobs %+v", list)
	}
}

func TestJobRelaysAreCancelledWithTheirJob(t *testing.T) {
	ctx := context.Background()
	db := openMigrated(t)
	now := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	j := saveJob(t, db, DispatchJob{Ref: "7", Active: true, CustomerNumber: "+4915100000001"}, now)
	err := db.Update(ctx, func(tx *Tx) error {
		if _, err := tx.AddJobRelay(JobRelay{JobID: j.ID, To: "+4915100000001", Line: "l1", Body: "a"}, now); err != nil {
			return err
		}
		_, err := tx.AddJobRelay(JobRelay{To: "+4915100000009", Body: "error notice"}, now)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	list, active, err := db.PendingJobRelays(ctx, 10)
	if err != nil || len(list) != 2 || !active[0] || !active[1] {
		t.Fatalf("pending %+v %v %v", list, active, err)
	}
	j.Active = false
	saveJob(t, db, j, now)
	_, active, _ = db.PendingJobRelays(ctx, 10)
	if active[0] || !active[1] {
		t.Fatalf("after the job ended: %v", active)
	}
	if err := db.FinishJobRelay(ctx, list[0].ID, "cancelled", 0, "job ended", now); err != nil {
		t.Fatal(err)
	}
	if list, _, _ := db.PendingJobRelays(ctx, 10); len(list) != 1 || list[0].Body != "error notice" {
		t.Fatalf("left %+v", list)
	}
}

func TestChatActivity(t *testing.T) {
	ctx := context.Background()
	db := openMigrated(t)
	now := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	if at, err := db.ChatActivity(ctx, "+4915100000001"); err != nil || !at.IsZero() {
		t.Fatalf("no contact: %v %v", at, err)
	}
	c := seedConversation(t, db, "+4915100000001", now)
	if at, _ := db.ChatActivity(ctx, "+4915100000001"); !at.Equal(now) {
		t.Fatalf("live chat: %v", at)
	}
	_ = db.Update(ctx, func(tx *Tx) error { _, err := tx.Resolve(c.ID, StatusNew, 0, "agent", now); return err })
	if at, _ := db.ChatActivity(ctx, "+4915100000001"); !at.IsZero() {
		t.Fatalf("resolved chat still counts: %v", at)
	}
}

func TestAlertTemplatesRulesAndDedupe(t *testing.T) {
	ctx := context.Background()
	db := openMigrated(t)
	now := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	tpl, err := db.SaveAlertTemplate(ctx, AlertTemplate{Name: "eta", Body: "Hi {{customer.name}}"}, now)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.SaveAlertTemplate(ctx, AlertTemplate{Name: "ETA", Body: "x"}, now); !errors.Is(err, ErrDuplicate) {
		t.Fatalf("duplicate name: %v", err)
	}
	if _, err := db.SaveAlertRule(ctx, AlertRule{Event: "created", TemplateID: 999}, now); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown template: %v", err)
	}
	r, err := db.SaveAlertRule(ctx, AlertRule{Event: "eta_set", TemplateID: tpl.ID, Recipients: []string{"customer"},
		Filters: map[string]string{"type": "repair"}, DedupeWindow: 10 * time.Minute, Enabled: true}, now)
	if err != nil || r.DedupeWindow != 10*time.Minute || r.Filters["type"] != "repair" {
		t.Fatalf("rule %+v %v", r, err)
	}
	if list, _ := db.AlertRules(ctx, "eta_set"); len(list) != 1 {
		t.Fatalf("rules for eta_set: %+v", list)
	}
	if err := db.DeleteAlertTemplate(ctx, tpl.ID); !errors.Is(err, ErrStale) {
		t.Fatalf("delete a template in use: %v", err)
	}
	j := saveJob(t, db, DispatchJob{Ref: "1", Active: true}, now)
	s := AlertSend{RuleID: r.ID, JobID: j.ID, Event: "eta_set", Recipient: "+4915100000001", Body: "Hi", State: SendPending, DueAt: now}
	first, dup, err := db.AddAlertSend(ctx, s, now.Add(-10*time.Minute), now)
	if err != nil || dup || first.ID == 0 {
		t.Fatalf("first %+v %v %v", first, dup, err)
	}
	if _, dup, _ := db.AddAlertSend(ctx, s, now.Add(-10*time.Minute), now.Add(5*time.Minute)); !dup {
		t.Fatal("a second alert inside the window was not a duplicate")
	}
	if _, dup, _ := db.AddAlertSend(ctx, s, now.Add(time.Minute), now.Add(11*time.Minute)); dup {
		t.Fatal("an alert after the window was a duplicate")
	}
	due, _ := db.DueAlertSends(ctx, now, 10)
	if len(due) != 2 || due[0].ID != first.ID {
		t.Fatalf("due %+v", due)
	}
	if ok, _ := db.UpdateAlertSend(ctx, first.ID, SendPending, "", 0, now.Add(time.Hour), now); !ok {
		t.Fatal("postpone")
	}
	if due, _ := db.DueAlertSends(ctx, now.Add(30*time.Minute), 10); len(due) != 1 || due[0].ID == first.ID { // only the second one
		t.Fatalf("due after postponing %+v", due)
	}
	if ok, _ := db.UpdateAlertSend(ctx, first.ID, SendSent, "", 42, time.Time{}, now); !ok {
		t.Fatal("sent")
	}
	if ok, _ := db.UpdateAlertSend(ctx, first.ID, SendFailed, "late", 0, time.Time{}, now); ok {
		t.Fatal("a finished send changed again")
	}
	sends, _ := db.AlertSendsOfJob(ctx, j.ID, 10)
	if len(sends) != 2 || sends[1].MessageID != 42 || sends[1].State != SendSent {
		t.Fatalf("sends %+v", sends)
	}
}

func TestSystemAlertsFireOnceAndClear(t *testing.T) {
	ctx := context.Background()
	db := openMigrated(t)
	now := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	a := SystemAlert{Check: "modem_offline", Subject: "m1", Severity: "critical", Message: "m1 is offline"}
	first, created, err := db.FireSystemAlert(ctx, a, now)
	if err != nil || !created || first.State != SystemFiring {
		t.Fatalf("fire %+v %v %v", first, created, err)
	}
	again, created, _ := db.FireSystemAlert(ctx, a, now.Add(time.Minute))
	if created || again.ID != first.ID {
		t.Fatalf("fired twice: %+v", again)
	}
	cl, ok, err := db.ClearSystemAlert(ctx, "modem_offline", "m1", now.Add(2*time.Minute))
	if err != nil || !ok || cl.State != SystemCleared {
		t.Fatalf("clear %+v %v %v", cl, ok, err)
	}
	if _, ok, _ := db.ClearSystemAlert(ctx, "modem_offline", "m1", now); ok {
		t.Fatal("cleared twice")
	}
	next, created, _ := db.FireSystemAlert(ctx, a, now.Add(3*time.Minute))
	if !created || next.ID == first.ID {
		t.Fatalf("a new incident after clearing: %+v", next)
	}
	if err := db.NoteSystemAlertNotified(ctx, next.ID, "inapp,email", now); err != nil {
		t.Fatal(err)
	}
	firing, _ := db.SystemAlerts(ctx, SystemFiring, 10)
	all, _ := db.SystemAlerts(ctx, "", 10)
	if len(firing) != 1 || firing[0].Notified != "inapp,email" || len(all) != 2 {
		t.Fatalf("firing %+v all %+v", firing, all)
	}
}
