package store

import (
	"context"
	"testing"
	"time"
)

func TestEventLog(t *testing.T) {
	ctx := context.Background()
	db := openMigrated(t)
	base := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	for i, l := range []LogLine{
		{Level: "critical", Module: "modem", Message: "modem0 absent", Context: map[string]any{"modem": "modem0"}, At: base},
		{Level: "weird", Module: "queue", Message: "level falls back to info", At: base.Add(time.Minute)},
		{Level: "info", Module: "system", Message: "<script>stored as text</script>", At: base.Add(48 * time.Hour)},
	} {
		if err := db.AppendLog(ctx, l); err != nil {
			t.Fatalf("append %d: %v", i, err)
		}
	}
	got, err := db.LogLines(ctx, base, base.Add(time.Hour), 0)
	if err != nil || len(got) != 2 {
		t.Fatalf("lines %+v %v", got, err)
	}
	if got[0].Level != "critical" || got[0].Context["modem"] != "modem0" || got[1].Level != "info" {
		t.Fatalf("lines %+v", got)
	}
	n, err := db.PruneLog(ctx, base.Add(24*time.Hour))
	if err != nil || n != 2 {
		t.Fatalf("pruned %d %v", n, err)
	}
	got, _ = db.LogLines(ctx, base, base.Add(72*time.Hour), 0)
	if len(got) != 1 || got[0].Message != "<script>stored as text</script>" {
		t.Fatalf("after prune %+v", got)
	}
}
