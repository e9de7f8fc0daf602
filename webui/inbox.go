package webui

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/smsgw/smsgw/auth"
	"github.com/smsgw/smsgw/modem"
	"github.com/smsgw/smsgw/router"
	"github.com/smsgw/smsgw/store"
)

// listQuery is the inbox view: which conversations the middle pane lists. It lives in
// the URL, so every view can be bookmarked and works without JavaScript.
type listQuery struct {
	Owner    string // "me", "unowned", "others" or a user id
	Status   string // NEW, OPEN, SNOOZED, RESOLVED, CLOSED or "" (all but CLOSED)
	Queue    int64
	Line     string
	Tag      string
	Needs    bool
	Unread   bool
	Archived bool
	Q        string // search: contact name or number
	Cursor   string
}

func parseQuery(v url.Values) listQuery {
	q := listQuery{Owner: v.Get("owner"), Status: strings.ToUpper(v.Get("status")), Line: v.Get("line"),
		Tag: v.Get("tag"), Needs: v.Get("needs") == "1", Unread: v.Get("unread") == "1",
		Archived: v.Get("archived") == "1", Q: strings.TrimSpace(v.Get("q")), Cursor: v.Get("cursor")}
	q.Queue, _ = strconv.ParseInt(v.Get("queue"), 10, 64)
	switch q.Status {
	case store.StatusNew, store.StatusOpen, store.StatusSnoozed, store.StatusResolved, store.StatusClosed:
	default:
		q.Status = ""
	}
	return q
}

// Encode is the view as a query string (without the cursor), in a stable order so
// folder links can be compared with the current view.
func (q listQuery) Encode() string {
	v := url.Values{}
	if q.Owner != "" {
		v.Set("owner", q.Owner)
	}
	if q.Status != "" {
		v.Set("status", q.Status)
	}
	if q.Queue != 0 {
		v.Set("queue", strconv.FormatInt(q.Queue, 10))
	}
	if q.Line != "" {
		v.Set("line", q.Line)
	}
	if q.Tag != "" {
		v.Set("tag", q.Tag)
	}
	if q.Needs {
		v.Set("needs", "1")
	}
	if q.Unread {
		v.Set("unread", "1")
	}
	if q.Archived {
		v.Set("archived", "1")
	}
	if q.Q != "" {
		v.Set("q", q.Q)
	}
	return v.Encode()
}

func (q listQuery) filter(ctx context.Context, db *store.DB) (store.ConversationFilter, error) {
	f := store.ConversationFilter{QueueID: q.Queue, Line: q.Line, NeedsReply: q.Needs, Unread: q.Unread,
		Archived: q.Archived, Cursor: q.Cursor, Limit: 50}
	switch q.Owner {
	case "":
	case "me":
		f.Owner = store.OwnerMe
	case "unowned":
		f.Owner = store.OwnerUnowned
	case "others":
		f.Owner = store.OwnerOthers
	default:
		id, err := strconv.ParseInt(q.Owner, 10, 64)
		if err != nil {
			return f, errBadInput
		}
		f.Owner, f.OwnerID = store.OwnerUser, id
	}
	if q.Status != "" {
		f.Statuses = []string{q.Status}
	}
	if q.Tag != "" {
		id, err := db.TagID(ctx, q.Tag)
		if errors.Is(err, store.ErrNotFound) {
			f.TagID = -1 // no such tag: an empty list
		} else if err != nil {
			return f, err
		} else {
			f.TagID = id
		}
	}
	return f, nil
}

// folder is one entry of the left pane.
type folder struct {
	Label  string
	Query  string
	Count  int
	Active bool
	Strong bool // the count needs attention (unread, unassigned)
}

type folderGroup struct {
	Title   string
	Folders []folder
}

type foldersData struct {
	Groups []folderGroup
	Counts store.ConversationCounts
}

