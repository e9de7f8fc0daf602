package smsgate

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/gorilla/mux"
	"github.com/nyaruka/phonenumbers"

	"github.com/smsgw/smsgw/queue"
	"github.com/smsgw/smsgw/sms"
	"github.com/smsgw/smsgw/store"
)

// newID returns a 21-character nanoid (URL-safe alphabet, 126 bits), the shape of
// upstream ids.
func newID() string {
	const alphabet = "_-0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	b := make([]byte, 21)
	if _, err := rand.Read(b); err != nil {
		panic("smsgate: crypto/rand failed: " + err.Error())
	}
	for i := range b {
		b[i] = alphabet[b[i]&63]
	}
	return string(b)
}

// sendRequest is the upstream Message body. Unknown fields are ignored.
type sendRequest struct {
	ID                 string          `json:"id"`
	DeviceID           string          `json:"deviceId"`
	Message            string          `json:"message"`
	TextMessage        *textMessage    `json:"textMessage"`
	DataMessage        json.RawMessage `json:"dataMessage"`
	MMSMessage         json.RawMessage `json:"mmsMessage"`
	PhoneNumbers       []string        `json:"phoneNumbers"`
	IsEncrypted        bool            `json:"isEncrypted"`
	SimNumber          *int            `json:"simNumber"`
	WithDeliveryReport *bool           `json:"withDeliveryReport"`
	Priority           *int            `json:"priority"`
	TTL                *int64          `json:"ttl"`
	ValidUntil         *time.Time      `json:"validUntil"`
	ScheduleAt         *time.Time      `json:"scheduleAt"`
}

type textMessage struct {
	Text string `json:"text"`
}

type recipientState struct {
	PhoneNumber string  `json:"phoneNumber"`
	State       string  `json:"state"`
	Error       *string `json:"error,omitempty"`
}

// messageState is the upstream MessageState.
type messageState struct {
	ID          string               `json:"id"`
	DeviceID    string               `json:"deviceId"`
	State       string               `json:"state"`
	IsHashed    bool                 `json:"isHashed"`
	IsEncrypted bool                 `json:"isEncrypted"`
	Recipients  []recipientState     `json:"recipients"`
	States      map[string]time.Time `json:"states"`
	TextMessage *textMessage         `json:"textMessage,omitempty"`
	CreatedAt   time.Time            `json:"createdAt"`
}

func nonEmpty(b json.RawMessage) bool {
	s := strings.TrimSpace(string(b))
	return s != "" && s != "null"
}

func validID(id string, maxLen int) bool {
	if id == "" || len(id) > maxLen || !utf8.ValidString(id) {
		return false
	}
	for _, c := range id {
		if unicode.IsControl(c) || unicode.IsSpace(c) || c == '/' || c == '?' || c == '#' || c == '%' {
			return false
		}
	}
	return true
}

// checkPhone validates a number as upstream does (a valid mobile or fixed-or-mobile
// number, by the configured region) and returns it in E.164.
func (a *API) checkPhone(raw string) (string, error) {
	n, err := sms.NormalizeNumber(raw, a.d.Region)
	if err != nil {
		var ne *sms.NumberError
		if errors.As(err, &ne) {
			return "", errors.New(ne.Reason)
		}
		return "", err
	}
	if !strings.HasPrefix(n, "+") {
		return "", errors.New("not an international phone number")
	}
	pn, err := phonenumbers.Parse(n, "")
	if err != nil || !phonenumbers.IsValidNumber(pn) {
		return "", errors.New("invalid phone number")
	}
	switch phonenumbers.GetNumberType(pn) {
	case phonenumbers.MOBILE, phonenumbers.FIXED_LINE_OR_MOBILE:
		return n, nil
	}
	return "", errors.New("not a mobile phone number")
}

