package api

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/smsgw/smsgw/auth"
	"github.com/smsgw/smsgw/queue"
	"github.com/smsgw/smsgw/router"
	"github.com/smsgw/smsgw/sms"
	"github.com/smsgw/smsgw/store"
)

type sendRequest struct {
	To             string     `json:"to"`
	Body           string     `json:"body"`
	Line           string     `json:"line,omitempty"`
	Priority       int        `json:"priority,omitempty"`
	SendAt         *time.Time `json:"send_at,omitempty"`
	ExpiresAt      *time.Time `json:"expires_at,omitempty"`
	NoReport       bool       `json:"no_report,omitempty"`
	IdempotencyKey string     `json:"idempotency_key,omitempty"`
	ExternalID     string     `json:"external_id,omitempty"`
	Automated      bool       `json:"automated,omitempty"`
	ForceUCS2      bool       `json:"force_ucs2,omitempty"`
}

type batchRequest struct {
	Messages []sendRequest `json:"messages"`
}

type previewRequest struct {
	Body      string `json:"body"`
	ForceUCS2 bool   `json:"force_ucs2,omitempty"`
}

type pduRequest struct {
	PDU string `json:"pdu"`
	// Direction: "mt" (to the phone: DELIVER, STATUS-REPORT; default) or "mo" (SUBMIT).
	Direction string `json:"direction,omitempty"`
	// WithSMSC: the PDU starts with the SMSC field (as AT+CMGR shows it; default true).
	WithSMSC *bool `json:"with_smsc,omitempty"`
}

// request turns an API send into the queue's request: the same path `smsgw send` takes.
func (a *API) request(p auth.Principal, s sendRequest) queue.Request {
	r := queue.Request{To: s.To, Body: s.Body, Line: s.Line, Priority: s.Priority, NoReport: s.NoReport,
		IdempotencyKey: s.IdempotencyKey, ExternalID: s.ExternalID, AuthorID: p.UserID, ForceUCS2: s.ForceUCS2,
		Kind: queue.KindAPI}
	if s.Automated {
		r.Kind = queue.KindAutomated
	}
	if s.SendAt != nil {
		r.SendAt = *s.SendAt
	}
	if s.ExpiresAt != nil {
		r.ExpiresAt = *s.ExpiresAt
	}
	return r
}

// checkOptOut refuses automated messages to contacts who opted out or are blocked.
func (a *API) checkOptOut(r *http.Request, s sendRequest, field string) error {
	if !s.Automated {
		return nil
	}
	n, err := a.d.Router.NormalizeNumber(s.To)
	if err != nil {
		return nil // the queue names the problem with the number
	}
	c, err := a.d.DB.ContactByNumber(r.Context(), n)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	switch {
	case c.Blocked:
		return &Error{http.StatusUnprocessableEntity, "blocked", "the contact is blocked", field}
	case c.OptedOut:
		return &Error{http.StatusUnprocessableEntity, "opted_out", "the contact opted out of automated messages", field}
	}
	return nil
}

func (a *API) sendMessage(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	var s sendRequest
	if err := decode(r, &s); err != nil {
		return err
	}
	if k := r.Header.Get("Idempotency-Key"); k != "" && s.IdempotencyKey == "" {
		s.IdempotencyKey = k
	}
	if err := a.checkOptOut(r, s, "to"); err != nil {
		return err
	}
	m, dup, err := a.d.Queue.Enqueue(r.Context(), a.request(p, s))
	if err != nil {
		return err
	}
	w.Header().Set("Location", Prefix+"/messages/"+m.UID)
	status := http.StatusAccepted
	if dup {
		status = http.StatusOK
	}
	writeJSON(w, status, m)
	return nil
}

func (a *API) sendBatch(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	var b batchRequest
	if err := decode(r, &b); err != nil {
		return err
	}
	if len(b.Messages) == 0 || len(b.Messages) > 500 {
		return fieldErr("messages", "send 1-500 messages per batch")
	}
	reqs := make([]queue.Request, len(b.Messages))
	for i, s := range b.Messages {
		if err := a.checkOptOut(r, s, "messages["+itoa(i)+"].to"); err != nil {
			return err
		}
		reqs[i] = a.request(p, s)
	}
	ms, _, err := a.d.Queue.EnqueueBatch(r.Context(), reqs)
	var fe *queue.FieldError
	if errors.As(err, &fe) && fe.Field != "messages" {
		return fieldErr("messages["+itoa(fe.Index)+"]."+fe.Field, "%s", fe.Msg)
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, map[string]any{"messages": ms})
	return nil
}

// visibleMessage loads a message the principal may see: managers and admin tokens see
// every message, others those they wrote (the inbox shows the rest by conversation).
func (a *API) visibleMessage(r *http.Request, p auth.Principal) (store.Message, error) {
	m, err := a.d.DB.MessageByUID(r.Context(), mux.Vars(r)["id"])
	if err != nil {
		return m, err
	}
	if !manager(p) && m.AuthorID != p.UserID {
		return m, errNotFound
	}
	return m, nil
}

