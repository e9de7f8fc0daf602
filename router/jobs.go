package router

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/smsgw/smsgw/event"
	"github.com/smsgw/smsgw/store"
)

// Three-way messaging (the dispatch use case; docs/alerts.md):
//
//   - An SMS from a number that is the field worker of an active job is a worker
//     message: it is recorded (kind relay) in the thread of the job's customer and
//     relayed to the customer prefixed with the worker's name. A worker with several
//     active jobs starts the message with #ref; a missing or unknown reference gets a
//     clear SMS error back and is relayed nowhere.
//   - A customer message that belongs to an active job (the thread carried the job
//     of a business alert, the episode is tagged with it, or the number is the job's
//     customer) joins the job's conversation, alerts the job's dispatcher and
//     publishes job.customer_response; when the job has a field worker it is relayed
//     to the worker's phone prefixed with the customer's name and the job reference.
//   - Relays are written in the routing transaction (store.JobRelay) and handed to the
//     outbox after it commits, with idempotency key "relay:<id>", so nothing is lost
//     or doubled by a crash in between. A relay whose job ended is not sent.

// JobResponse is the Data of job.customer_response: "customer SMS response received".
type JobResponse struct {
	JobID          int64  `json:"job_id"`
	JobRef         string `json:"job_ref"`
	DispatcherID   int64  `json:"dispatcher_id,omitempty"`
	ConversationID int64  `json:"conversation_id"`
	ThreadID       int64  `json:"thread_id"`
	MessageID      int64  `json:"message_id"`
	From           string `json:"from"`
	CustomerName   string `json:"customer_name"`
	Line           string `json:"line"`
	Body           string `json:"body"`
	RelayedTo      string `json:"relayed_to,omitempty"` // the field worker's phone
}

// WorkerMessage is the Data of job.worker_message.
type WorkerMessage struct {
	JobID          int64  `json:"job_id"`
	JobRef         string `json:"job_ref"`
	ConversationID int64  `json:"conversation_id,omitempty"`
	ThreadID       int64  `json:"thread_id"`
	MessageID      int64  `json:"message_id"`
	From           string `json:"from"`
	Worker         string `json:"worker"`
	Body           string `json:"body"`
	RelayedTo      string `json:"relayed_to"`
}

// Relay targets of JobMessage.
const (
	TargetCustomer = "customer"
	TargetWorker   = "worker"
	TargetBoth     = "both"
)

// maxRelayFailures bounds how often one owed relay is retried in a process before it
// is marked failed.
const maxRelayFailures = 5

// splitRef takes a leading "#ref" (followed by a space, ':' or ',') off a worker's
// message.
func splitRef(body string) (ref, rest string, ok bool) {
	s := strings.TrimSpace(body)
	if !strings.HasPrefix(s, "#") {
		return "", s, false
	}
	end := strings.IndexAny(s, " \t\r\n:,")
	if end < 0 {
		end = len(s)
	}
	ref = s[1:end]
	rest = strings.TrimLeft(s[end:], " \t\r\n:,")
	return ref, strings.TrimSpace(rest), true
}

func jobRefs(jobs []store.DispatchJob) string {
	var b strings.Builder
	for i, j := range jobs {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("#" + j.Ref)
	}
	return b.String()
}

// workerPrefix is how a worker's message is introduced to the customer.
func workerPrefix(j store.DispatchJob) string {
	if j.WorkerName != "" {
		return j.WorkerName + ": "
	}
	return "Technician: "
}

// customerLabel names the customer in relays to the worker.
func customerLabel(j store.DispatchJob, c store.Contact, number string) string {
	switch {
	case j.CustomerName != "":
		return j.CustomerName
	case c.Name != "" && c.Name != number:
		return c.Name
	}
	return number
}