func (u *UI) folders(ctx context.Context, p auth.Principal, cur listQuery) (foldersData, error) {
	a := p.Actor()
	counts, err := u.rt.Counts(ctx, a)
	if err != nil {
		return foldersData{}, err
	}
	current := cur.Encode()
	mk := func(label string, q listQuery, count int, strong bool) folder {
		e := q.Encode()
		return folder{Label: label, Query: e, Count: count, Active: e == current, Strong: strong && count > 0}
	}
	d := foldersData{Counts: counts}
	d.Groups = append(d.Groups, folderGroup{Title: "Inbox", Folders: []folder{
		mk("Unassigned", listQuery{Owner: "unowned", Status: store.StatusNew}, counts.Unowned, true),
		mk("Mine", listQuery{Owner: "me"}, counts.Mine, false),
		mk("Needs reply", listQuery{Needs: true}, counts.NeedsReply, false),
		mk("Unread", listQuery{Unread: true}, counts.Unread, true),
		mk("All", listQuery{}, -1, false),
	}})
	st := folderGroup{Title: "Status"}
	for _, s := range []string{store.StatusNew, store.StatusOpen, store.StatusSnoozed, store.StatusResolved, store.StatusClosed} {
		st.Folders = append(st.Folders, mk(statusLabel(s), listQuery{Status: s}, -1, false))
	}
	st.Folders = append(st.Folders, mk("Archived", listQuery{Archived: true}, -1, false))
	d.Groups = append(d.Groups, st)

	if lines, err := u.rt.Lines(ctx, a); err == nil && len(lines) > 0 {
		g := folderGroup{Title: "Lines"}
		for _, l := range lines {
			g.Folders = append(g.Folders, mk(l.Name, listQuery{Line: l.Name}, -1, false))
		}
		d.Groups = append(d.Groups, g)
	}
	if queues, err := u.rt.Queues(ctx, a); err == nil && len(queues) > 1 {
		g := folderGroup{Title: "Queues"}
		for _, q := range queues {
			g.Folders = append(g.Folders, mk(q.Name, listQuery{Queue: q.ID}, -1, false))
		}
		d.Groups = append(d.Groups, g)
	}
	if p.Role != router.RoleDispatcher {
		if agents, err := u.rt.Agents(ctx, a); err == nil {
			g := folderGroup{Title: "Agents"}
			for _, ag := range agents {
				if ag.Disabled || ag.Role == router.RoleViewer || ag.ID == p.UserID {
					continue
				}
				g.Folders = append(g.Folders, mk(ag.Name(), listQuery{Owner: strconv.FormatInt(ag.ID, 10)}, -1, false))
			}
			if len(g.Folders) > 0 {
				d.Groups = append(d.Groups, g)
			}
		}
	}
	if tags, err := u.db.Tags(ctx); err == nil && len(tags) > 0 {
		g := folderGroup{Title: "Tags"}
		for _, t := range tags {
			g.Folders = append(g.Folders, mk("#"+t, listQuery{Tag: t}, -1, false))
		}
		d.Groups = append(d.Groups, g)
	}
	return d, nil
}

// listItem is one row of the middle pane.
type listItem struct {
	store.ConversationItem
	Name       string
	Number     string
	Preview    string
	PreviewDir string
	PreviewWho string // who wrote an outbound last message: "You", a first name, "Auto"
	Owner      string
	Tags       []string
	Active     bool
}

type listData struct {
	Query  listQuery
	QS     string
	Items  []listItem
	Next   string // URL of the next (older) page, or ""
	Active int64
	Title  string
}

