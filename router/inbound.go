package router

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/smsgw/smsgw/event"
	"github.com/smsgw/smsgw/sms"
	"github.com/smsgw/smsgw/store"
)

// maxRouteFailures bounds how often one PDU is retried in a process before it is set
// aside as processed with its error (the raw PDU stays in the database).
const maxRouteFailures = 5

// MessageEvent is the Data of message.received, message.updated and message.sent.
type MessageEvent struct {
	MessageID      int64  `json:"message_id"`
	ThreadID       int64  `json:"thread_id"`
	ConversationID int64  `json:"conversation_id,omitempty"`
	ContactID      int64  `json:"contact_id,omitempty"`
	Direction      string `json:"direction"`
	Kind           string `json:"kind"`
	Peer           string `json:"peer"`
	Line           string `json:"line"`
	Body           string `json:"body"`
	Status         string `json:"status"`
}

// StatusEvent is the Data of message.status.
type StatusEvent struct {
	StatusReport
	Matched bool `json:"matched"`
}

// ProcessInbound routes every PDU stored and not yet looked at, then sends owed
// opt-out confirmations. Run calls it; tests may call it directly.
func (r *Router) ProcessInbound(ctx context.Context) error {
	const batch = 200
	for {
		list, err := r.db.UnroutedPDUs(ctx, batch)
		if err != nil {
			return err
		}
		progressed := false
		for _, p := range list {
			if err := ctx.Err(); err != nil {
				return err
			}
			if err := r.routePDU(ctx, p); err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				r.routeFailed(ctx, p, err)
				continue
			}
			progressed = true
		}
		if len(list) < batch || !progressed {
			break
		}
	}
	if err := r.SendPendingConfirmations(ctx); err != nil {
		r.log.Warn("opt-out confirmations", "error", err)
	}
	if err := r.SendPendingRelays(ctx); err != nil && ctx.Err() == nil {
		r.log.Warn("three-way relays", "error", err)
	}
	return nil
}

// routeFailed counts a failure; after maxRouteFailures the PDU is set aside.
func (r *Router) routeFailed(ctx context.Context, p store.StoredPDU, cause error) {
	r.mu.Lock()
	r.failures[p.ID]++
	n := r.failures[p.ID]
	r.mu.Unlock()
	r.log.Error("route inbound PDU", "pdu_id", p.ID, "attempt", n, "error", cause)
	if n < maxRouteFailures {
		return
	}
	err := r.update(ctx, func(tx *store.Tx, em *emitter) error {
		em.emit(event.Event{Type: event.InboundUndecodable, Data: map[string]any{"pdu_id": p.ID, "error": cause.Error()}})
		return tx.MarkPDUProcessed(p.ID, 0, "routing failed: "+cause.Error(), r.now())
	})
	if err != nil {
		r.log.Error("set aside inbound PDU", "pdu_id", p.ID, "error", err)
		return
	}
	r.mu.Lock()
	delete(r.failures, p.ID)
	r.mu.Unlock()
}

// lineFor names the line a PDU was received on.
func (r *Router) lineFor(p store.StoredPDU) string {
	if r.cfg.LineForModem != nil {
		if l := r.cfg.LineForModem(p.Modem, p.IMSI); l != "" {
			return l
		}
	}
	return p.Modem
}

// normalizePeer returns E.164 for phone numbers and the sender id for alphanumeric
// senders; what cannot be normalized is kept as given, minus control and formatting
// characters, and bounded, since it is attacker-controlled text.
func (r *Router) normalizePeer(addr string) string {
	if n, err := sms.NormalizeNumber(addr, r.cfg.DefaultRegion); err == nil {
		return n
	}
	s := strings.Map(func(c rune) rune {
		if c == utf8.RuneError || unicode.IsControl(c) || unicode.Is(unicode.Cf, c) {
			return -1
		}
		return c
	}, addr)
	s = strings.TrimSpace(s)
	if len(s) > 32 {
		s = strings.ToValidUTF8(s[:32], "")
	}
	if s == "" {
		s = "unknown"
	}
	return s
}

