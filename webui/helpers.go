package webui

import (
	"fmt"
	"html/template"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// funcs are the template helpers. None of them returns trusted HTML: every string
// they produce is escaped by html/template like any other.
var funcs = template.FuncMap{
	"initials": initials,
	"ago":      ago,
	"clock":    clock,
	"stamp":    func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	"day":      func(t time.Time) string { return t.Local().Format("Mon 2 Jan 2006") },
	"lower":    strings.ToLower,
	"preview":  preview,
	"plural": func(n int, one, many string) string {
		if n == 1 {
			return one
		}
		return many
	},
	"statusLabel": statusLabel,
	"deliveryLabel": func(s string) string {
		if l, ok := deliveryLabels[s]; ok {
			return l
		}
		return s
	},
	"dur": func(d time.Duration) string {
		if d == 0 {
			return "off"
		}
		return d.String()
	},
	"add": func(a, b int) int { return a + b },
	"sub": func(v view, d any) view { return view{base: v.base, D: d} },
	"inboxURL": func(qs string) string {
		if qs == "" {
			return "/inbox"
		}
		return "/inbox?" + qs
	},
	"convURL": func(id int64, qs string) string {
		u := "/inbox/c/" + strconv.FormatInt(id, 10)
		if qs != "" {
			u += "?" + qs
		}
		return u
	},
	"join": strings.Join,
	// pairs turns value, label, value, label, … into a list for <option>s.
	"pairs": func(s []string) []struct{ Value, Label string } {
		out := make([]struct{ Value, Label string }, 0, len(s)/2)
		for i := 0; i+1 < len(s); i += 2 {
			out = append(out, struct{ Value, Label string }{s[i], s[i+1]})
		}
		return out
	},
	"reasonLabel": func(s string) string {
		switch s {
		case "queue":
			return "New in your queue"
		case "owner":
			return "Customer replied"
		case "assigned":
			return "Assigned to you"
		case "unassigned":
			return "Taken from you"
		case "mention":
			return "You were mentioned"
		}
		return s
	},
	"hasStr": func(list []string, v string) bool { return slices.Contains(list, v) },
	"hasInt": func(list []int64, v int64) bool {
		for _, x := range list {
			if x == v {
				return true
			}
		}
		return false
	},
	"activityLabel": activityLabel,
}

// activityLabel turns an activity action into words.
func activityLabel(action string) string {
	if l, ok := activityLabels[action]; ok {
		return l
	}
	return strings.ReplaceAll(action, "_", " ")
}

var activityLabels = map[string]string{
	"accepted":        "accepted",
	"assigned":        "assigned",
	"released":        "released",
	"snoozed":         "snoozed",
	"woken":           "woke up",
	"resolved":        "resolved",
	"reopened":        "reopened",
	"closed":          "closed",
	"archived":        "archived",
	"unarchived":      "unarchived",
	"tagged":          "tagged",
	"untagged":        "removed tag",
	"no_reply_needed": "marked no reply needed",
	"needs_reply":     "marked needs reply",
	"timeout":         "ownership timed out",
}

// initials returns up to two letters for a name: "Ana Lima" → "AL", "bob" → "B".
func initials(name string) string {
	var out []rune
	for _, f := range strings.Fields(name) {
		r, _ := utf8.DecodeRuneInString(f)
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			out = append(out, unicode.ToUpper(r))
		}
		if len(out) == 2 {
			break
		}
	}
	if len(out) == 0 {
		return "?"
	}
	return string(out)
}

// ago is a short relative time for lists: "now", "5m", "3h", "2d", or a date.
func ago(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	d := time.Since(t)
	switch {
	case d < time.Minute:
		return "now"
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d/time.Minute))
	case d < 24*time.Hour:
		return fmt.Sprintf("%dh", int(d/time.Hour))
	case d < 7*24*time.Hour:
		return fmt.Sprintf("%dd", int(d/(24*time.Hour)))
	}
	return t.Local().Format("2 Jan")
}

// clock is a message's time: "14:05" today, "Tue 14:05" this week, else a date.
func clock(t time.Time) string {
	l := t.Local()
	now := time.Now()
	switch {
	case l.YearDay() == now.YearDay() && l.Year() == now.Year():
		return l.Format("15:04")
	case now.Sub(l) < 6*24*time.Hour:
		return l.Format("Mon 15:04")
	}
	return l.Format("2 Jan 15:04")
}

// preview shortens text to n characters on one line.
func preview(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n]) + "…"
}

func statusLabel(s string) string {
	switch s {
	case "NEW":
		return "New"
	case "OPEN":
		return "Open"
	case "SNOOZED":
		return "Snoozed"
	case "RESOLVED":
		return "Resolved"
	case "CLOSED":
		return "Closed"
	}
	return s
}

var deliveryLabels = map[string]string{
	"queued":     "Queued",
	"submitting": "Sending",
	"sent":       "Sent",
	"delivered":  "Delivered",
	"failed":     "Failed",
	"expired":    "Expired",
	"unknown":    "Unknown: check before resending",
	"cancelled":  "Cancelled",
	"received":   "Received",
	"partial":    "Partly delivered",
}

// safeNext keeps a post-login redirect on this site.
func safeNext(next string) string {
	if next == "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") {
		return "/inbox"
	}
	return next
}

func urlQueryEscape(s string) string { return url.QueryEscape(s) }
