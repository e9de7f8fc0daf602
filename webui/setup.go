package webui

import (
	"context"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/smsgw/smsgw/config"
)

// announceSetup logs the one-time setup link while no user exists, so the person who
// started serve or demo can create the administrator in the browser.
func (u *UI) announceSetup() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	has, err := u.auth.HasUsers(ctx)
	if err != nil {
		u.log.Error("check for users", "error", err)
		return
	}
	if has {
		return
	}
	link, err := u.auth.SetupLink(ctx, u.baseURL())
	if err != nil {
		u.log.Error("make the setup link", "error", err)
		return
	}
	u.log.Warn("no user exists yet: open this one-time link within 24 hours to create the administrator",
		"setup_url", link)
}

// baseURL is where people reach the UI: the configured public URL, or the listen
// address with an unspecified host shown as 127.0.0.1.
func (u *UI) baseURL() string {
	if u.opts.Config == nil {
		return "http://127.0.0.1:8080/"
	}
	if u.opts.Config.PublicURL != "" {
		return strings.TrimSuffix(u.opts.Config.PublicURL, "/") + "/"
	}
	host, port, err := net.SplitHostPort(u.opts.Config.Listen)
	if err != nil {
		return "http://" + u.opts.Config.Listen + "/"
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port) + "/"
}

// configSettings are the configuration values the settings page shows.
func configSettings(c config.Config) []Setting {
	onOff := func(b bool) string {
		if b {
			return "on"
		}
		return "off"
	}
	dur := func(d time.Duration) string {
		if d == 0 {
			return "off"
		}
		return d.String()
	}
	quiet := "off"
	if c.Queue.QuietStart != "" {
		quiet = c.Queue.QuietStart + "–" + c.Queue.QuietEnd
		if c.Queue.Timezone != "" {
			quiet += " (" + c.Queue.Timezone + ")"
		}
	}
	maxSegs := "default"
	if c.Queue.MaxSegments > 0 {
		maxSegs = strconv.Itoa(c.Queue.MaxSegments) + " SMS"
	}
	return []Setting{
		{"Grace window", dur(c.Inbox.GraceWindow), "inbox.grace_window: a reply this soon after resolving reopens the conversation"},
		{"Auto-resolve after", dur(c.Inbox.AutoResolveAfter), "inbox.auto_resolve_after"},
		{"Dispatchers see others' conversations", c.Inbox.DispatcherSeeOthers, "inbox.dispatcher_see_others: all, queue or none"},
		{"Dispatchers reply in others' conversations", c.Inbox.DispatcherReplyOthers, "inbox.dispatcher_reply_others: allow, warn or deny"},
		{"Dispatchers assign and take over", onOff(c.Inbox.DispatcherAssign), "inbox.dispatcher_assign"},
		{"A reply accepts a new conversation", onOff(c.Inbox.AutoAccept), "inbox.auto_accept"},
		{"Return to the last owner", onOff(c.Inbox.ReturnToLastOwner), "inbox.return_to_last_owner"},
		{"Quiet hours for automated messages", quiet, "queue.quiet_start / quiet_end / timezone"},
		{"Longest message the queue accepts", maxSegs, "queue.max_segments"},
		{"Unread", "per user", "each person has their own read marker; the team-wide \"needs reply\" flag is cleared by a reply or \"No reply needed\""},
	}
}
