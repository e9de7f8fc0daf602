package webui

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/smsgw/smsgw/auth"
	"github.com/smsgw/smsgw/queue"
	"github.com/smsgw/smsgw/router"
	"github.com/smsgw/smsgw/store"
)

// Run-time settings: the inbox and queue settings an administrator may change on the
// settings page. The configuration file gives the starting values (captured when the
// UI is built, before any override); changes are stored in the database
// (store.SaveSettings) and layered over them, applied at once to the router
// (Router.ApplySettings) and the queue (Queue.SetQuietHours), and applied again at
// every start. Putting a setting back to the file's value removes its override.

// settingDef describes one editable setting.
type settingDef struct {
	Name    string // key in the database and the form
	Label   string
	Help    string
	Kind    string   // duration, choice, bool, clock, zone
	Choices []string // for choice: value, label, value, label, …
	Key     string   // the configuration file's key
}

var settingDefs = []settingDef{
	{Name: "grace_window", Label: "Grace window", Kind: "duration", Key: "inbox.grace_window",
		Help: "A customer reply this soon after resolving reopens the conversation; after it a new one starts (e.g. 72h, 3d, 90m)."},
	{Name: "auto_resolve_after", Label: "Auto-resolve after", Kind: "duration", Key: "inbox.auto_resolve_after",
		Help: "Resolve new and open conversations without activity for this long; 0 turns it off. Snoozed ones are never auto-resolved."},
	{Name: "dispatcher_see_others", Label: "Dispatchers see conversations owned by others", Kind: "choice",
		Key: "inbox.dispatcher_see_others", Choices: []string{router.SeeAll, "all", router.SeeQueue, "in their queues", router.SeeNone, "none"}},
	{Name: "dispatcher_reply_others", Label: "Dispatchers reply in conversations owned by others", Kind: "choice",
		Key: "inbox.dispatcher_reply_others", Choices: []string{router.ReplyAllow, "allow", router.ReplyWarn, "confirm first", router.ReplyDeny, "deny"}},
	{Name: "dispatcher_assign", Label: "Dispatchers assign and take over", Kind: "bool", Key: "inbox.dispatcher_assign"},
	{Name: "auto_accept", Label: "A reply accepts a new conversation", Kind: "bool", Key: "inbox.auto_accept"},
	{Name: "return_to_last_owner", Label: "A reopened conversation returns to its last owner", Kind: "bool", Key: "inbox.return_to_last_owner"},
	{Name: "job_owner_owns_replies", Label: "Replies to business alerts go to the job's dispatcher", Kind: "bool", Key: "inbox.job_owner_owns_replies"},
	{Name: "unread", Label: "Unread", Kind: "choice", Choices: []string{"user", "per user", "team", "per team"},
		Help: "Per user: everyone has their own read marker. Per team: one person reading (or replying in) a conversation reads it for everyone."},
	{Name: "quiet_start", Label: "Quiet hours start", Kind: "clock", Key: "queue.quiet_start",
		Help: "Automated messages (alerts, reminders) wait during quiet hours; agent replies always go. Empty, or start equal to end: none."},
	{Name: "quiet_end", Label: "Quiet hours end", Kind: "clock", Key: "queue.quiet_end"},
	{Name: "quiet_zone", Label: "Quiet hours time zone", Kind: "zone", Key: "queue.timezone",
		Help: "An IANA name such as Europe/Berlin; empty is the system's."},
}