// send is POST /messages: validate as upstream, queue one outbox message per recipient
// (idempotency key "smsgate:<id>:<n>"), and answer 202 with the state and Location.
func (a *API) send(w http.ResponseWriter, r *http.Request, p Principal) error {
	ctx := r.Context()
	skip, err := queryBool(r, "skipPhoneValidation")
	if err != nil {
		return err
	}
	activeWithin, err := queryInt(r, "deviceActiveWithin", 0, 0, 1<<20)
	if err != nil {
		return err
	}
	var req sendRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	now := a.d.Now()
	switch {
	case req.IsEncrypted:
		return errf(http.StatusNotImplemented, "not implemented: end-to-end encrypted messages (isEncrypted)")
	case nonEmpty(req.MMSMessage):
		return errf(http.StatusNotImplemented, "not implemented: MMS")
	case nonEmpty(req.DataMessage):
		return errf(http.StatusNotImplemented, "not implemented: data messages (dataMessage); send textMessage")
	}
	text := req.Message
	if req.TextMessage != nil {
		if req.Message != "" {
			return badRequest("must specify exactly one of: textMessage, dataMessage or message")
		}
		text = req.TextMessage.Text
	}
	switch {
	case text == "":
		return badRequest("must specify exactly one of: textMessage, dataMessage or message (with a non-empty text)")
	case utf8.RuneCountInString(text) > 65535:
		return badRequest("text must be at most 65535 characters")
	case len(req.PhoneNumbers) == 0 || len(req.PhoneNumbers) > 100:
		return badRequest("phoneNumbers must list 1 to 100 numbers")
	case req.ID != "" && !validID(req.ID, 36):
		return badRequest("id must be 1-36 characters without spaces, control characters, '/', '?', '#' or '%'")
	case req.DeviceID != "" && len(req.DeviceID) > 21:
		return badRequest("deviceId must be at most 21 characters")
	case req.SimNumber != nil && (*req.SimNumber < 1 || *req.SimNumber > 3):
		return badRequest("simNumber must be 1, 2 or 3")
	case req.SimNumber != nil && *req.SimNumber != 1:
		return badRequest("simNumber: each device of this appliance is one modem with one SIM; use simNumber 1 or leave it out")
	case req.Priority != nil && (*req.Priority < -128 || *req.Priority > 127):
		return badRequest("priority must be from -128 to 127")
	case req.TTL != nil && req.ValidUntil != nil:
		return badRequest("ttl and validUntil are mutually exclusive")
	case req.TTL != nil && *req.TTL < 5:
		return badRequest("ttl must be at least 5 seconds")
	}
	var expires, sendAt time.Time
	if req.TTL != nil {
		if *req.TTL > 10*365*24*3600 {
			return badRequest("ttl is too long")
		}
		expires = now.Add(time.Duration(*req.TTL) * time.Second)
	}
	if req.ValidUntil != nil {
		if !req.ValidUntil.After(now) {
			return badRequest("validUntil must be in the future")
		}
		expires = *req.ValidUntil
	}
	if req.ScheduleAt != nil {
		if !req.ScheduleAt.After(now) {
			return badRequest("scheduleAt must be in the future")
		}
		if !expires.IsZero() && req.ScheduleAt.After(expires) {
			return badRequest("scheduleAt must not be after validUntil")
		}
		sendAt = *req.ScheduleAt
	}
	seen := map[string]int{}
	numbers := make([]string, len(req.PhoneNumbers))
	for i, raw := range req.PhoneNumbers {
		if raw == "" || len(raw) > 128 {
			return badRequest(fmt.Sprintf("failed to use phone in row %d: must be 1-128 characters", i+1))
		}
		n := raw
		if !skip {
			if n, err = a.checkPhone(raw); err != nil {
				return badRequest(fmt.Sprintf("failed to use phone in row %d: %v", i+1, err))
			}
		} else if norm, err := sms.NormalizeNumber(raw, a.d.Region); err == nil {
			n = norm
		}
		if j, dup := seen[n]; dup {
			return badRequest(fmt.Sprintf("failed to use phone in row %d: duplicate of row %d", i+1, j+1))
		}
		seen[n] = i
		numbers[i] = n
	}
	devices, err := a.devices(ctx)
	if err != nil {
		return err
	}
	var dev *device
	if req.DeviceID != "" {
		for i := range devices {
			if devices[i].ID == req.DeviceID {
				dev = &devices[i]
			}
		}
		if dev == nil {
			return badRequest("unknown deviceId " + strconv.Quote(req.DeviceID))
		}
		if activeWithin > 0 && !dev.activeWithin(now, activeWithin) {
			return badRequest("the device was not active within " + strconv.Itoa(activeWithin) + " hours")
		}
	} else if activeWithin > 0 {
		active := 0
		for _, d := range devices {
			if d.activeWithin(now, activeWithin) {
				active++
			}
		}
		if active == 0 {
			return badRequest("no device was active within " + strconv.Itoa(activeWithin) + " hours")
		}
	}
	id := req.ID
	if id == "" {
		id = newID()
	}
	if _, err := a.d.DB.SMSGateMessageByID(ctx, id); err == nil {
		return errf(http.StatusConflict, "message with the same ID already exists")
	} else if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	withReport := req.WithDeliveryReport == nil || *req.WithDeliveryReport
	priority := 0
	if req.Priority != nil {
		priority = *req.Priority
	}
	reqs := make([]queue.Request, len(numbers))
	for i, n := range numbers {
		reqs[i] = queue.Request{To: n, Body: text, Kind: queue.KindAPI, Priority: priority, SendAt: sendAt, ExpiresAt: expires,
			NoReport: !withReport, IdempotencyKey: "smsgate:" + id + ":" + strconv.Itoa(i), ExternalID: id, AuthorID: p.UserID}
		if dev != nil {
			// deviceId names one modem: send through it, as the phone itself would.
			reqs[i].Line, reqs[i].Modem = dev.line, dev.modem
		}
	}
	msgs, _, err := a.d.Queue.EnqueueBatch(ctx, reqs)
	var fe *queue.FieldError
	if errors.As(err, &fe) {
		if fe.Field == "to" {
			return badRequest(fmt.Sprintf("failed to use phone in row %d: %s", fe.Index+1, fe.Msg))
		}
		field := fe.Field
		switch field {
		case "body":
			field = "textMessage.text"
		case "expires_at":
			field = "validUntil"
		}
		return badRequest(field + ": " + fe.Msg)
	}
	if err != nil {
		return err
	}
	// Keys known already (dups) mean a repeat of a request whose answer was lost, or a
	// concurrent twin: inserting the SMSGate message below decides which (409).
	m := store.SMSGateMessage{ID: id, Text: text, WithReport: withReport, State: StatePending,
		States: map[string]time.Time{StatePending: now.UTC()}, CreatedAt: now}
	if dev != nil {
		m.DeviceID = dev.ID
	}
	if req.SimNumber != nil {
		m.SimNumber = *req.SimNumber
	}
	for i, om := range msgs {
		m.Recipients = append(m.Recipients, store.SMSGateRecipient{Idx: i, Phone: req.PhoneNumbers[i], OutboxUID: om.UID, State: StatePending})
	}
	if err := a.d.DB.InsertSMSGateMessage(ctx, m); err != nil {
		if errors.Is(err, store.ErrDuplicate) {
			return errf(http.StatusConflict, "message with the same ID already exists")
		}
		return err
	}
	// The answer is the state at acceptance (Pending), as upstream: a fast modem may
	// have taken the message already, which GET shows.
	st := messageState{ID: id, DeviceID: m.DeviceID, State: StatePending, States: m.States, CreatedAt: now.UTC(),
		TextMessage: &textMessage{Text: text}}
	if st.DeviceID == "" && len(devices) > 0 {
		st.DeviceID = devices[0].ID
	}
	for _, rc := range m.Recipients {
		st.Recipients = append(st.Recipients, recipientState{PhoneNumber: rc.Phone, State: StatePending})
	}
	w.Header().Set("Location", mountPrefix(r)+"/messages/"+url.PathEscape(id))
	writeJSON(w, http.StatusAccepted, st)
	return nil
}

