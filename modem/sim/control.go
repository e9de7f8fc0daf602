package sim

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/gorilla/mux"
)

// NewControlHandler returns the HTTP control API of a network. Routes
// (JSON in and out; errors are {"error": "..."}):
//
//	GET    /api/modems                      modems with identity, pty path, faults, storage use
//	GET    /api/modems/{modem}              one modem (name or number)
//	PUT    /api/modems/{modem}/fault        replace faults (a Fault object)
//	DELETE /api/modems/{modem}/fault        clear faults
//	PUT    /api/modems/{modem}/latency      replace latency (a Latency object)
//	POST   /api/modems/{modem}/unplug       the pty goes away (EIO)
//	POST   /api/modems/{modem}/replug       new pty path, same identity → {"path": ...}
//	POST   /api/modems/{modem}/inject       {"route": "cmti|cmt|cds|cdsi|", "pdu": "<hex>"}
//	GET    /api/modems/{modem}/storage/{mem}  stored messages of SM, ME or SR
//	POST   /api/phones/{number}/send        {"to": "<modem>", "text": "...", options of SendOptions}
//	POST   /api/phones/{number}/call        {"to": "<modem>"}
//	GET    /api/phones/{number}/inbox       messages modems sent to the phone
//	GET    /api/messages                    every submitted message, reassembled
//	GET    /api/submissions                 every submitted PDU: hex, time, modem, MR, decoded text
//	DELETE /api/submissions                 forget submissions and messages
//	PUT    /api/ussd                        {"code": "*100#", "reply": "..."}
func NewControlHandler(n *Network) http.Handler {
	c := &control{n: n}
	r := mux.NewRouter()
	h := func(path string, f func(w http.ResponseWriter, r *http.Request) error, methods ...string) {
		r.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
			if err := f(w, r); err != nil {
				writeError(w, err)
			}
		}).Methods(methods...)
	}
	h("/api/modems", c.listModems, http.MethodGet)
	h("/api/modems/{modem}", c.getModem, http.MethodGet)
	h("/api/modems/{modem}/fault", c.setFault, http.MethodPut, http.MethodPost)
	h("/api/modems/{modem}/fault", c.clearFault, http.MethodDelete)
	h("/api/modems/{modem}/latency", c.setLatency, http.MethodPut, http.MethodPost)
	h("/api/modems/{modem}/unplug", c.unplug, http.MethodPost)
	h("/api/modems/{modem}/replug", c.replug, http.MethodPost)
	h("/api/modems/{modem}/inject", c.inject, http.MethodPost)
	h("/api/modems/{modem}/storage/{mem}", c.storage, http.MethodGet)
	h("/api/phones/{number}/send", c.phoneSend, http.MethodPost)
	h("/api/phones/{number}/call", c.phoneCall, http.MethodPost)
	h("/api/phones/{number}/inbox", c.phoneInbox, http.MethodGet)
	h("/api/messages", c.messages, http.MethodGet)
	h("/api/submissions", c.submissions, http.MethodGet)
	h("/api/submissions", c.reset, http.MethodDelete)
	h("/api/ussd", c.ussd, http.MethodPut, http.MethodPost)
	return r
}

type control struct{ n *Network }

// httpError carries a status code.
type httpError struct {
	code int
	msg  string
}

func (e *httpError) Error() string { return e.msg }

func badRequest(format string, args ...any) error {
	return &httpError{http.StatusBadRequest, fmt.Sprintf(format, args...)}
}