func (u *UI) list(ctx context.Context, p auth.Principal, q listQuery, active int64) (listData, error) {
	d := listData{Query: q, QS: q.Encode(), Active: active}
	var items []store.ConversationItem
	if q.Q != "" {
		found, err := u.search(ctx, p, q)
		if err != nil {
			return d, err
		}
		items = found
	} else {
		f, err := q.filter(ctx, u.db)
		if err != nil {
			return d, err
		}
		if f.TagID >= 0 {
			page, err := u.rt.Conversations(ctx, p.Actor(), f)
			if err != nil {
				return d, err
			}
			items = page.Items
			if page.Next != "" {
				v, _ := url.ParseQuery(q.Encode())
				v.Set("cursor", page.Next)
				d.Next = "/inbox?" + v.Encode()
			}
		}
	}
	for _, it := range items {
		li := listItem{ConversationItem: it, Active: it.ID == active}
		if c, err := u.db.Contact(ctx, it.ContactID); err == nil {
			li.Name = c.Name
			if len(c.Numbers) > 0 {
				li.Number = c.Numbers[0]
			}
		}
		if it.LastMessageID != 0 {
			if m, err := u.db.ThreadMessage(ctx, it.LastMessageID); err == nil {
				li.Preview, li.PreviewDir = preview(m.Body, 90), m.Direction
				switch {
				case m.Direction != "out":
				case m.AuthorID == p.UserID:
					li.PreviewWho = "You"
				case m.AuthorID != 0:
					if ag, ok := u.agent(ctx, m.AuthorID); ok {
						li.PreviewWho = strings.SplitN(ag.Name(), " ", 2)[0]
					}
				default:
					li.PreviewWho = "Auto"
				}
			}
		}
		if it.OwnerID != 0 {
			if ag, ok := u.agent(ctx, it.OwnerID); ok {
				li.Owner = ag.Name()
			}
		}
		li.Tags, _ = u.db.ConversationTags(ctx, it.ID)
		d.Items = append(d.Items, li)
	}
	return d, nil
}

// search finds conversations in any status, archived or not, whose contact's name or
// number, or whose messages, contain every word of the query (the store's full-text
// index), newest activity first.
func (u *UI) search(ctx context.Context, p auth.Principal, q listQuery) ([]store.ConversationItem, error) {
	all := []string{store.StatusNew, store.StatusOpen, store.StatusSnoozed, store.StatusResolved, store.StatusClosed}
	var out []store.ConversationItem
	for _, archived := range []bool{false, true} {
		page, err := u.rt.Conversations(ctx, p.Actor(), store.ConversationFilter{Search: q.Q, Statuses: all,
			Archived: archived, Limit: 100})
		if err != nil {
			return nil, err
		}
		out = append(out, page.Items...)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].LastActivityAt.After(out[j].LastActivityAt) })
	if len(out) > 100 {
		out = out[:100]
	}
	return out, nil
}

// inboxData is the whole inbox page.
type inboxData struct {
	Folders foldersData
	List    listData
	Panel   *panelData
	Lines   []store.Line
}

func (u *UI) inbox(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	ctx := r.Context()
	q := parseQuery(r.URL.Query())
	var id int64
	if s := mux.Vars(r)["id"]; s != "" {
		id, _ = strconv.ParseInt(s, 10, 64)
	}
	var d inboxData
	var err error
	d.Lines, _ = u.rt.Lines(ctx, p.Actor())
	title := "Inbox"
	if id != 0 { // first: opening it marks it read, which the list and counts show
		pd, err := u.panel(ctx, p, id, q)
		if err != nil {
			return err
		}
		d.Panel = &pd
		title = pd.Name
	}
	if d.Folders, err = u.folders(ctx, p, q); err != nil {
		return err
	}
	if d.List, err = u.list(ctx, p, q, id); err != nil {
		return err
	}
	u.render(w, r, "inbox.html", u.base(r, p, title, "inbox"), d)
	return nil
}

func (u *UI) listFragment(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	q := parseQuery(r.URL.Query())
	active, _ := strconv.ParseInt(r.URL.Query().Get("active"), 10, 64)
	d, err := u.list(r.Context(), p, q, active)
	if err != nil {
		return err
	}
	u.fragment(w, "list", u.base(r, p, "", "inbox"), d)
	return nil
}

func (u *UI) foldersFragment(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	d, err := u.folders(r.Context(), p, parseQuery(r.URL.Query()))
	if err != nil {
		return err
	}
	u.fragment(w, "folders", u.base(r, p, "", "inbox"), d)
	return nil
}

