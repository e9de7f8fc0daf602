package store

import (
	"context"
	"testing"
	"time"
)

func TestSettingOverrides(t *testing.T) {
	ctx := context.Background()
	db := openMigrated(t)
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	if got, err := db.SettingOverrides(ctx); err != nil || len(got) != 0 {
		t.Fatalf("fresh overrides %v, %v", got, err)
	}
	if err := db.SetMeta(ctx, "settingsX", "not an override"); err != nil {
		t.Fatal(err)
	}
	ch, err := db.SaveSettings(ctx, map[string]string{"grace_window": "1h0m0s", "quiet_start": "21:00"}, nil, "ada", now)
	if err != nil || len(ch) != 2 {
		t.Fatalf("save: %v, %v", ch, err)
	}
	// The same value again is no change; a reset of a setting without override neither.
	ch, err = db.SaveSettings(ctx, map[string]string{"grace_window": "1h0m0s"}, []string{"auto_resolve_after"}, "bob", now)
	if err != nil || len(ch) != 0 {
		t.Fatalf("no-op save: %v, %v", ch, err)
	}
	got, err := db.SettingOverrides(ctx)
	if err != nil || len(got) != 2 || got["grace_window"].Value != "1h0m0s" || got["grace_window"].By != "ada" ||
		!got["quiet_start"].At.Equal(now) {
		t.Fatalf("overrides %+v, %v", got, err)
	}
	ch, err = db.SaveSettings(ctx, map[string]string{"grace_window": "2h0m0s"}, []string{"quiet_start"}, "bob", now.Add(time.Minute))
	if err != nil || len(ch) != 2 {
		t.Fatalf("change and reset: %v, %v", ch, err)
	}
	got, _ = db.SettingOverrides(ctx)
	if len(got) != 1 || got["grace_window"].Value != "2h0m0s" || got["grace_window"].By != "bob" {
		t.Fatalf("overrides after reset %+v", got)
	}
	log, err := db.SettingsLog(ctx, 10)
	if err != nil || len(log) != 4 {
		t.Fatalf("log %+v, %v", log, err)
	}
	if log[0].By != "bob" || log[len(log)-1].By != "ada" {
		t.Fatalf("log not newest first: %+v", log)
	}
	var reset, changed bool
	for _, c := range log[:2] {
		reset = reset || (c.Name == "quiet_start" && c.Old == "21:00" && c.New == "")
		changed = changed || (c.Name == "grace_window" && c.Old == "1h0m0s" && c.New == "2h0m0s")
	}
	if !reset || !changed {
		t.Fatalf("latest log entries %+v", log[:2])
	}
	if log, _ := db.SettingsLog(ctx, 1); len(log) != 1 {
		t.Fatalf("limit: %d entries", len(log))
	}
}