func settingDefByName(name string) (settingDef, bool) {
	for _, d := range settingDefs {
		if d.Name == name {
			return d, true
		}
	}
	return settingDef{}, false
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

// fmtDuration writes a duration the way people type it: 3d, 72h → 3d, 90m, 0.
func fmtDuration(d time.Duration) string {
	switch {
	case d <= 0:
		return "0"
	case d%(24*time.Hour) == 0:
		return strconv.FormatInt(int64(d/(24*time.Hour)), 10) + "d"
	case d%time.Hour == 0:
		return strconv.FormatInt(int64(d/time.Hour), 10) + "h"
	case d%time.Minute == 0:
		return strconv.FormatInt(int64(d/time.Minute), 10) + "m"
	}
	return d.String()
}

// parseDuration reads 3d, 72h, 90m, 1h30m or 0.
func parseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(strings.ToLower(s))
	if s == "" || s == "0" || s == "off" {
		return 0, nil
	}
	if n, ok := strings.CutSuffix(s, "d"); ok {
		if days, err := strconv.Atoi(n); err == nil && days >= 0 && days <= 3650 {
			return time.Duration(days) * 24 * time.Hour, nil
		}
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("%q is not a duration like 72h, 3d or 90m", s)
	}
	return d, nil
}

func fmtClock(m int) string { return fmt.Sprintf("%02d:%02d", m/60, m%60) }

// baseSettings are the configuration file's values, as strings by setting name.
func baseSettings(rs router.Settings, q *queue.Queue, opts Options) map[string]string {
	m := map[string]string{
		"grace_window":            fmtDuration(rs.GraceWindow),
		"auto_resolve_after":      fmtDuration(rs.AutoResolveAfter),
		"dispatcher_see_others":   rs.Permissions.DispatcherSeeOthers,
		"dispatcher_reply_others": rs.Permissions.DispatcherReplyOthers,
		"dispatcher_assign":       onOff(rs.Permissions.DispatcherAssign),
		"auto_accept":             onOff(!rs.NoAutoAccept),
		"return_to_last_owner":    onOff(!rs.NoReturnToLastOwner),
		"job_owner_owns_replies":  onOff(rs.JobOwnerOwnsReplies),
		"unread":                  "user",
	}
	if rs.UnreadPerTeam {
		m["unread"] = "team"
	}
	switch {
	case opts.Config != nil:
		m["quiet_start"], m["quiet_end"], m["quiet_zone"] = opts.Config.Queue.QuietStart, opts.Config.Queue.QuietEnd, opts.Config.Queue.Timezone
	case q != nil:
		if qh := q.QuietHours(); qh.Start != qh.End {
			m["quiet_start"], m["quiet_end"] = fmtClock(qh.Start), fmtClock(qh.End)
			if qh.Location != nil && qh.Location != time.Local {
				m["quiet_zone"] = qh.Location.String()
			}
		}
	}
	return m
}

// normalize checks one submitted value and returns it in its stored form.
func (d settingDef) normalize(v string) (string, error) {
	v = strings.TrimSpace(v)
	switch d.Kind {
	case "duration":
		dur, err := parseDuration(v)
		if err != nil {
			return "", err
		}
		return fmtDuration(dur), nil
	case "choice":
		for i := 0; i < len(d.Choices); i += 2 {
			if d.Choices[i] == v {
				return v, nil
			}
		}
		return "", fmt.Errorf("%q is not a choice", v)
	case "bool":
		if v == "on" || v == "1" || v == "true" {
			return "on", nil
		}
		return "off", nil
	case "clock":
		if v == "" {
			return "", nil
		}
		m, err := queue.ParseClock(v)
		if err != nil {
			return "", errors.New("not a time of day like 21:30")
		}
		return fmtClock(m), nil
	case "zone":
		if v == "" || v == "Local" {
			return "", nil
		}
		if _, err := time.LoadLocation(v); err != nil || len(v) > 64 {
			return "", fmt.Errorf("%q is not a known time zone", v)
		}
		return v, nil
	}
	return "", errors.New("unknown setting")
}