// countsJSON feeds the title, the favicon badge and the bell.
func (u *UI) countsJSON(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	c, err := u.rt.Counts(r.Context(), p.Actor())
	if err != nil {
		return err
	}
	alerts, err := u.rt.Alerts(r.Context(), p.Actor(), store.AlertActive)
	if err != nil {
		return err
	}
	writeJSON(w, map[string]any{"mine": c.Mine, "unowned": c.Unowned, "needs_reply": c.NeedsReply,
		"unread": c.Unread, "alerts": len(alerts)})
	return nil
}

// panelData is one open conversation: header, contact, thread and composer.
type panelData struct {
	V            router.ConversationView
	Name         string
	Number       string
	Thread       store.Thread
	Owner        string
	LastOwner    string
	Mine         bool
	OtherOwner   bool
	Items        []threadItem
	Episodes     []store.Conversation
	Jobs         []string
	Agents       []store.Agent
	QuickReplies []store.QuickReply
	Lines        []store.Line
	SendLines    []lineChoice // lines the agent may reply from, the thread's first
	Sent         int          // agent messages to this customer within the window
	WindowWarn   int
	WindowHours  int
	MaxChars     int
	Pending      bool // outbound messages not final yet: the script polls
	Back         string
	Key          string // idempotency key of the composer
	More         bool   // older messages exist
	Others       []store.Contact
}

// threadItem is one line of the thread: a message bubble, a note, an activity line or
// an episode divider.
type threadItem struct {
	Type     string // msg, note, activity, divider
	At       time.Time
	ID       int64
	Dir      string // in, out
	Kind     string
	Body     string
	Author   string
	Initials string
	Status   string
	Parts    string // per-part delivery for the tooltip
	Segments int
	Encoding string
	Action   string
	Detail   string
	Finish   bool // resolved / closed: "conversation finished" in the event filter
	Episode  int64
	Line     string
}

const threadLimit = 200

func (u *UI) panel(ctx context.Context, p auth.Principal, id int64, q listQuery) (panelData, error) {
	a := p.Actor()
	d := panelData{WindowWarn: u.opts.WindowWarn, WindowHours: int(u.opts.WindowPeriod / time.Hour),
		MaxChars: u.opts.MaxChars, Key: randomKey()}
	v, err := u.rt.Conversation(ctx, a, id)
	if err != nil {
		return d, err
	}
	d.V = v
	d.Back = "/inbox/c/" + strconv.FormatInt(id, 10)
	if qs := q.Encode(); qs != "" {
		d.Back += "?" + qs
	}
	d.Name = v.Contact.Name
	if d.Thread, err = u.db.Thread(ctx, v.ThreadID); err != nil {
		return d, err
	}
	d.Number = d.Thread.Peer
	if v.OwnerID != 0 {
		if ag, ok := u.agent(ctx, v.OwnerID); ok {
			d.Owner = ag.Name()
		}
	}
	if v.LastOwnerID != 0 {
		if ag, ok := u.agent(ctx, v.LastOwnerID); ok {
			d.LastOwner = ag.Name()
		}
	}
	d.Mine = v.OwnerID == p.UserID
	d.OtherOwner = v.OwnerID != 0 && !d.Mine
	if d.Items, d.More, err = u.thread(ctx, p, v); err != nil {
		return d, err
	}
	since := u.now().Add(-u.opts.WindowPeriod)
	for _, it := range d.Items {
		if it.Type == "msg" && it.Dir == "out" && it.At.After(since) {
			d.Sent++
		}
		if it.Type == "msg" && it.Dir == "out" && pendingStatus(it.Status) {
			d.Pending = true
		}
	}
	if d.Episodes, err = u.rt.Episodes(ctx, a, id); err != nil {
		return d, err
	}
	seen := map[string]bool{}
	for _, e := range d.Episodes {
		if e.JobRef != "" && !seen[e.JobRef] {
			seen[e.JobRef] = true
			d.Jobs = append(d.Jobs, e.JobRef)
		}
	}
	if d.Thread.JobRef != "" && !seen[d.Thread.JobRef] {
		d.Jobs = append(d.Jobs, d.Thread.JobRef)
	}
	if agents, err := u.rt.Agents(ctx, a); err == nil {
		for _, ag := range agents {
			if !ag.Disabled && ag.Role != router.RoleViewer {
				d.Agents = append(d.Agents, ag)
			}
		}
	}
	d.QuickReplies, _ = u.rt.QuickReplies(ctx, a)
	d.Lines, _ = u.rt.Lines(ctx, a)
	d.SendLines = u.sendLines(ctx, p, d.Thread.Line, d.Lines)
	// Opening a conversation reads it (the per-user marker; "mark unread" undoes it).
	if v.ReadMarker < v.LastMessageID && p.Role != "" {
		if err := u.rt.MarkRead(ctx, a, id, v.LastMessageID); err != nil {
			u.log.Warn("mark read", "conversation", id, "error", err)
		}
	}
	return d, nil
}