// routeWorker handles an inbound message from the field worker of active jobs. It
// reports false when the sender is no active job's worker.
func (r *Router) routeWorker(tx *store.Tx, em *emitter, msgID int64, in inboundMsg) (bool, error) {
	jobs, err := tx.ActiveJobsOfWorker(in.Peer)
	if err != nil || len(jobs) == 0 {
		return false, err
	}
	now := r.now()
	if err := tx.SetMessageKind(msgID, "relay"); err != nil {
		return true, err
	}
	ref, text, hasRef := splitRef(in.Body)
	var job store.DispatchJob
	var problem string
	switch {
	case hasRef:
		found := false
		for _, j := range jobs {
			if strings.EqualFold(j.Ref, ref) {
				job, found = j, true
				break
			}
		}
		if !found {
			problem = fmt.Sprintf("Job #%s is not one of your active jobs (%s). Start your message with the job, e.g. #%s on my way",
				ref, jobRefs(jobs), jobs[0].Ref)
		}
	case len(jobs) == 1:
		job = jobs[0]
	default:
		problem = fmt.Sprintf("You have %d active jobs (%s). Start your message with the job, e.g. #%s on my way",
			len(jobs), jobRefs(jobs), jobs[0].Ref)
	}
	if problem == "" && text == "" {
		problem = fmt.Sprintf("Your message for job #%s was empty; nothing was sent.", job.Ref)
	}
	if problem != "" {
		// Not relayed: tell the worker, on the line they wrote to.
		_, err := tx.AddJobRelay(store.JobRelay{SourceID: msgID, To: in.Peer, Line: in.Line, Body: problem}, now)
		if err == nil {
			r.log.Info("worker message not relayed", "from", in.Peer, "reason", problem)
		}
		return true, err
	}
	party := job.PartyNumber()
	if party == "" {
		_, err := tx.AddJobRelay(store.JobRelay{SourceID: msgID, To: in.Peer, Line: in.Line,
			Body: fmt.Sprintf("Job #%s has no customer number; nothing was sent.", job.Ref)}, now)
		return true, err
	}
	line := job.Line
	if line == "" {
		line = in.Line
	}
	contact, thread, lineRow, err := r.jobThread(tx, em, job, party, line, now)
	if err != nil {
		return true, err
	}
	if err := tx.SetMessageThread(msgID, thread.ID); err != nil {
		return true, err
	}
	if err := tx.TouchThread(thread.ID, msgID, "", now); err != nil {
		return true, err
	}
	conv, err := r.jobConversation(tx, em, contact, thread, lineRow, job, now)
	if err != nil {
		return true, err
	}
	if _, err := tx.AddJobRelay(store.JobRelay{JobID: job.ID, SourceID: msgID, To: party, Line: thread.Line,
		ThreadID: thread.ID, Body: workerPrefix(job) + text}, now); err != nil {
		return true, err
	}
	if err := r.alertDispatcher(tx, em, conv, job, "field worker wrote (job #"+job.Ref+")", msgID, now); err != nil {
		return true, err
	}
	mev := MessageEvent{MessageID: msgID, ThreadID: thread.ID, ConversationID: conv.ID, ContactID: contact.ID,
		Direction: "in", Kind: "relay", Peer: in.Peer, Line: in.Line, Body: in.Body, Status: in.Status}
	em.emit(convEvent(event.MessageReceived, conv, 0, mev))
	em.emit(convEvent(event.JobWorkerMessage, conv, 0, WorkerMessage{JobID: job.ID, JobRef: job.Ref,
		ConversationID: conv.ID, ThreadID: thread.ID, MessageID: msgID, From: in.Peer, Worker: job.WorkerName,
		Body: text, RelayedTo: party}))
	return true, nil
}

// jobThread finds (or creates) the customer's contact and thread on line.
func (r *Router) jobThread(tx *store.Tx, em *emitter, job store.DispatchJob, party, line string, now time.Time) (store.Contact, store.Thread, store.Line, error) {
	contact, err := tx.ContactByNumber(party)
	if errors.Is(err, store.ErrNotFound) {
		name := job.CustomerName
		if name == "" || party != job.CustomerNumber {
			name = party
		}
		if contact, err = tx.CreateContact(name, store.ContactCustomer, []string{party}, now); err != nil {
			return contact, store.Thread{}, store.Line{}, err
		}
		em.emit(event.Event{Type: event.ContactCreated, Data: contact})
	} else if err != nil {
		return contact, store.Thread{}, store.Line{}, err
	}
	lineRow, err := tx.EnsureLine(line)
	if err != nil {
		return contact, store.Thread{}, lineRow, err
	}
	thread, _, err := tx.EnsureThread(contact.ID, lineRow.Name, party, now)
	return contact, thread, lineRow, err
}