// effective turns setting values into what the router and the queue take.
func effective(vals map[string]string) (router.Settings, queue.QuietHours, error) {
	var rs router.Settings
	var qh queue.QuietHours
	var err error
	if rs.GraceWindow, err = parseDuration(vals["grace_window"]); err != nil {
		return rs, qh, fmt.Errorf("grace window: %w", err)
	}
	if rs.AutoResolveAfter, err = parseDuration(vals["auto_resolve_after"]); err != nil {
		return rs, qh, fmt.Errorf("auto-resolve: %w", err)
	}
	rs.Permissions = router.Permissions{DispatcherSeeOthers: vals["dispatcher_see_others"],
		DispatcherReplyOthers: vals["dispatcher_reply_others"], DispatcherAssign: vals["dispatcher_assign"] == "on"}
	rs.NoAutoAccept = vals["auto_accept"] != "on"
	rs.NoReturnToLastOwner = vals["return_to_last_owner"] != "on"
	rs.JobOwnerOwnsReplies = vals["job_owner_owns_replies"] == "on"
	rs.UnreadPerTeam = vals["unread"] == "team"
	if err := rs.Validate(); err != nil {
		return rs, qh, err
	}
	if vals["quiet_start"] != "" || vals["quiet_end"] != "" {
		if vals["quiet_start"] == "" || vals["quiet_end"] == "" {
			return rs, qh, errors.New("quiet hours need both a start and an end")
		}
		start, err1 := queue.ParseClock(vals["quiet_start"])
		end, err2 := queue.ParseClock(vals["quiet_end"])
		if err := errors.Join(err1, err2); err != nil {
			return rs, qh, err
		}
		loc := time.Local
		if z := vals["quiet_zone"]; z != "" {
			if loc, err = time.LoadLocation(z); err != nil {
				return rs, qh, fmt.Errorf("quiet hours time zone: %w", err)
			}
		}
		qh = queue.QuietHours{Start: start, End: end, Location: loc}
	}
	return rs, qh, nil
}

// settingValues layers the stored overrides over the file's values.
func (u *UI) settingValues(ctx context.Context) (map[string]string, map[string]store.SettingOverride, error) {
	over, err := u.db.SettingOverrides(ctx)
	if err != nil {
		return nil, nil, err
	}
	vals := make(map[string]string, len(u.baseVals))
	for k, v := range u.baseVals {
		vals[k] = v
	}
	for name, o := range over {
		if _, ok := settingDefByName(name); ok {
			vals[name] = o.Value
		}
	}
	return vals, over, nil
}

// applyStoredSettings puts the stored overrides in force at start.
func (u *UI) applyStoredSettings() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	vals, over, err := u.settingValues(ctx)
	if err != nil {
		u.log.Error("load run-time settings; the configuration file's values stay in force", "error", err)
		return
	}
	if len(over) == 0 {
		return
	}
	if err := u.applySettings(ctx, router.System, vals); err != nil {
		u.log.Error("stored run-time settings are invalid; the configuration file's values stay in force", "error", err)
		return
	}
	names := make([]string, 0, len(over))
	for n := range over {
		names = append(names, n)
	}
	u.log.Info("run-time settings from the database override the configuration file", "settings", strings.Join(names, ","))
}

func (u *UI) applySettings(ctx context.Context, a router.Actor, vals map[string]string) error {
	rs, qh, err := effective(vals)
	if err != nil {
		return err
	}
	if err := u.rt.ApplySettings(ctx, a, rs); err != nil {
		return err
	}
	if u.opts.Queue != nil {
		u.opts.Queue.SetQuietHours(qh)
	}
	return nil
}

// settingRow is one editable setting on the page.
type settingRow struct {
	settingDef
	Value, File string
	Override    *store.SettingOverride
}

type queueTimeout struct {
	store.Queue
	Minutes int
}

type settingsData struct {
	Settings   []Setting // read-only ones
	Rows       []settingRow
	Queues     []queueTimeout
	Log        []store.SettingChange
	CanEdit    bool
	MaxChars   int
	WindowWarn int
	Window     time.Duration
}