func pendingStatus(s string) bool {
	return s == "queued" || s == "submitting" || s == "sent"
}

// thread merges the messages, notes, activity and episode boundaries of a
// conversation's thread, oldest first.
func (u *UI) thread(ctx context.Context, p auth.Principal, v router.ConversationView) ([]threadItem, bool, error) {
	a := p.Actor()
	msgs, err := u.rt.Messages(ctx, a, v.ID, 0, threadLimit)
	if err != nil {
		return nil, false, err
	}
	more := len(msgs) == threadLimit
	var oldest time.Time
	if more {
		oldest = msgs[len(msgs)-1].CreatedAt
	}
	var items []threadItem
	parts := 0
	for _, m := range msgs {
		it := threadItem{Type: "msg", At: m.CreatedAt, ID: m.ID, Dir: m.Direction, Kind: m.Kind, Body: m.Body,
			Status: m.Status, Segments: m.Segments, Encoding: m.Encoding, Line: m.Line}
		if m.AuthorID != 0 {
			if ag, ok := u.agent(ctx, m.AuthorID); ok {
				it.Author = ag.Name()
				it.Initials = initials(ag.Name())
			}
		}
		if m.Direction == "out" && parts < 60 {
			parts++
			if full, err := u.db.MessageByUID(ctx, m.UID); err == nil {
				it.Parts = partsText(full)
			}
		}
		items = append(items, it)
	}
	notes, err := u.rt.Notes(ctx, a, v.ID, 0, threadLimit)
	if err != nil {
		return nil, false, err
	}
	for _, n := range notes {
		if more && n.CreatedAt.Before(oldest) {
			continue
		}
		it := threadItem{Type: "note", At: n.CreatedAt, ID: n.ID, Body: n.Body, Episode: n.ConversationID}
		if ag, ok := u.agent(ctx, n.AuthorID); ok {
			it.Author, it.Initials = ag.Name(), initials(ag.Name())
		}
		items = append(items, it)
	}
	episodes, err := u.rt.Episodes(ctx, a, v.ID)
	if err != nil {
		return nil, false, err
	}
	for i, e := range episodes {
		if more && e.CreatedAt.Before(oldest) {
			continue
		}
		label := "Conversation opened"
		if i > 0 {
			label = "New conversation"
		}
		items = append(items, threadItem{Type: "divider", At: e.CreatedAt, ID: e.ID, Episode: e.ID, Action: label})
		acts, err := u.rt.Activity(ctx, a, e.ID)
		if err != nil {
			continue // an earlier episode this user may not see
		}
		for _, ac := range acts {
			if ac.Action == "created" || (more && ac.CreatedAt.Before(oldest)) {
				continue
			}
			it := threadItem{Type: "activity", At: ac.CreatedAt, ID: ac.ID, Action: ac.Action, Detail: ac.Detail,
				Episode: e.ID, Finish: ac.Action == "resolved" || ac.Action == "closed"}
			if ac.ActorID != 0 {
				if ag, ok := u.agent(ctx, ac.ActorID); ok {
					it.Author = ag.Name()
				}
			}
			items = append(items, it)
		}
	}
	rank := map[string]int{"divider": 0, "activity": 1, "msg": 2, "note": 3}
	sort.SliceStable(items, func(i, j int) bool {
		if !items[i].At.Equal(items[j].At) {
			return items[i].At.Before(items[j].At)
		}
		if rank[items[i].Type] != rank[items[j].Type] {
			return rank[items[i].Type] < rank[items[j].Type]
		}
		return items[i].ID < items[j].ID
	})
	return items, more, nil
}

