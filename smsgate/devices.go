package smsgate

import (
	"context"
	"errors"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/smsgw/smsgw/store"
)

// device is an SMSGate device: a known modem identity, attached or not.
type device struct {
	store.SMSGateDevice
	attached bool
	modem    string
	line     string
	info     ModemInfo
}

func (d device) activeWithin(now time.Time, hours int) bool {
	if d.info.Ready {
		return true
	}
	return !d.LastSeen.IsZero() && now.Sub(d.LastSeen) <= time.Duration(hours)*time.Hour
}

// devices records the attached modems as devices (creating their stable ids on first
// sight) and returns every known device, attached ones first in modem order.
func (a *API) devices(ctx context.Context) ([]device, error) {
	now := a.d.Now()
	var out []device
	seen := map[string]bool{}
	for _, m := range a.d.Modems(ctx) {
		ident := m.identity()
		if ident == "" || seen[ident] {
			continue // not identified yet (the modem has not answered AT+CGSN)
		}
		seen[ident] = true
		var lastSeen time.Time
		if m.Ready {
			lastSeen = now
			if !m.LastSeen.IsZero() && m.LastSeen.Before(now) {
				lastSeen = m.LastSeen
			}
		}
		d, err := a.ensureDevice(ctx, ident, m.Name, lastSeen, now)
		if err != nil {
			return nil, err
		}
		line := m.Line
		if line == "" {
			line = m.Name
		}
		out = append(out, device{SMSGateDevice: d, attached: true, modem: m.Name, line: line, info: m})
	}
	all, err := a.d.DB.SMSGateDevices(ctx)
	if err != nil {
		return nil, err
	}
	for _, d := range all {
		if !seen[d.Identity] {
			out = append(out, device{SMSGateDevice: d})
		}
	}
	return out, nil
}

// ensureDevice records a modem's device, writing to the database only when the device
// is new, renamed, or its last-seen time is more than a minute behind.
func (a *API) ensureDevice(ctx context.Context, ident, name string, lastSeen, now time.Time) (store.SMSGateDevice, error) {
	a.devMu.Lock()
	c, ok := a.devCache[ident]
	a.devMu.Unlock()
	if ok && c.Modem == name && (lastSeen.IsZero() || lastSeen.Sub(c.LastSeen) < time.Minute) {
		return c, nil
	}
	d, err := a.d.DB.EnsureSMSGateDevice(ctx, ident, newID(), name, name, lastSeen, now)
	if err != nil {
		return d, err
	}
	a.devMu.Lock()
	if a.devCache == nil || len(a.devCache) > 1000 {
		a.devCache = map[string]store.SMSGateDevice{}
	}
	a.devCache[ident] = d
	a.devMu.Unlock()
	return d, nil
}

type simCard struct {
	SlotIndex   int    `json:"slotIndex"`
	SimNumber   int    `json:"simNumber"`
	CarrierName string `json:"carrierName,omitempty"`
	ICCID       string `json:"iccid,omitempty"`
}

