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
	maxSegs := "default"
	if c.Queue.MaxSegments > 0 {
		maxSegs = strconv.Itoa(c.Queue.MaxSegments) + " SMS"
	}
	return []Setting{
		{"Longest message the queue accepts", maxSegs, "queue.max_segments"},
	}
}