// partsText describes the delivery of each part of an outbound message.
func partsText(m store.Message) string {
	if len(m.Parts) == 0 {
		return ""
	}
	var b strings.Builder
	for i, pt := range m.Parts {
		if i > 0 {
			b.WriteString("\n")
		}
		b.WriteString("Part " + strconv.Itoa(pt.Seq) + "/" + strconv.Itoa(pt.Total) + ": " + deliveryState(pt))
		if pt.Modem != "" {
			b.WriteString(" via " + pt.Modem)
		}
		if pt.Error != "" {
			b.WriteString(" (" + pt.Error + ")")
		}
	}
	return b.String()
}

func deliveryState(pt store.Part) string {
	s := pt.State
	if l, ok := deliveryLabels[s]; ok {
		s = l
	}
	switch {
	case !pt.ReportedAt.IsZero():
		s += " " + clock(pt.ReportedAt)
	case !pt.SubmittedAt.IsZero():
		s += " " + clock(pt.SubmittedAt)
	}
	return s
}

func (u *UI) panelFragment(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	id, _ := strconv.ParseInt(mux.Vars(r)["id"], 10, 64)
	d, err := u.panel(r.Context(), p, id, parseQuery(r.URL.Query()))
	if err != nil {
		return err
	}
	u.fragment(w, "panel", u.base(r, p, "", "inbox"), d)
	return nil
}

// threadFragment re-renders the thread and header of an open conversation, leaving
// the composer (and what the agent is typing) alone.
func (u *UI) threadFragment(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	id, _ := strconv.ParseInt(mux.Vars(r)["id"], 10, 64)
	d, err := u.panel(r.Context(), p, id, parseQuery(r.URL.Query()))
	if err != nil {
		return err
	}
	u.fragment(w, "live", u.base(r, p, "", "inbox"), d)
	return nil
}

// quickRender fills a quick reply for the composer.
func (u *UI) quickRender(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	vars := mux.Vars(r)
	id, _ := strconv.ParseInt(vars["id"], 10, 64)
	qid, _ := strconv.ParseInt(vars["qid"], 10, 64)
	fields := map[string]string{}
	for k, vs := range r.URL.Query() {
		if name, ok := strings.CutPrefix(k, "field."); ok && len(vs) > 0 {
			fields[name] = vs[0]
		}
	}
	body, err := u.rt.RenderQuickReply(r.Context(), p.Actor(), id, qid, fields)
	if err != nil {
		return err
	}
	writeJSON(w, map[string]string{"body": body})
	return nil
}

// snoozePresets turn a preset name into a time.
func snoozeUntil(preset string, now time.Time, custom string) (time.Time, bool, error) {
	local := now.Local()
	next9 := func(days int) time.Time {
		d := local.AddDate(0, 0, days)
		return time.Date(d.Year(), d.Month(), d.Day(), 9, 0, 0, 0, local.Location())
	}
	switch preset {
	case "1h":
		return now.Add(time.Hour), true, nil
	case "3h":
		return now.Add(3 * time.Hour), true, nil
	case "tomorrow":
		return next9(1), true, nil
	case "week":
		days := (8 - int(local.Weekday())) % 7
		if days == 0 {
			days = 7
		}
		return next9(days), true, nil
	case "reply":
		return time.Time{}, true, nil
	case "until":
		t, err := time.ParseInLocation("2006-01-02T15:04", custom, time.Local)
		if err != nil {
			return t, false, errBadInput
		}
		return t, true, nil
	}
	return time.Time{}, false, errBadInput
}