type deviceJSON struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"createdAt"`
	UpdatedAt time.Time `json:"updatedAt"`
	LastSeen  time.Time `json:"lastSeen"`
	SimCards  []simCard `json:"simCards"`
}

func (a *API) listDevices(w http.ResponseWriter, r *http.Request, _ Principal) error {
	ds, err := a.devices(r.Context())
	if err != nil {
		return err
	}
	out := make([]deviceJSON, 0, len(ds))
	for _, d := range ds {
		j := deviceJSON{ID: d.ID, Name: d.Name, CreatedAt: d.CreatedAt.UTC(), UpdatedAt: d.UpdatedAt.UTC(), LastSeen: d.LastSeen.UTC(),
			SimCards: []simCard{}}
		if d.LastSeen.IsZero() {
			j.LastSeen = d.CreatedAt.UTC()
		}
		if d.attached {
			j.SimCards = append(j.SimCards, simCard{SlotIndex: 0, SimNumber: 1, CarrierName: d.info.Operator, ICCID: d.info.ICCID})
		}
		out = append(out, j)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// deleteDevice forgets a detached modem's device (204); an attached one is 409.
func (a *API) deleteDevice(w http.ResponseWriter, r *http.Request, _ Principal) error {
	id := mux.Vars(r)["id"]
	ds, err := a.devices(r.Context())
	if err != nil {
		return err
	}
	for _, d := range ds {
		if d.ID != id {
			continue
		}
		if d.attached {
			return errf(http.StatusConflict, "the device's modem is attached; only a detached modem's device can be removed")
		}
		if err := a.d.DB.DeleteSMSGateDevice(r.Context(), id); err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		a.devMu.Lock()
		delete(a.devCache, d.Identity)
		a.devMu.Unlock()
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	return errf(http.StatusNotFound, "device not found")
}

// --- health -------------------------------------------------------------------------

type healthCheck struct {
	Description   string `json:"description,omitempty"`
	ObservedUnit  string `json:"observedUnit,omitempty"`
	ObservedValue int    `json:"observedValue"`
	Status        string `json:"status"`
}

type healthResponse struct {
	Status    string                 `json:"status"`
	Version   string                 `json:"version"`
	ReleaseID int                    `json:"releaseId"`
	Checks    map[string]healthCheck `json:"checks"`
}

func (a *API) version() (string, int) {
	v := a.d.Version
	if v == "" {
		if bi, ok := debug.ReadBuildInfo(); ok {
			v = bi.Main.Version
		}
	}
	// releaseId is a number upstream (the Go client fails on a string): derive it
	// from vMAJOR.MINOR.PATCH as MAJOR·10000 + MINOR·100 + PATCH, 1 otherwise.
	id := 0
	parts := strings.SplitN(strings.TrimPrefix(v, "v"), ".", 3)
	if len(parts) == 3 {
		for _, p := range parts {
			digits := p
			if i := strings.IndexFunc(p, func(r rune) bool { return r < '0' || r > '9' }); i >= 0 {
				digits = p[:i]
			}
			n, err := strconv.Atoi(digits)
			if err != nil {
				id = -1
				break
			}
			id = id*100 + n
		}
	}
	if id <= 0 {
		id = 1
	}
	if v == "" {
		v = "devel"
	}
	return v, id
}

// healthOf builds the HealthResponse: per-modem state, signal and registration, the
// database, failed messages of the last hour and the queue. kind "live" checks only
// that the process answers, "startup" that it has started.
func (a *API) healthOf(ctx context.Context, kind string) healthResponse {
	v, rel := a.version()
	h := healthResponse{Status: "pass", Version: v, ReleaseID: rel, Checks: map[string]healthCheck{}}
	if kind == "live" || kind == "startup" {
		h.Checks["process:uptime"] = healthCheck{Description: "seconds since start", ObservedUnit: "s",
			ObservedValue: int(a.d.Now().Sub(a.started).Seconds()), Status: "pass"}
		return h
	}
	set := func(name string, c healthCheck) {
		h.Checks[name] = c
		switch {
		case c.Status == "fail":
			h.Status = "fail"
		case c.Status == "warn" && h.Status == "pass":
			h.Status = "warn"
		}
	}
	if err := a.d.DB.Ping(ctx); err != nil {
		set("database", healthCheck{Description: "database: " + err.Error(), Status: "fail"})
	} else {
		set("database", healthCheck{Description: "database reachable", ObservedValue: 1, Status: "pass"})
	}
	modems := a.d.Modems(ctx)
	ready := 0
	for _, m := range modems {
		st := "pass"
		if !m.Ready {
			st = "warn"
		} else {
			ready++
		}
		set("modem:"+m.Name+":state", healthCheck{Description: "modem state: " + m.State, ObservedValue: b2i(m.Ready), Status: st})
		st = "pass"
		if !m.Registered {
			st = "warn"
		}
		set("modem:"+m.Name+":registered", healthCheck{Description: "registered on a network", ObservedValue: b2i(m.Registered), Status: st})
		pct := signalPercent(m.SignalDBm)
		st = "pass"
		if m.Ready && pct < 10 {
			st = "warn"
		}
		set("modem:"+m.Name+":signal", healthCheck{Description: "signal strength", ObservedUnit: "percent", ObservedValue: pct, Status: st})
	}
	if len(modems) > 0 && ready == 0 {
		set("modems:ready", healthCheck{Description: "no modem is ready to send", ObservedValue: 0, Status: "fail"})
	} else {
		set("modems:ready", healthCheck{Description: "modems ready", ObservedValue: ready, Status: "pass"})
	}
	if n, err := a.d.DB.FailedOutboundSince(ctx, a.d.Now().Add(-time.Hour)); err == nil {
		st := "pass"
		if n > 0 {
			st = "warn"
		}
		set("messages:failed", healthCheck{Description: "failed messages in the last hour", ObservedUnit: "messages", ObservedValue: n, Status: st})
	}
	if qs, err := a.d.DB.QueueStats(ctx); err == nil {
		set("queue:pending", healthCheck{Description: "parts waiting to be sent", ObservedUnit: "parts",
			ObservedValue: qs.Parts[store.PartQueued], Status: "pass"})
	}
	return h
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// signalPercent maps dBm (-113 … -51) to 0 … 100; 0 for unknown.
func signalPercent(dbm int) int {
	if dbm == 0 || dbm <= -113 {
		return 0
	}
	if dbm >= -51 {
		return 100
	}
	return (dbm + 113) * 100 / 62
}

// health answers without authentication (an Authorization header is ignored): 200 for
// pass and warn, 503 for fail.
func (a *API) health(kind string) handler {
	return func(w http.ResponseWriter, r *http.Request, _ Principal) error {
		h := a.healthOf(r.Context(), kind)
		status := http.StatusOK
		if h.Status == "fail" {
			status = http.StatusServiceUnavailable
		}
		writeJSON(w, status, h)
		return nil
	}
}