// jobConversation returns the thread's live episode, tagged with the job, or starts
// one for it (owned by the job's dispatcher when "job owner owns replies" is on).
func (r *Router) jobConversation(tx *store.Tx, em *emitter, contact store.Contact, thread store.Thread, line store.Line, job store.DispatchJob, now time.Time) (store.Conversation, error) {
	conv, err := tx.LiveConversation(thread.ID)
	if errors.Is(err, store.ErrNotFound) {
		th := thread
		th.JobRef, th.JobOwnerID = job.Ref, job.DispatcherID
		return r.newEpisode(tx, em, contact, th, line, now)
	}
	if err != nil {
		return conv, err
	}
	if conv.JobRef == "" {
		if err := tx.SetJobRef(conv.ID, job.Ref); err != nil {
			return conv, err
		}
		conv.JobRef = job.Ref
	}
	return conv, nil
}

// alertDispatcher makes the job's dispatcher follow the conversation and alerts them,
// unless they own it (the owner is alerted by the normal path).
func (r *Router) alertDispatcher(tx *store.Tx, em *emitter, c store.Conversation, job store.DispatchJob, note string, msgID int64, now time.Time) error {
	if job.DispatcherID == 0 || c.Muted {
		return nil
	}
	ag, err := tx.Agent(job.DispatcherID)
	if err != nil || ag.Disabled {
		return nil // a dispatcher who left: the queue has it
	}
	if err := tx.AddParticipant(c.ID, job.DispatcherID, "job", now); err != nil {
		return err
	}
	if c.OwnerID == job.DispatcherID {
		return nil
	}
	return r.raise(tx, em, job.DispatcherID, c, store.AlertOwner, note, msgID, now)
}

// linkCustomerReply runs after a customer message joined conversation conv: when the
// episode or the number belongs to an active job, the episode is tagged with it, the
// dispatcher follows and is alerted (when the normal path does not alert them), the
// message is relayed to the field worker, and job.customer_response is published.
func (r *Router) linkCustomerReply(tx *store.Tx, em *emitter, conv store.Conversation, contact store.Contact, thread store.Thread, msgID int64, in inboundMsg) (job store.DispatchJob, linked bool, err error) {
	if conv.JobRef != "" {
		job, err = tx.JobByRef(conv.JobRef)
	} else {
		job, err = tx.ActiveJobOfCustomer(in.Peer)
	}
	if errors.Is(err, store.ErrNotFound) {
		return job, false, nil
	}
	if err != nil {
		return job, false, err
	}
	if !job.Active {
		return job, false, nil
	}
	now := r.now()
	if conv.JobRef == "" {
		if err := tx.SetJobRef(conv.ID, job.Ref); err != nil {
			return job, false, err
		}
		if err := tx.LogActivity(conv.ID, 0, "job", "linked to job #"+job.Ref, now); err != nil {
			return job, false, err
		}
		conv.JobRef = job.Ref
	}
	if job.DispatcherID != 0 {
		if err := tx.AddParticipant(conv.ID, job.DispatcherID, "job", now); err != nil {
			return job, false, err
		}
	}
	resp := JobResponse{JobID: job.ID, JobRef: job.Ref, DispatcherID: job.DispatcherID, ConversationID: conv.ID,
		ThreadID: thread.ID, MessageID: msgID, From: in.Peer, CustomerName: customerLabel(job, contact, in.Peer),
		Line: thread.Line, Body: in.Body}
	if job.WorkerPhone != "" && job.WorkerPhone != in.Peer {
		if _, err := tx.AddJobRelay(store.JobRelay{JobID: job.ID, SourceID: msgID, To: job.WorkerPhone, Line: thread.Line,
			ThreadID: thread.ID, Body: fmt.Sprintf("%s #%s: %s", resp.CustomerName, job.Ref, in.Body)}, now); err != nil {
			return job, false, err
		}
		resp.RelayedTo = job.WorkerPhone
	}
	em.emit(convEvent(event.JobCustomerResponse, conv, 0, resp))
	return job, true, nil
}