// convAction performs one conversation action from a form or the script.
func (u *UI) convAction(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	ctx := r.Context()
	a := p.Actor()
	vars := mux.Vars(r)
	id, _ := strconv.ParseInt(vars["id"], 10, 64)
	back := safeNext(r.PostFormValue("back"))
	if !strings.HasPrefix(back, "/inbox") {
		back = "/inbox/c/" + strconv.FormatInt(id, 10)
	}
	var err error
	flash := ""
	switch vars["action"] {
	case "accept":
		_, err = u.rt.Accept(ctx, a, id)
	case "release":
		_, err = u.rt.Release(ctx, a, id)
	case "assign":
		to, perr := strconv.ParseInt(r.PostFormValue("user"), 10, 64)
		if perr != nil {
			return errBadInput
		}
		_, err = u.rt.Assign(ctx, a, id, to)
	case "snooze":
		until, _, perr := snoozeUntil(r.PostFormValue("preset"), u.now(), r.PostFormValue("until"))
		if perr != nil {
			return perr
		}
		_, err = u.rt.Snooze(ctx, a, id, until, true)
	case "resolve":
		_, err = u.rt.Resolve(ctx, a, id)
	case "reopen":
		var c store.Conversation
		if c, err = u.rt.Reopen(ctx, a, id); err == nil && c.ID != id {
			back = "/inbox/c/" + strconv.FormatInt(c.ID, 10)
		}
	case "archive":
		_, err = u.rt.Archive(ctx, a, id, true)
	case "unarchive":
		_, err = u.rt.Archive(ctx, a, id, false)
	case "unread":
		err = u.rt.MarkUnread(ctx, a, id)
		if err == nil && !isFetch(r) {
			back = "/inbox" // staying would read it again
		}
	case "noreply":
		_, err = u.rt.SetNeedsReply(ctx, a, id, false)
	case "tag":
		for _, t := range strings.Split(r.PostFormValue("tag"), ",") {
			if t = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(t), "#")); t != "" {
				if _, err = u.rt.Tag(ctx, a, id, t, true); err != nil {
					break
				}
			}
		}
	case "untag":
		_, err = u.rt.Tag(ctx, a, id, r.PostFormValue("tag"), false)
	case "note":
		_, err = u.rt.AddNote(ctx, a, id, r.PostFormValue("body"))
	case "reply":
		body := r.PostFormValue("body")
		if n := len([]rune(strings.TrimSpace(body))); n > u.opts.MaxChars {
			return errors.Join(errBadInput, errors.New("the message is longer than "+strconv.Itoa(u.opts.MaxChars)+" characters"))
		}
		_, err = u.rt.ReplyWith(ctx, a, id, router.ReplyRequest{Body: body, Force: r.PostFormValue("force") == "1",
			IdempotencyKey: keyFor(p, r.PostFormValue("key")), Line: r.PostFormValue("line")})
		flash = "Sent."
	default:
		return errNotFound
	}
	if err != nil {
		return err
	}
	if vars["action"] != "reply" {
		flash = ""
	}
	redirectBack(w, r, back, flash)
	return nil
}

// keyFor scopes a composer's idempotency key to its user.
func keyFor(p auth.Principal, key string) string {
	if key == "" || len(key) > 64 {
		return ""
	}
	return "webui:" + strconv.FormatInt(p.UserID, 10) + ":" + key
}