// routePDU handles one unrouted PDU.
func (r *Router) routePDU(ctx context.Context, p store.StoredPDU) error {
	m, err := sms.Decode(p.PDU, sms.MT, true)
	if err != nil {
		r.log.Warn("undecodable inbound PDU", "pdu_id", p.ID, "modem", p.Modem, "error", err)
		return r.update(ctx, func(tx *store.Tx, em *emitter) error {
			em.emit(event.Event{Type: event.InboundUndecodable, Data: map[string]any{"pdu_id": p.ID, "error": err.Error()}})
			return tx.MarkPDUProcessed(p.ID, 0, "decode: "+err.Error(), r.now())
		})
	}
	switch m.Type {
	case sms.StatusReport:
		return r.routeReport(ctx, p, m)
	case sms.Deliver:
		if c := m.Concat; c != nil && c.Total > 1 && c.Seq >= 1 && c.Seq <= c.Total {
			return r.routePart(ctx, p, m)
		}
		return r.update(ctx, func(tx *store.Tx, em *emitter) error {
			body, enc := partText(m), m.Encoding.String()
			msgID, err := r.placeMessage(tx, em, inboundMsg{Peer: r.normalizePeer(m.Address), Line: r.lineFor(p),
				Modem: p.Modem, Body: body, Encoding: enc, Segments: 1, Status: "received", SCTS: m.SCTS})
			if err != nil {
				return err
			}
			return tx.MarkPDUProcessed(p.ID, msgID, "", r.now())
		})
	}
	return r.update(ctx, func(tx *store.Tx, em *emitter) error {
		return tx.MarkPDUProcessed(p.ID, 0, "unexpected TPDU type "+m.Type.String(), r.now())
	})
}

// routeReport hands a status report to the queue; matched or not, the PDU is done.
func (r *Router) routeReport(ctx context.Context, p store.StoredPDU, m *sms.Message) error {
	rep := StatusReport{Modem: p.Modem, MR: m.MR, Recipient: m.Address, SCTS: m.SCTS, Discharge: m.Discharge, Status: m.Status}
	matched := false
	if r.reports != nil {
		var err error
		if matched, err = r.reports.ApplyStatusReport(ctx, rep); err != nil {
			return fmt.Errorf("router: apply status report: %w", err)
		}
	}
	note := ""
	if !matched {
		note = "status report matched no sent part"
		r.log.Info("unmatched status report", "modem", p.Modem, "mr", m.MR, "status", m.Status)
	}
	return r.update(ctx, func(tx *store.Tx, em *emitter) error {
		typ := event.MessageStatus
		if !matched {
			typ = event.StatusReportUnmatched
		}
		em.emit(event.Event{Type: typ, Data: StatusEvent{StatusReport: rep, Matched: matched}})
		return tx.MarkPDUProcessed(p.ID, 0, note, r.now())
	})
}

// decodedPart is one stored part with its decoded PDU.
type decodedPart struct {
	pdu store.StoredPDU
	msg *sms.Message
}

// pickSet chooses one PDU per part number (the oldest); later duplicates of a number
// (a reused reference) stay parked for the next set.
func pickSet(parts []store.StoredPDU) map[int]decodedPart {
	set := map[int]decodedPart{}
	for _, p := range parts {
		if _, ok := set[p.Seq]; ok {
			continue
		}
		m, err := sms.Decode(p.PDU, sms.MT, true)
		if err != nil || m.Concat == nil {
			continue // cannot happen: it decoded when parked
		}
		set[p.Seq] = decodedPart{pdu: p, msg: m}
	}
	return set
}