// SendPendingRelays hands owed relays to the outbox; a relay whose job ended is
// cancelled instead. ProcessInbound calls it after routing.
func (r *Router) SendPendingRelays(ctx context.Context) error {
	list, active, err := r.db.PendingJobRelays(ctx, 100)
	if err != nil {
		return err
	}
	for i, rl := range list {
		if !active[i] {
			if err := r.db.FinishJobRelay(ctx, rl.ID, "cancelled", 0, "the job ended before the relay was sent", r.now()); err != nil {
				return err
			}
			continue
		}
		if r.out == nil {
			return errors.New("router: no outbox to send relays")
		}
		id, err := r.out.Send(ctx, Outgoing{To: rl.To, Line: rl.Line, Body: rl.Body, Kind: "relay", ThreadID: rl.ThreadID,
			IdempotencyKey: fmt.Sprintf("relay:%d", rl.ID)})
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			key := -rl.ID // negative keys: relays (PDU ids are positive)
			r.mu.Lock()
			r.failures[key]++
			n := r.failures[key]
			r.mu.Unlock()
			r.log.Warn("relay not queued", "relay", rl.ID, "to", rl.To, "attempt", n, "error", err)
			if n >= maxRelayFailures {
				if err := r.db.FinishJobRelay(ctx, rl.ID, "failed", 0, err.Error(), r.now()); err != nil {
					return err
				}
			}
			continue
		}
		if err := r.db.FinishJobRelay(ctx, rl.ID, "sent", id, "", r.now()); err != nil {
			return err
		}
		r.bus.Publish(event.Event{Type: event.MessageSent, ThreadID: rl.ThreadID, Data: MessageEvent{MessageID: id,
			ThreadID: rl.ThreadID, Direction: "out", Kind: "relay", Peer: rl.To, Line: rl.Line, Body: rl.Body, Status: "queued"}})
	}
	return nil
}

// CanChat reports whether the actor may see and answer customer messages of jobs
// (the "chat" permission): admins, supervisors, dispatchers and the system; never
// viewers or disabled users.
func (r *Router) CanChat(ctx context.Context, a Actor) bool {
	w, err := r.resolveRead(ctx, a)
	return err == nil && w.Role != RoleViewer
}

// jobAccess loads a job with its customer conversation (zero when there is none yet)
// and checks the actor may chat in it: managers, the job's dispatcher, or whoever may
// see the conversation; never viewers.
func (r *Router) jobAccess(ctx context.Context, a Actor, ref string) (who, store.DispatchJob, store.Conversation, store.Thread, error) {
	var conv store.Conversation
	var thread store.Thread
	w, err := r.resolveRead(ctx, a)
	if err != nil {
		return w, store.DispatchJob{}, conv, thread, err
	}
	if w.Role == RoleViewer {
		return w, store.DispatchJob{}, conv, thread, forbidden("only users allowed to chat see and answer customer messages")
	}
	job, err := r.db.JobByRef(ctx, ref)
	if err != nil {
		return w, job, conv, thread, notFound(err, "job "+ref)
	}
	if party := job.PartyNumber(); party != "" {
		if c, err := r.db.ContactByNumber(ctx, party); err == nil {
			ths, err := r.db.ThreadsOfContact(ctx, c.ID)
			if err != nil {
				return w, job, conv, thread, err
			}
			for _, th := range ths {
				eps, err := r.db.ConversationsOfThread(ctx, th.ID)
				if err != nil {
					return w, job, conv, thread, err
				}
				for _, e := range eps {
					if e.JobRef == job.Ref && e.ID > conv.ID {
						conv, thread = e, th
					}
				}
				if thread.ID == 0 && (job.Line == "" || th.Line == job.Line) {
					thread = th
				}
			}
		}
	}
	if w.manager() || (job.DispatcherID != 0 && job.DispatcherID == w.UserID) {
		return w, job, conv, thread, nil
	}
	if conv.ID != 0 && r.Settings().Permissions.canSee(w, conv) {
		return w, job, conv, thread, nil
	}
	return w, job, conv, thread, fmt.Errorf("%w: job %s", ErrNotFound, ref)
}