func (a *API) listMessages(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	q := r.URL.Query()
	f := store.MessageFilter{Direction: q.Get("direction"), Status: q.Get("status"), Kind: q.Get("kind"), Line: q.Get("line")}
	if f.Direction != "" && f.Direction != "in" && f.Direction != "out" {
		return &Error{http.StatusBadRequest, "bad_parameter", "must be in or out", "direction"}
	}
	if peer := q.Get("peer"); peer != "" {
		n, err := a.d.Router.NormalizeNumber(peer)
		if err != nil {
			n = peer // a sender id
		}
		f.Peer = n
	}
	var err error
	if f.Since, err = queryTime(r, "since"); err != nil {
		return err
	}
	if f.Until, err = queryTime(r, "until"); err != nil {
		return err
	}
	if f.BeforeID, err = parseIDCursor(r); err != nil {
		return err
	}
	if f.Limit, err = limitParam(r, 50, 500); err != nil {
		return err
	}
	if !manager(p) {
		f.AuthorID = p.UserID
	}
	ms, err := a.d.DB.Messages(r.Context(), f)
	if err != nil {
		return err
	}
	next := ""
	if len(ms) == f.Limit {
		next = idCursor(ms[len(ms)-1].ID)
	}
	writePage(w, r, ms, next)
	return nil
}

func (a *API) getMessage(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	m, err := a.visibleMessage(r, p)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, m)
	return nil
}

func (a *API) cancelMessage(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	m, err := a.visibleMessage(r, p)
	if err != nil {
		return err
	}
	if m, err = a.d.Queue.Cancel(r.Context(), m.UID); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, m)
	return nil
}

func (a *API) resendMessage(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	m, err := a.visibleMessage(r, p)
	if err != nil {
		return err
	}
	if m, err = a.d.Queue.ResendUnknown(r.Context(), m.UID); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, m)
	return nil
}

// Preview is the segment preview the composer shows.
type Preview struct {
	Encoding        string   `json:"encoding"`
	Characters      int      `json:"characters"`
	Units           int      `json:"units"`
	Segments        int      `json:"segments"`
	UnitsPerSegment int      `json:"units_per_segment"`
	UnitsLeft       int      `json:"units_left"`
	ForcingUCS2     []string `json:"forcing_ucs2"`
	TooLong         bool     `json:"too_long"`
}

func (a *API) preview(w http.ResponseWriter, r *http.Request, _ auth.Principal) error {
	var pr previewRequest
	if err := decode(r, &pr); err != nil {
		return err
	}
	// Count as the queue will send it (national language tables included).
	c := sms.CountSubmit(pr.Body, sms.SubmitOptions{ForceUCS2: pr.ForceUCS2})
	if a.d.Queue != nil {
		c = a.d.Queue.Count(pr.Body, pr.ForceUCS2)
	}
	out := Preview{Encoding: c.Encoding.String(), Characters: c.Characters, Units: c.Units, Segments: c.Segments,
		UnitsPerSegment: c.UnitsPerSegment, UnitsLeft: c.UnitsLeft, ForcingUCS2: c.ForcingUCS2,
		TooLong: len([]rune(pr.Body)) > router.MaxBody}
	if out.ForcingUCS2 == nil {
		out.ForcingUCS2 = []string{}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (a *API) decodePDU(w http.ResponseWriter, r *http.Request, _ auth.Principal) error {
	var pr pduRequest
	if err := decode(r, &pr); err != nil {
		return err
	}
	dir := sms.MT
	switch strings.ToLower(pr.Direction) {
	case "", "mt":
	case "mo":
		dir = sms.MO
	default:
		return fieldErr("direction", "must be mt or mo")
	}
	withSMSC := pr.WithSMSC == nil || *pr.WithSMSC
	if len(pr.PDU) == 0 || len(pr.PDU) > 2000 {
		return fieldErr("pdu", "must be 1-2000 hex digits")
	}
	m, err := sms.DecodeHex(strings.TrimSpace(pr.PDU), dir, withSMSC)
	if err != nil {
		return fieldErr("pdu", "cannot be decoded: %v", err)
	}
	out := map[string]any{"type": m.Type.String(), "smsc": m.SMSC, "address": m.Address, "address_ton": m.AddressTON,
		"mr": m.MR, "pid": m.PID, "dcs": m.DCS, "encoding": m.Encoding.String(), "text": m.Text,
		"src_port": m.SrcPort, "dst_port": m.DstPort}
	if !m.SCTS.IsZero() {
		out["scts"] = m.SCTS
	}
	if !m.Discharge.IsZero() {
		meaning, _ := sms.StatusMeaning(m.Status)
		out["discharge"], out["status"], out["status_meaning"] = m.Discharge, m.Status, meaning
	}
	if m.Data != nil {
		out["data_hex"] = strings.ToUpper(hexString(m.Data))
	}
	if m.Concat != nil {
		out["concat"] = map[string]any{"ref": m.Concat.Ref, "ref16": m.Concat.Ref16, "total": m.Concat.Total, "seq": m.Concat.Seq}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
