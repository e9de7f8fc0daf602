package store

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestInsertInboundPDUDedupes(t *testing.T) {
	ctx := context.Background()
	db := openMigrated(t)
	pdu := []byte{0x00, 0x04, 0x0B, 0x91, 0x51, 0x55}
	cases := []struct {
		name string
		in   InboundPDU
		want bool
	}{
		{"first", InboundPDU{Modem: "m0", IMSI: "001010000000001", Storage: "SM", Index: 3, PDU: pdu}, true},
		{"same SIM, other slot", InboundPDU{Modem: "m0", IMSI: "001010000000001", Storage: "ME", Index: 9, PDU: pdu}, false},
		{"same SIM, other modem name", InboundPDU{Modem: "m7", IMSI: "001010000000001", PDU: pdu}, false},
		{"other SIM", InboundPDU{Modem: "m1", IMSI: "001010000000002", PDU: pdu}, true},
		{"no IMSI, IMEI", InboundPDU{Modem: "m2", IMEI: "350000000000001", PDU: pdu}, true},
		{"no IMSI, same IMEI", InboundPDU{Modem: "m3", IMEI: "350000000000001", PDU: pdu}, false},
		{"other bytes", InboundPDU{Modem: "m0", IMSI: "001010000000001", PDU: append([]byte{1}, pdu...)}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := db.InsertInboundPDU(ctx, tc.in)
			if err != nil || got != tc.want {
				t.Fatalf("inserted %v (%v), want %v", got, err, tc.want)
			}
		})
	}
	if _, err := db.InsertInboundPDU(ctx, InboundPDU{Modem: "m0"}); err == nil {
		t.Fatal("empty PDU accepted")
	}
	list, err := db.UnroutedPDUs(ctx, 100)
	if err != nil || len(list) != 4 {
		t.Fatalf("unrouted %d (%v), want 4", len(list), err)
	}
	if list[0].Storage != "SM" || list[0].Index != 3 || list[0].Identity() != "001010000000001" {
		t.Errorf("first row %+v", list[0])
	}
	if list[2].Identity() != "350000000000001" {
		t.Errorf("IMEI identity %q", list[2].Identity())
	}
}

func TestPartsParkAndDueGroups(t *testing.T) {
	ctx := context.Background()
	db := openMigrated(t)
	t0 := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	var ids []int64
	for i := 0; i < 3; i++ {
		if _, err := db.InsertInboundPDU(ctx, InboundPDU{Modem: "m0", IMSI: "1", PDU: []byte{byte(i + 1)}}); err != nil {
			t.Fatal(err)
		}
	}
	list, _ := db.UnroutedPDUs(ctx, 10)
	for _, p := range list {
		ids = append(ids, p.ID)
	}
	key := PartGroupKey("1", "+4915112345678", 7, 3)
	if key == PartGroupKey("1", "+4915112345678", 8, 3) || key == PartGroupKey("2", "+4915112345678", 7, 3) {
		t.Fatal("group keys collide")
	}
	err := db.Update(ctx, func(tx *Tx) error {
		if err := tx.ParkPart(ids[2], key, 3, 3, t0); err != nil {
			return err
		}
		return tx.ParkPart(ids[0], key, 1, 3, t0.Add(time.Minute))
	})
	if err != nil {
		t.Fatal(err)
	}
	unrouted, parked, err := db.CountUnprocessedPDUs(ctx)
	if err != nil || unrouted != 1 || parked != 2 {
		t.Fatalf("counts %d %d (%v)", unrouted, parked, err)
	}
	due, err := db.DueGroups(ctx, t0.Add(-time.Second), 10)
	if err != nil || len(due) != 0 {
		t.Fatalf("due early: %v %v", due, err)
	}
	due, err = db.DueGroups(ctx, t0, 10)
	if err != nil || len(due) != 1 || due[0] != key {
		t.Fatalf("due: %v %v", due, err)
	}
	err = db.Update(ctx, func(tx *Tx) error {
		parts, err := tx.ParkedParts(key)
		if err != nil {
			return err
		}
		if len(parts) != 2 || parts[0].Seq != 1 || parts[1].Seq != 3 {
			t.Errorf("parked parts %+v", parts)
		}
		id, err := tx.InsertInboundMessage(InboundMessage{Peer: "+4915112345678", Line: "l", Body: "a[part 2 missing]c",
			Encoding: "gsm7", Segments: 3, Status: "incomplete", At: t0})
		if err != nil {
			return err
		}
		for _, p := range parts {
			if err := tx.MarkPDUProcessed(p.ID, id, "", t0); err != nil {
				return err
			}
		}
		if err := tx.MarkPDUProcessed(parts[0].ID, id, "", t0); !errors.Is(err, ErrStale) {
			t.Errorf("second mark: %v, want ErrStale", err)
		}
		got, gparts, err := tx.IncompleteGroupMessage(key, t0.Add(-time.Hour))
		if err != nil || got != id || len(gparts) != 2 {
			t.Errorf("incomplete group message %d %d (%v), want %d", got, len(gparts), err, id)
		}
		if _, _, err := tx.IncompleteGroupMessage(key, t0.Add(time.Hour)); !errors.Is(err, ErrNotFound) {
			t.Errorf("outside window: %v", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