// partText is the text of a single PDU; 8-bit data is not text and is shown as a
// marker (the raw PDU stays in inbound_pdus).
func partText(m *sms.Message) string {
	if m.Encoding == sms.Binary {
		return fmt.Sprintf("[8-bit data, %d bytes]", len(m.Data))
	}
	return m.Text
}

// assemble joins the parts of a set in order, marking each missing one.
func assemble(set map[int]decodedPart, total int) (body, encoding string, complete bool) {
	var sb strings.Builder
	complete = true
	for i := 1; i <= total; {
		if _, ok := set[i]; !ok {
			fmt.Fprintf(&sb, "[part %d missing]", i)
			complete = false
			i++
			continue
		}
		var run []*sms.Message
		for ; i <= total; i++ {
			p, ok := set[i]
			if !ok {
				break
			}
			if encoding == "" {
				encoding = p.msg.Encoding.String()
			}
			run = append(run, p.msg)
		}
		text, err := sms.Reassemble(run)
		if err != nil {
			for _, m := range run {
				sb.WriteString(partText(m))
			}
			continue
		}
		sb.WriteString(text)
	}
	return sb.String(), encoding, complete
}

// routePart parks one part and delivers its message when the set is complete, or
// merges it into a message already delivered incomplete (a late part).
func (r *Router) routePart(ctx context.Context, p store.StoredPDU, m *sms.Message) error {
	c := m.Concat
	ref := fmt.Sprintf("%d", c.Ref)
	if c.Ref16 {
		ref = "16:" + ref
	}
	key := store.PartGroupKey(p.Identity(), m.Address+"|"+ref, 0, c.Total)
	return r.update(ctx, func(tx *store.Tx, em *emitter) error {
		now := r.now()
		if err := tx.ParkPart(p.ID, key, c.Seq, c.Total, now); err != nil {
			return err
		}
		parts, err := tx.ParkedParts(key)
		if err != nil {
			return err
		}
		set := pickSet(parts)
		if len(set) == c.Total {
			_, err := r.deliverSet(tx, em, set, c.Total, now)
			return err
		}
		if len(set) != 1 {
			return nil // still waiting for more parts
		}
		// The only part parked: maybe it belongs to a message delivered incomplete.
		msgID, old, err := tx.IncompleteGroupMessage(key, now.Add(-r.cfg.LatePartWindow))
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		oldSet := pickSet(old)
		if _, has := oldSet[c.Seq]; has {
			return nil // a new message reusing the reference: wait for its parts
		}
		oldSet[c.Seq] = decodedPart{pdu: p, msg: m}
		body, _, complete := assemble(oldSet, c.Total)
		status := "incomplete"
		if complete {
			status = "received"
		}
		if err := tx.UpdateInboundBody(msgID, body, status, c.Total, now); err != nil {
			return err
		}
		if err := tx.MarkPDUProcessed(p.ID, msgID, "", now); err != nil {
			return err
		}
		em.emit(event.Event{Type: event.MessageUpdated, Data: MessageEvent{MessageID: msgID, Direction: "in",
			Kind: "customer", Peer: r.normalizePeer(m.Address), Line: r.lineFor(p), Body: body, Status: status}})
		return nil
	})
}

// deliverSet turns a set of parts (complete, or given up on) into one message.
func (r *Router) deliverSet(tx *store.Tx, em *emitter, set map[int]decodedPart, total int, now time.Time) (int64, error) {
	body, enc, complete := assemble(set, total)
	status := "received"
	if !complete {
		status = "incomplete"
	}
	var first decodedPart
	for i := 1; i <= total; i++ {
		if p, ok := set[i]; ok {
			first = p
			break
		}
	}
	msgID, err := r.placeMessage(tx, em, inboundMsg{Peer: r.normalizePeer(first.msg.Address), Line: r.lineFor(first.pdu),
		Modem: first.pdu.Modem, Body: body, Encoding: enc, Segments: total, Status: status, SCTS: first.msg.SCTS})
	if err != nil {
		return 0, err
	}
	for _, p := range set {
		if err := tx.MarkPDUProcessed(p.pdu.ID, msgID, "", now); err != nil {
			return 0, err
		}
	}
	return msgID, nil
}