func (u *UI) settingsPage(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	ctx := r.Context()
	d := settingsData{Settings: u.opts.Settings, MaxChars: u.opts.MaxChars, WindowWarn: u.opts.WindowWarn,
		Window: u.opts.WindowPeriod, CanEdit: p.Role == router.RoleAdmin}
	vals, over, err := u.settingValues(ctx)
	if err != nil {
		return err
	}
	for _, def := range settingDefs {
		row := settingRow{settingDef: def, Value: vals[def.Name], File: u.baseVals[def.Name]}
		if o, ok := over[def.Name]; ok {
			row.Override = &o
		}
		d.Rows = append(d.Rows, row)
	}
	if d.CanEdit {
		qs, err := u.rt.Queues(ctx, p.Actor())
		if err != nil {
			return err
		}
		for _, q := range qs {
			d.Queues = append(d.Queues, queueTimeout{Queue: q, Minutes: int(q.OwnershipTimeout / time.Minute)})
		}
		if d.Log, err = u.db.SettingsLog(ctx, 20); err != nil {
			return err
		}
	}
	u.render(w, r, "settings.html", u.base(r, p, "Settings", "settings"), d)
	return nil
}

// settingsPost saves the settings form (admins): values equal to the file's remove
// their override, others are stored; all are checked together before anything is
// stored or applied.
func (u *UI) settingsPost(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	if p.Role != router.RoleAdmin {
		return errAdminOnly
	}
	ctx := r.Context()
	if err := r.ParseForm(); err != nil {
		return errBadInput
	}
	if r.PostFormValue("op") == "timeout" {
		qid, _ := strconv.ParseInt(r.PostFormValue("queue"), 10, 64)
		n, err := strconv.Atoi(strings.TrimSpace(r.PostFormValue("timeout")))
		if err != nil || n < 0 || n > 7*24*60 {
			return errors.Join(errBadInput, errors.New("the ownership timeout is a number of minutes (0 = off, at most a week)"))
		}
		if err := u.rt.SetOwnershipTimeout(ctx, p.Actor(), qid, time.Duration(n)*time.Minute); err != nil {
			return err
		}
		u.log.Info("ownership timeout changed", "by", p.Username, "queue", qid, "minutes", n)
		http.Redirect(w, r, "/admin/settings?ok="+urlQueryEscape("Ownership timeout saved."), http.StatusSeeOther)
		return nil
	}
	vals, over, err := u.settingValues(ctx)
	if err != nil {
		return err
	}
	set := map[string]string{}
	var reset []string
	for _, def := range settingDefs {
		if r.PostFormValue("reset_"+def.Name) == "1" {
			reset = append(reset, def.Name)
			vals[def.Name] = u.baseVals[def.Name]
			continue
		}
		if _, sent := r.PostForm[def.Name]; !sent && def.Kind != "bool" {
			continue // not on the form: unchanged
		}
		v, err := def.normalize(r.PostFormValue(def.Name))
		if err != nil {
			return errors.Join(errBadInput, fmt.Errorf("%s: %w", def.Label, err))
		}
		vals[def.Name] = v
		if file, err := def.normalize(u.baseVals[def.Name]); err == nil && file == v {
			if _, ok := over[def.Name]; ok {
				reset = append(reset, def.Name)
			}
			continue
		}
		set[def.Name] = v
	}
	// Check everything before storing anything.
	if _, _, err := effective(vals); err != nil {
		return errors.Join(errBadInput, err)
	}
	changes, err := u.db.SaveSettings(ctx, set, reset, p.Username, u.now())
	if err != nil {
		return err
	}
	if err := u.applySettings(ctx, p.Actor(), vals); err != nil {
		return err
	}
	for _, c := range changes {
		old, nu := c.Old, c.New
		if old == "" {
			old = "file: " + u.baseVals[c.Name]
		}
		if nu == "" {
			nu = "file: " + u.baseVals[c.Name]
		}
		u.log.Info("setting changed", "by", p.Username, "user_id", p.UserID, "setting", c.Name, "old", old, "new", nu)
	}
	msg := "No changes."
	if len(changes) > 0 {
		msg = fmt.Sprintf("Saved %d %s; in force now.", len(changes), map[bool]string{true: "change", false: "changes"}[len(changes) == 1])
	}
	http.Redirect(w, r, "/admin/settings?ok="+urlQueryEscape(msg), http.StatusSeeOther)
	return nil
}