// contactAction edits the contact shown in a conversation's side panel.
func (u *UI) contactAction(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	ctx := r.Context()
	a := p.Actor()
	vars := mux.Vars(r)
	id, _ := strconv.ParseInt(vars["id"], 10, 64)
	back := safeNext(r.PostFormValue("back"))
	var err error
	switch vars["action"] {
	case "edit":
		name := strings.TrimSpace(r.PostFormValue("name"))
		typ := r.PostFormValue("type")
		ch := router.ContactChanges{Name: &name}
		if typ != "" {
			ch.Type = &typ
		}
		_, err = u.rt.UpdateContact(ctx, a, id, ch)
	case "optout":
		_, err = u.rt.SetOptOut(ctx, a, id, r.PostFormValue("on") == "1")
	case "block":
		_, err = u.rt.Block(ctx, a, id, r.PostFormValue("on") == "1")
	case "number":
		_, err = u.rt.AddNumber(ctx, a, id, r.PostFormValue("number"))
	case "unnumber":
		_, err = u.rt.RemoveNumber(ctx, a, id, r.PostFormValue("number"))
	case "merge":
		// Merge another contact (found by number) into this one.
		var other store.Contact
		other, err = u.rt.ContactByNumber(ctx, a, r.PostFormValue("number"))
		if err == nil {
			if other.ID == id {
				return errors.Join(errBadInput, errors.New("that number already belongs to this contact"))
			}
			_, err = u.rt.MergeContacts(ctx, a, id, other.ID)
		}
	default:
		return errNotFound
	}
	if err != nil {
		return err
	}
	redirectBack(w, r, back, "")
	return nil
}

// newConversation texts a number first.
func (u *UI) newConversation(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	c, _, err := u.rt.StartConversation(r.Context(), p.Actor(), r.PostFormValue("number"), r.PostFormValue("line"),
		r.PostFormValue("body"))
	if err != nil {
		return err
	}
	to := "/inbox/c/" + strconv.FormatInt(c.ID, 10)
	if isFetch(r) {
		writeJSON(w, map[string]any{"id": c.ID, "url": to})
		return nil
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
	return nil
}

// lineChoice is a line in the composer's picker with the state of its modems.
type lineChoice struct {
	Name  string
	Ready bool   // a modem serving it is ready
	State string // "ready", the state of its modem(s), or "no modem"
}

// sendLines lists the lines p may reply from, the thread's own first: every line for
// admins and supervisors, those routed to their queues for others (as
// router.ReplyRequest.Line allows).
func (u *UI) sendLines(ctx context.Context, p auth.Principal, threadLine string, lines []store.Line) []lineChoice {
	states := u.lineStates()
	mk := func(name string) lineChoice {
		st, ok := states[name]
		if !ok {
			if len(u.opts.Routes) == 0 {
				return lineChoice{Name: name, Ready: true}
			}
			st = "no modem"
		}
		return lineChoice{Name: name, Ready: st == string(modem.StateReady), State: st}
	}
	out := []lineChoice{mk(threadLine)}
	manager := p.Role == router.RoleAdmin || p.Role == router.RoleSupervisor
	ag, _ := u.agent(ctx, p.UserID)
	for _, l := range lines {
		if l.Name == threadLine || (!manager && !slices.Contains(ag.Queues, l.QueueID)) {
			continue
		}
		out = append(out, mk(l.Name))
	}
	return out
}

// lineStates maps each routed line to "ready" when one of its modems is, else to the
// state of its first modem.
func (u *UI) lineStates() map[string]string {
	byName := map[string]modem.State{}
	for _, s := range u.sessions() {
		byName[s.Name()] = s.Status().State
	}
	out := map[string]string{}
	for _, rt := range u.opts.Routes {
		named, ok := rt.Sender.(interface{ Name() string })
		if !ok {
			continue
		}
		st, ok := byName[named.Name()]
		if !ok {
			continue
		}
		for _, l := range rt.Lines {
			if cur, seen := out[l]; !seen || (cur != string(modem.StateReady) && st == modem.StateReady) {
				out[l] = string(st)
			}
		}
	}
	return out
}