func writeError(w http.ResponseWriter, err error) {
	code := http.StatusInternalServerError
	var he *httpError
	switch {
	case errors.As(err, &he):
		code = he.code
	case errors.Is(err, ErrUnplugged):
		code = http.StatusConflict
	}
	writeJSON(w, code, map[string]string{"error": err.Error()})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

func readJSON(r *http.Request, v any) error {
	dec := json.NewDecoder(io.LimitReader(r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil && !errors.Is(err, io.EOF) {
		return badRequest("bad JSON: %v", err)
	}
	return nil
}

func (c *control) modem(r *http.Request) (*Modem, error) {
	name := mux.Vars(r)["modem"]
	m := c.n.Modem(name)
	if m == nil {
		return nil, &httpError{http.StatusNotFound, fmt.Sprintf("no modem %q", name)}
	}
	return m, nil
}

func (c *control) listModems(w http.ResponseWriter, _ *http.Request) error {
	out := []Status{}
	for _, m := range c.n.Modems() {
		out = append(out, m.Status())
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (c *control) getModem(w http.ResponseWriter, r *http.Request) error {
	m, err := c.modem(r)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, m.Status())
	return nil
}

func (c *control) setFault(w http.ResponseWriter, r *http.Request) error {
	m, err := c.modem(r)
	if err != nil {
		return err
	}
	var f Fault
	if err := readJSON(r, &f); err != nil {
		return err
	}
	m.SetFault(f)
	writeJSON(w, http.StatusOK, m.Status())
	return nil
}

func (c *control) clearFault(w http.ResponseWriter, r *http.Request) error {
	m, err := c.modem(r)
	if err != nil {
		return err
	}
	m.SetFault(Fault{})
	writeJSON(w, http.StatusOK, m.Status())
	return nil
}

func (c *control) setLatency(w http.ResponseWriter, r *http.Request) error {
	m, err := c.modem(r)
	if err != nil {
		return err
	}
	var l Latency
	if err := readJSON(r, &l); err != nil {
		return err
	}
	m.SetLatency(l)
	writeJSON(w, http.StatusOK, m.Latency())
	return nil
}

func (c *control) unplug(w http.ResponseWriter, r *http.Request) error {
	m, err := c.modem(r)
	if err != nil {
		return err
	}
	if err := m.Unplug(); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, m.Status())
	return nil
}

func (c *control) replug(w http.ResponseWriter, r *http.Request) error {
	m, err := c.modem(r)
	if err != nil {
		return err
	}
	if _, err := m.Replug(); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, m.Status())
	return nil
}

func (c *control) inject(w http.ResponseWriter, r *http.Request) error {
	m, err := c.modem(r)
	if err != nil {
		return err
	}
	var req struct {
		Route Route  `json:"route"`
		PDU   string `json:"pdu"`
	}
	if err := readJSON(r, &req); err != nil {
		return err
	}
	pdu, err := decodeHexPDU(req.PDU)
	if err != nil {
		return badRequest("%v", err)
	}
	route := Route(strings.ToLower(string(req.Route)))
	if route == "deliver" || route == "network" {
		route = RouteNetwork
	}
	if err := m.Inject(route, pdu); err != nil {
		if errors.Is(err, ErrUnplugged) {
			return err
		}
		return badRequest("%v", err)
	}
	writeJSON(w, http.StatusAccepted, map[string]string{"status": "injected"})
	return nil
}

func (c *control) storage(w http.ResponseWriter, r *http.Request) error {
	m, err := c.modem(r)
	if err != nil {
		return err
	}
	msgs := m.Messages(strings.ToUpper(mux.Vars(r)["mem"]))
	if msgs == nil {
		msgs = []StoredMessage{}
	}
	writeJSON(w, http.StatusOK, msgs)
	return nil
}

func (c *control) phoneSend(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		To   string `json:"to"`
		Text string `json:"text"`
		SendOptions
	}
	if err := readJSON(r, &req); err != nil {
		return err
	}
	if req.To == "" {
		return badRequest("missing \"to\"")
	}
	p := c.n.Phone(mux.Vars(r)["number"])
	if err := p.Send(req.To, req.Text, req.SendOptions); err != nil {
		return badRequest("%v", err)
	}
	writeJSON(w, http.StatusAccepted, map[string]string{"status": "sent", "from": p.Number()})
	return nil
}

func (c *control) phoneCall(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		To string `json:"to"`
	}
	if err := readJSON(r, &req); err != nil {
		return err
	}
	p := c.n.Phone(mux.Vars(r)["number"])
	if err := p.Call(req.To); err != nil {
		return badRequest("%v", err)
	}
	writeJSON(w, http.StatusAccepted, map[string]string{"status": "ringing"})
	return nil
}

func (c *control) phoneInbox(w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, http.StatusOK, c.n.Phone(mux.Vars(r)["number"]).Inbox())
	return nil
}

func (c *control) messages(w http.ResponseWriter, _ *http.Request) error {
	writeJSON(w, http.StatusOK, c.n.Messages())
	return nil
}

func (c *control) submissions(w http.ResponseWriter, _ *http.Request) error {
	subs := c.n.Submissions()
	if subs == nil {
		subs = []Submission{}
	}
	writeJSON(w, http.StatusOK, subs)
	return nil
}

func (c *control) reset(w http.ResponseWriter, _ *http.Request) error {
	c.n.Reset()
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (c *control) ussd(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Code  string `json:"code"`
		Reply string `json:"reply"`
	}
	if err := readJSON(r, &req); err != nil {
		return err
	}
	if req.Code == "" {
		return badRequest("missing \"code\"")
	}
	c.n.SetUSSD(req.Code, req.Reply)
	writeJSON(w, http.StatusOK, req)
	return nil
}