func (a *API) getMessage(w http.ResponseWriter, r *http.Request, _ Principal) error {
	st, err := a.reconcile(r.Context(), mux.Vars(r)["id"], true)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, st)
	return nil
}

// listMessages is GET /messages with upstream's filters, offset paging and
// X-Total-Count.
func (a *API) listMessages(w http.ResponseWriter, r *http.Request, _ Principal) error {
	f := store.SMSGateMessageFilter{}
	var err error
	if f.From, err = queryTime(r, "from"); err != nil {
		return err
	}
	if f.To, err = queryTime(r, "to"); err != nil {
		return err
	}
	if f.Limit, err = queryInt(r, "limit", 50, 1, 100); err != nil {
		return err
	}
	if f.Offset, err = queryInt(r, "offset", 0, 0, 1<<30); err != nil {
		return err
	}
	content, err := queryBool(r, "includeContent")
	if err != nil {
		return err
	}
	switch s := r.URL.Query().Get("state"); s {
	case "", StatePending, StateProcessed, StateSent, StateDelivered, StateFailed, StateCancelled:
		f.State = s
	default:
		return badRequest("state must be one of Pending, Processed, Sent, Delivered, Failed, Cancelled")
	}
	switch r.URL.Query().Get("sort") {
	case "", "-created_at":
	case "created_at":
		f.Oldest = true
	default:
		return badRequest("sort must be created_at or -created_at")
	}
	f.DeviceID = r.URL.Query().Get("deviceId")
	ms, total, err := a.d.DB.SMSGateMessages(r.Context(), f)
	if err != nil {
		return err
	}
	out := make([]messageState, 0, len(ms))
	for _, m := range ms {
		st, err := a.reconcile(r.Context(), m.ID, content)
		if err != nil {
			return err
		}
		out = append(out, st)
	}
	w.Header().Set("X-Total-Count", strconv.Itoa(total))
	writeJSON(w, http.StatusOK, out)
	return nil
}