// deliverDueGroups delivers the sets whose reassembly timeout passed, with the missing
// parts marked. A part that arrives later completes the same message.
func (r *Router) deliverDueGroups(ctx context.Context) (int, error) {
	keys, err := r.db.DueGroups(ctx, r.now().Add(-r.cfg.ReassemblyTimeout), 100)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, key := range keys {
		err := r.update(ctx, func(tx *store.Tx, em *emitter) error {
			parts, err := tx.ParkedParts(key)
			if err != nil || len(parts) == 0 {
				return err
			}
			_, err = r.deliverSet(tx, em, pickSet(parts), parts[0].Total, r.now())
			return err
		})
		if err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// inboundMsg is a message ready to place in a thread.
type inboundMsg struct {
	Peer, Line, Modem, Body, Encoding, Status string
	Segments                                  int
	SCTS                                      time.Time
}

// placeMessage stores an inbound message and routes it: contact (a new lead for an
// unknown number), thread, opt-out keywords (T20), blocked contacts (T21), then the
// episode transition T1–T6 (with T19's job link) and its alerts.
func (r *Router) placeMessage(tx *store.Tx, em *emitter, in inboundMsg) (int64, error) {
	now := r.now()
	msgID, err := tx.InsertInboundMessage(store.InboundMessage{Peer: in.Peer, Line: in.Line, Modem: in.Modem,
		Body: in.Body, Encoding: in.Encoding, Segments: in.Segments, Status: in.Status, SentTime: in.SCTS, At: now})
	if err != nil {
		return 0, err
	}
	// Three-way messaging: the field worker of an active job (not a keyword).
	if kind, _ := r.matchKeyword(in.Body); kind == kwNone {
		if handled, err := r.routeWorker(tx, em, msgID, in); handled || err != nil {
			return msgID, err
		}
	}
	contact, err := tx.ContactByNumber(in.Peer)
	if errors.Is(err, store.ErrNotFound) {
		// T1: a number we have never seen becomes a lead named after it.
		contact, err = tx.CreateContact(in.Peer, store.ContactLead, []string{in.Peer}, now)
		if err != nil {
			return 0, err
		}
		em.emit(event.Event{Type: event.ContactCreated, Data: contact})
	} else if err != nil {
		return 0, err
	}
	line, err := tx.EnsureLine(in.Line)
	if err != nil {
		return 0, err
	}
	thread, _, err := tx.EnsureThread(contact.ID, line.Name, in.Peer, now)
	if err != nil {
		return 0, err
	}
	if err := tx.SetMessageThread(msgID, thread.ID); err != nil {
		return 0, err
	}
	if err := tx.TouchThread(thread.ID, msgID, in.Peer, now); err != nil {
		return 0, err
	}
	mev := MessageEvent{MessageID: msgID, ThreadID: thread.ID, ContactID: contact.ID, Direction: "in", Kind: "customer",
		Peer: in.Peer, Line: line.Name, Body: in.Body, Status: in.Status}

	live, err := tx.LiveConversation(thread.ID)
	hasLive := err == nil
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return 0, err
	}

	// T20: STOP / START. Recorded in the thread; no episode, no alert.
	if kind, lang := r.matchKeyword(in.Body); kind != kwNone {
		if err := r.applyKeyword(tx, em, contact, kind, lang, line.Name, in.Peer, msgID); err != nil {
			return 0, err
		}
		ev := event.Event{Type: event.MessageReceived, ThreadID: thread.ID, Data: mev}
		if hasLive {
			if err := tx.LogActivity(live.ID, 0, "opted_"+kind, "keyword, language "+lang, now); err != nil {
				return 0, err
			}
			mev.ConversationID = live.ID
			ev = convEvent(event.MessageReceived, live, 0, mev)
		}
		em.emit(ev)
		return msgID, nil
	}

	// T21: a blocked contact's messages are stored, in a resolved muted episode, and
	// alert nobody.
	if contact.Blocked {
		conv := live
		if !hasLive {
			conv, err = tx.CreateConversation(store.NewConversation{ThreadID: thread.ID, ContactID: contact.ID,
				Line: line.Name, QueueID: line.QueueID, Status: store.StatusResolved, Muted: true, Now: now})
			if err != nil {
				return 0, err
			}
		}
		if err := tx.NoteInbound(conv.ID, msgID, now); err != nil {
			return 0, err
		}
		if err := tx.SetNeedsReply(conv.ID, false, now); err != nil {
			return 0, err
		}
		mev.ConversationID = conv.ID
		em.emit(convEvent(event.MessageReceived, conv, 0, mev))
		return msgID, nil
	}

	var conv store.Conversation
	note := "new message"
	switch {
	case !hasLive:
		conv, err = r.newEpisode(tx, em, contact, thread, line, now)
		note = "new conversation"
	case live.Status == store.StatusResolved && now.Before(live.ResolvedAt.Add(r.Settings().GraceWindow)):
		conv, err = r.reopenByCustomer(tx, em, live, now) // T5
		note = "reopened: customer replied"
	case live.Status == store.StatusResolved:
		// T15 then T6: the grace window is over; the old episode closes and a new one starts.
		if err = r.closeEpisode(tx, em, live, 0, "grace window ended", now); err == nil {
			conv, err = r.newEpisode(tx, em, contact, thread, line, now)
			note = "new conversation"
		}
	case live.Status == store.StatusSnoozed:
		conv, err = r.wakeEpisode(tx, em, live, "customer replied", now) // T4
		note = "snooze ended: customer replied"
	default:
		conv = live // T2 (NEW) or T3 (OPEN)
	}
	if err != nil {
		return 0, err
	}
	// T19: a reply to a business alert joins the job.
	if thread.JobRef != "" {
		if conv.JobRef == "" {
			if err := tx.SetJobRef(conv.ID, thread.JobRef); err != nil {
				return 0, err
			}
		}
		if err := tx.SetThreadJob(thread.ID, "", 0); err != nil {
			return 0, err
		}
		conv.JobRef = thread.JobRef
	}
	// The job's conversation: dispatcher, relay to the field worker, webhook.
	job, linked, err := r.linkCustomerReply(tx, em, conv, contact, thread, msgID, in)
	if err != nil {
		return 0, err
	}
	if err := tx.NoteInbound(conv.ID, msgID, now); err != nil {
		return 0, err
	}
	if conv, err = tx.Conversation(conv.ID); err != nil {
		return 0, err
	}
	if err := r.alertFor(tx, em, conv, note, msgID, now); err != nil {
		return 0, err
	}
	if linked && conv.OwnerID == 0 {
		if err := r.alertDispatcher(tx, em, conv, job, "customer replied (job #"+job.Ref+")", msgID, now); err != nil {
			return 0, err
		}
	}
	mev.ConversationID = conv.ID
	em.emit(convEvent(event.MessageReceived, conv, 0, mev))
	return msgID, nil
}

// newEpisode starts an episode for an inbound message (T1, T6, T19): NEW in the
// line's queue, or OPEN for the job's dispatcher when the thread carries a job and
// "job owner owns replies" is on.
func (r *Router) newEpisode(tx *store.Tx, em *emitter, contact store.Contact, thread store.Thread, line store.Line, now time.Time) (store.Conversation, error) {
	prev, err := tx.LatestConversation(thread.ID)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return store.Conversation{}, err
	}
	nc := store.NewConversation{ThreadID: thread.ID, ContactID: contact.ID, Line: line.Name, QueueID: line.QueueID,
		Status: store.StatusNew, PreviousID: prev.ID, JobRef: thread.JobRef, Now: now}
	if thread.JobRef != "" && r.Settings().JobOwnerOwnsReplies && thread.JobOwnerID != 0 {
		if ag, err := tx.Agent(thread.JobOwnerID); err == nil && !ag.Disabled && ag.Role != RoleViewer {
			nc.Status, nc.OwnerID = store.StatusOpen, ag.ID
		}
	}
	conv, err := tx.CreateConversation(nc)
	if err != nil {
		return conv, err
	}
	detail := "inbound message"
	if prev.ID != 0 {
		detail = fmt.Sprintf("inbound message; follows conversation %d", prev.ID)
	}
	if err := tx.LogActivity(conv.ID, 0, "created", detail, now); err != nil {
		return conv, err
	}
	em.emit(convEvent(event.ConversationCreated, conv, 0, nil))
	if nc.OwnerID != 0 {
		if err := tx.LogActivity(conv.ID, 0, "assigned", "job owner of "+thread.JobRef, now); err != nil {
			return conv, err
		}
		em.emit(convEvent(event.ConversationAssigned, conv, 0, nil))
	}
	return conv, nil
}