// JobThread returns the messages of a job's customer thread, newest first: the
// customer's, the agents', the automated alerts, and the field worker's relayed
// messages in both directions — all three parties in one thread.
func (r *Router) JobThread(ctx context.Context, a Actor, ref string, before int64, limit int) (store.Thread, []store.ThreadMessage, error) {
	_, _, _, thread, err := r.jobAccess(ctx, a, ref)
	if err != nil || thread.ID == 0 {
		return thread, nil, err
	}
	msgs, err := r.db.ThreadMessages(ctx, thread.ID, before, limit)
	return thread, msgs, err
}

// JobMessage lets a dispatcher write in a job's three-way conversation: to the
// customer (an agent reply in the job's conversation, or a new conversation on the
// job's line), to the field worker (by SMS, recorded in the customer's thread), or to
// both. It returns the message ids queued (customer first).
func (r *Router) JobMessage(ctx context.Context, a Actor, ref, target, body string) ([]int64, error) {
	body = strings.TrimSpace(body)
	if body == "" || !utf8.ValidString(body) || utf8.RuneCountInString(body) > MaxBody {
		return nil, fmt.Errorf("%w: message must be 1-%d characters of text", ErrInvalid, MaxBody)
	}
	if target == "" {
		target = TargetCustomer
	}
	if target != TargetCustomer && target != TargetWorker && target != TargetBoth {
		return nil, fmt.Errorf("%w: target must be customer, worker or both", ErrInvalid)
	}
	w, job, conv, thread, err := r.jobAccess(ctx, a, ref)
	if err != nil {
		return nil, err
	}
	if !job.Active {
		return nil, fmt.Errorf("%w: job %s has ended", ErrInvalidTransition, ref)
	}
	if target != TargetCustomer && job.WorkerPhone == "" {
		return nil, fmt.Errorf("%w: job %s has no field worker", ErrInvalid, ref)
	}
	var ids []int64
	if target != TargetWorker {
		switch {
		case conv.ID != 0 && conv.Status != store.StatusClosed:
			id, err := r.ReplyWith(ctx, a, conv.ID, ReplyRequest{Body: body})
			if err != nil {
				return nil, err
			}
			ids = append(ids, id)
		default:
			line := job.Line
			if line == "" {
				line = thread.Line
			}
			if job.PartyNumber() == "" || line == "" {
				return nil, fmt.Errorf("%w: job %s has no customer number or line to write on", ErrInvalid, ref)
			}
			c, id, err := r.StartConversation(ctx, a, job.PartyNumber(), line, body)
			if err != nil {
				return nil, err
			}
			if err := r.update(ctx, func(tx *store.Tx, em *emitter) error { return tx.SetJobRef(c.ID, job.Ref) }); err != nil {
				return nil, err
			}
			conv = c
			thread.ID, thread.Line = c.ThreadID, c.Line
			ids = append(ids, id)
		}
	}
	if target != TargetCustomer {
		line := thread.Line
		if line == "" {
			line = job.Line
		}
		prefix := "Dispatch: "
		if n := w.name(); n != "" && n != "system" {
			prefix = "Dispatch (" + n + "): "
		}
		var relayID int64
		err := r.update(ctx, func(tx *store.Tx, em *emitter) error {
			var err error
			relayID, err = tx.AddJobRelay(store.JobRelay{JobID: job.ID, To: job.WorkerPhone, Line: line, ThreadID: thread.ID,
				Body: prefix + body}, r.now())
			return err
		})
		if err != nil {
			return ids, err
		}
		if err := r.SendPendingRelays(ctx); err != nil {
			return ids, err
		}
		if id, err := r.relayMessage(ctx, relayID); err == nil && id != 0 {
			ids = append(ids, id)
		}
	}
	return ids, nil
}

// relayMessage returns the message id a relay was sent as (0 while pending).
func (r *Router) relayMessage(ctx context.Context, relayID int64) (int64, error) {
	return r.db.JobRelayMessage(ctx, relayID)
}
