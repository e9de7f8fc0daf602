package event

import (
	"sync"
	"testing"
	"time"
)

func TestPublishDeliversInOrderWithMonotonicIDs(t *testing.T) {
	b := New(10, nil)
	s := b.Subscribe(10, nil)
	defer s.Close()
	for i := 0; i < 5; i++ {
		b.Publish(Event{Type: MessageReceived})
	}
	var last int64
	for i := 0; i < 5; i++ {
		select {
		case e := <-s.C():
			if e.ID != last+1 || e.Time.IsZero() {
				t.Fatalf("event %d: id %d (after %d), time %v", i, e.ID, last, e.Time)
			}
			last = e.ID
		case <-time.After(time.Second):
			t.Fatal("event not delivered")
		}
	}
}

func TestSlowSubscriberNeverBlocksPublisher(t *testing.T) {
	b := New(100, nil)
	stuck := b.Subscribe(2, nil) // never read
	defer stuck.Close()
	fast := b.Subscribe(1000, nil)
	defer fast.Close()
	done := make(chan struct{})
	go func() {
		for i := 0; i < 500; i++ {
			b.Publish(Event{Type: MessageReceived})
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("publisher blocked by a stuck subscriber")
	}
	if got := stuck.Dropped(); got != 498 {
		t.Errorf("stuck subscriber dropped %d, want 498", got)
	}
	if fast.Dropped() != 0 || len(fast.C()) != 500 {
		t.Errorf("fast subscriber dropped %d, has %d", fast.Dropped(), len(fast.C()))
	}
	if b.Dropped() != 498 {
		t.Errorf("bus dropped %d", b.Dropped())
	}
}

func TestFilterAndReplay(t *testing.T) {
	cases := []struct {
		name         string
		ring         int
		publish      int
		lastID       int64
		wantIDs      []int64
		wantComplete bool
	}{
		{"nothing missed", 10, 5, 5, nil, true},
		{"resume in ring", 10, 5, 2, []int64{3, 4, 5}, true},
		{"resume from start", 10, 5, 0, []int64{1, 2, 3, 4, 5}, true},
		{"ring wrapped, still complete", 3, 5, 2, []int64{3, 4, 5}, true},
		{"ring wrapped, gap", 3, 5, 0, []int64{3, 4, 5}, false},
		{"id from the future", 3, 5, 99, nil, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := New(tc.ring, nil)
			for i := 0; i < tc.publish; i++ {
				b.Publish(Event{Type: MessageReceived, ConversationID: int64(i + 1)})
			}
			s, replay, complete := b.SubscribeSince(tc.lastID, 4, nil)
			defer s.Close()
			var ids []int64
			for _, e := range replay {
				ids = append(ids, e.ID)
			}
			if complete != tc.wantComplete || len(ids) != len(tc.wantIDs) {
				t.Fatalf("replay %v complete %v, want %v %v", ids, complete, tc.wantIDs, tc.wantComplete)
			}
			for i := range ids {
				if ids[i] != tc.wantIDs[i] {
					t.Fatalf("replay %v, want %v", ids, tc.wantIDs)
				}
			}
		})
	}

	b := New(10, nil)
	s := b.Subscribe(10, func(e Event) bool { return e.UserID == 7 })
	defer s.Close()
	b.Publish(Event{Type: AlertCreated, UserID: 8})
	b.Publish(Event{Type: AlertCreated, UserID: 7})
	if len(s.C()) != 1 {
		t.Fatalf("filtered subscriber got %d events, want 1", len(s.C()))
	}
	if e := <-s.C(); e.UserID != 7 || e.ID != 2 {
		t.Fatalf("got %+v", e)
	}
}

func TestCloseIsSafeUnderConcurrentPublish(t *testing.T) {
	b := New(16, nil)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
				b.Publish(Event{Type: MessageStatus})
			}
		}
	}()
	for i := 0; i < 200; i++ {
		s := b.Subscribe(1, nil)
		s.Close()
		s.Close()
	}
	close(stop)
	wg.Wait()
	if b.Subscribers() != 0 {
		t.Fatalf("%d subscribers left", b.Subscribers())
	}
	s := b.Subscribe(1, nil)
	b.Close()
	if _, ok := <-s.C(); ok {
		// one buffered event may be there; drain it
		if _, ok := <-s.C(); ok {
			t.Fatal("channel not closed by Bus.Close")
		}
	}
	after := b.Subscribe(1, nil)
	if _, ok := <-after.C(); ok {
		t.Fatal("subscription on a closed bus is open")
	}
	if e := b.Publish(Event{Type: MessageStatus}); e.ID == 0 {
		t.Fatal("publish on closed bus did not stamp")
	}
}