// reopenByCustomer is T5: back to the last owner when they are ready (and the
// setting is on), otherwise to the queue.
func (r *Router) reopenByCustomer(tx *store.Tx, em *emitter, c store.Conversation, now time.Time) (store.Conversation, error) {
	owner := int64(0)
	if !r.Settings().NoReturnToLastOwner && c.LastOwnerID != 0 {
		if ag, err := tx.Agent(c.LastOwnerID); err == nil && !ag.Disabled && ag.Availability == store.AvailabilityReady {
			owner = ag.ID
		}
	}
	ok, err := tx.Reopen(c.ID, owner, now)
	if err != nil {
		return c, err
	}
	if !ok {
		return c, fmt.Errorf("router: reopen conversation %d: %w", c.ID, store.ErrStale)
	}
	detail := "customer replied within the grace window"
	if owner != 0 {
		detail += "; back to the last owner"
	}
	if err := tx.LogActivity(c.ID, 0, "reopened", detail, now); err != nil {
		return c, err
	}
	c, err = tx.Conversation(c.ID)
	if err != nil {
		return c, err
	}
	em.emit(convEvent(event.ConversationReopened, c, 0, nil))
	return c, nil
}

// wakeEpisode ends a snooze (T4, T13).
func (r *Router) wakeEpisode(tx *store.Tx, em *emitter, c store.Conversation, why string, now time.Time) (store.Conversation, error) {
	ok, err := tx.Wake(c.ID, now)
	if err != nil {
		return c, err
	}
	if !ok {
		return c, fmt.Errorf("router: wake conversation %d: %w", c.ID, store.ErrStale)
	}
	if err := tx.LogActivity(c.ID, 0, "woken", why, now); err != nil {
		return c, err
	}
	c, err = tx.Conversation(c.ID)
	if err != nil {
		return c, err
	}
	em.emit(convEvent(event.ConversationWoken, c, 0, nil))
	return c, nil
}

// closeEpisode makes an episode CLOSED (T15, or by hand) and ends its alerts.
func (r *Router) closeEpisode(tx *store.Tx, em *emitter, c store.Conversation, actor int64, why string, now time.Time) error {
	ok, err := tx.Close(c.ID, c.Status, now)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("router: close conversation %d: %w", c.ID, store.ErrStale)
	}
	if err := tx.LogActivity(c.ID, actor, "closed", why, now); err != nil {
		return err
	}
	if err := r.supersede(tx, em, c, nil, 0, "closed", now); err != nil {
		return err
	}
	c, err = tx.Conversation(c.ID)
	if err != nil {
		return err
	}
	em.emit(convEvent(event.ConversationClosed, c, actor, nil))
	return nil
}