// cancelMessage is DELETE /messages/{id}: only while no part of any recipient was
// submitted; the message goes straight to Cancelled (we are the device).
func (a *API) cancelMessage(w http.ResponseWriter, r *http.Request, _ Principal) error {
	ctx := r.Context()
	id := mux.Vars(r)["id"]
	m, err := a.d.DB.SMSGateMessageByID(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return errf(http.StatusNotFound, "message not found")
	}
	if err != nil {
		return err
	}
	var todo []string
	for _, rc := range m.Recipients {
		om, err := a.d.DB.MessageByUID(ctx, rc.OutboxUID)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		for _, p := range om.Parts {
			switch p.State {
			case store.PartQueued:
				todo = append(todo, om.UID)
			case store.PartCancelled:
			default:
				return errf(http.StatusConflict, "message is not in Pending state: a part was already handed to a modem")
			}
		}
	}
	for _, uid := range uniq(todo) {
		if _, err := a.d.Queue.Cancel(ctx, uid); err != nil {
			if errors.Is(err, store.ErrNotCancellable) {
				return errf(http.StatusConflict, "message is not in Pending state: a part was already handed to a modem")
			}
			return err
		}
	}
	st, err := a.reconcile(ctx, id, true)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, st)
	return nil
}

func uniq(s []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, v := range s {
		if !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	return out
}

// reconcile computes a message's current state from its recipients' parts, records
// the first time of each message state, moves recipients forward and queues the
// webhooks of their transitions (each once), and returns the message as SMSGate
// shows it.
func (a *API) reconcile(ctx context.Context, id string, content bool) (messageState, error) {
	a.recMu.Lock()
	defer a.recMu.Unlock()
	m, err := a.d.DB.SMSGateMessageByID(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return messageState{}, errf(http.StatusNotFound, "message not found")
	}
	if err != nil {
		return messageState{}, err
	}
	now := a.d.Now()
	st := messageState{ID: m.ID, DeviceID: m.DeviceID, CreatedAt: m.CreatedAt.UTC(), States: m.States}
	var states []string
	var devs []device
	for _, rc := range m.Recipients {
		om, err := a.d.DB.MessageByUID(ctx, rc.OutboxUID)
		if errors.Is(err, store.ErrNotFound) {
			// The outbox row is gone (removed by an operator): show what was last known.
			rs := recipientState{PhoneNumber: rc.Phone, State: rc.State}
			st.Recipients = append(st.Recipients, rs)
			states = append(states, rc.State)
			continue
		}
		if err != nil {
			return messageState{}, err
		}
		cur, errText := RecipientState(om, now)
		shown := advance(rc.State, cur)
		rs := recipientState{PhoneNumber: rc.Phone, State: shown}
		if shown == StateFailed {
			if errText == "" {
				errText = "failed"
			}
			rs.Error = &errText
		}
		st.Recipients = append(st.Recipients, rs)
		states = append(states, shown)
		if st.DeviceID == "" && om.Modem != "" {
			if devs == nil {
				if devs, err = a.devices(ctx); err != nil {
					return messageState{}, err
				}
			}
			for _, d := range devs {
				if d.modem == om.Modem {
					st.DeviceID = d.ID
				}
			}
		}
		if shown != rc.State {
			moved, err := a.d.DB.AdvanceSMSGateRecipient(ctx, m.ID, rc.Idx, rc.State, shown, now)
			if err != nil {
				return messageState{}, err
			}
			if moved {
				if err := a.recipientWebhooks(ctx, m, st.DeviceID, rc, om, rc.State, shown, errText, now); err != nil {
					a.log.Error("queue smsgate webhooks", "message", m.ID, "error", err)
				}
			}
		}
	}
	device := st.DeviceID // explicit, or of the modem that took it: kept
	if st.DeviceID == "" {
		if devs == nil {
			if devs, err = a.devices(ctx); err != nil {
				return messageState{}, err
			}
		}
		if len(devs) > 0 {
			st.DeviceID = devs[0].ID
		}
	}
	st.State = advance(m.State, MessageState(states))
	changed := st.State != m.State || device != m.DeviceID
	if _, ok := st.States[st.State]; !ok {
		st.States[st.State] = now.UTC()
		changed = true
	}
	if changed {
		if err := a.d.DB.SetSMSGateMessageState(ctx, m.ID, device, st.State, st.States, now); err != nil {
			return messageState{}, err
		}
	}
	if content {
		st.TextMessage = &textMessage{Text: m.Text}
	}
	return st, nil
}
