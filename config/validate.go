package config

import (
	"errors"
	"fmt"
	"net"
	"net/mail"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Problem is one thing wrong with a configuration: the key that has it, what is wrong,
// and how to fix it.
type Problem struct {
	Key string
	Msg string
	Fix string
}

func (p Problem) Error() string {
	s := p.Key + ": " + p.Msg
	if p.Fix != "" {
		s += " (" + p.Fix + ")"
	}
	return s
}

// ValidationError lists every problem Validate found.
type ValidationError struct {
	Problems []Problem
}

func (e *ValidationError) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = "  - " + p.Error()
	}
	return fmt.Sprintf("config: %d problem(s):\n%s", len(e.Problems), strings.Join(lines, "\n"))
}

// nationalLanguages are the language names of TS 23.038 §6.2.1.2.4 (the sms package
// maps them to identifiers; config imports nothing of ours, so the names are listed here).
var nationalLanguages = map[string]bool{"turkish": true, "spanish": true, "portuguese": true, "bengali": true,
	"gujarati": true, "hindi": true, "kannada": true, "malayalam": true, "oriya": true, "punjabi": true,
	"tamil": true, "telugu": true, "urdu": true}

var (
	regionRE = regexp.MustCompile(`^[A-Z]{2}$`)
	imeiRE   = regexp.MustCompile(`^[0-9]{14,16}$`)
	pinRE    = regexp.MustCompile(`^[0-9]{4,8}$`)
)

// Validate checks the whole configuration and returns a *ValidationError naming every
// problem, or nil.
func (c *Config) Validate() error {
	var ps []Problem
	add := func(key, msg, fix string) { ps = append(ps, Problem{key, msg, fix}) }

	if _, port, err := net.SplitHostPort(c.Listen); err != nil || port == "" {
		add("listen", fmt.Sprintf("%q is not a host:port address", c.Listen),
			`write it as ":8080" or "127.0.0.1:8080"`)
	}
	if c.PublicURL != "" {
		if u, err := url.Parse(c.PublicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			add("public_url", fmt.Sprintf("%q is not an http(s) URL", c.PublicURL), `e.g. "https://sms.example.lan"`)
		}
	}
	if c.StateDir == "" && c.Database == "" {
		add("state_dir", "is empty and no database is set", "set state_dir (e.g. /var/lib/smsgw) or database")
	}
	if c.Region != "" && !regionRE.MatchString(c.Region) {
		add("region", fmt.Sprintf("%q is not a two-letter ISO 3166 region code", c.Region), `e.g. "DE", "GB", "US"`)
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		add("log.level", fmt.Sprintf("%q is not a log level", c.Log.Level), "use debug, info, warn or error")
	}
	if c.Log.EventLogDays < 1 {
		add("log.event_log_days", fmt.Sprintf("%d is too short", c.Log.EventLogDays), "keep the event log at least 1 day (30 is the default)")
	}
	switch c.Log.Format {
	case "text", "json":
	default:
		add("log.format", fmt.Sprintf("%q is not a log format", c.Log.Format), "use text or json")
	}

	positive := func(key string, d time.Duration) {
		if d <= 0 {
			add(key, fmt.Sprintf("must be longer than zero, is %s", d), "use a duration such as 30s or 5m")
		}
	}
	positive("http.read_header_timeout", c.HTTP.ReadHeaderTimeout)
	positive("http.shutdown_timeout", c.HTTP.ShutdownTimeout)
	if c.HTTP.MaxBodyBytes < 1024 {
		add("http.max_body_bytes", fmt.Sprintf("%d is too small", c.HTTP.MaxBodyBytes), "use at least 1024")
	}
	switch strings.ToLower(c.HTTP.SecureCookies) {
	case "auto", "true", "false":
	default:
		add("http.secure_cookies", fmt.Sprintf("%q is not auto, true or false", c.HTTP.SecureCookies),
			"use auto (Secure when public_url is https://), true behind a TLS proxy, or false")
	}
	if strings.EqualFold(c.HTTP.SecureCookies, "false") && strings.HasPrefix(strings.ToLower(c.PublicURL), "https://") {
		add("http.secure_cookies", "is false although public_url is https://", "use auto or true, so the session cookie never travels unencrypted")
	}

	if c.Auth.SessionTTL < time.Minute || c.Auth.SessionTTL > 90*24*time.Hour {
		add("auth.session_ttl", fmt.Sprintf("%s is outside 1m to 2160h (90 days)", c.Auth.SessionTTL), "use e.g. 12h")
	}
	if c.Auth.MaxFailuresPerUser < 1 || c.Auth.MaxFailuresPerUser > 1000 {
		add("auth.max_failures_per_user", fmt.Sprintf("%d is outside 1 to 1000", c.Auth.MaxFailuresPerUser), "use e.g. 5")
	}
	if c.Auth.MaxFailuresPerIP < 1 || c.Auth.MaxFailuresPerIP > 10000 {
		add("auth.max_failures_per_ip", fmt.Sprintf("%d is outside 1 to 10000", c.Auth.MaxFailuresPerIP), "use e.g. 20")
	} else if c.Auth.MaxFailuresPerIP < c.Auth.MaxFailuresPerUser {
		add("auth.max_failures_per_ip", fmt.Sprintf("%d is less than auth.max_failures_per_user (%d)", c.Auth.MaxFailuresPerIP, c.Auth.MaxFailuresPerUser),
			"an address must be allowed at least as many failures as one username")
	}

	positive("webhook.retry_base", c.Webhook.RetryBase)
	positive("webhook.retry_max", c.Webhook.RetryMax)
	positive("webhook.max_age", c.Webhook.MaxAge)
	if c.Webhook.RetryBase > 0 && c.Webhook.RetryMax > 0 && c.Webhook.RetryMax < c.Webhook.RetryBase {
		add("webhook.retry_max", fmt.Sprintf("%s is shorter than webhook.retry_base (%s)", c.Webhook.RetryMax, c.Webhook.RetryBase),
			"use a retry_max at least as long as retry_base")
	}
	if c.Webhook.RetryBase > 0 && c.Webhook.MaxAge > 0 && c.Webhook.MaxAge < c.Webhook.RetryBase {
		add("webhook.max_age", fmt.Sprintf("%s is shorter than webhook.retry_base (%s): nothing would be retried", c.Webhook.MaxAge, c.Webhook.RetryBase),
			"use e.g. 24h")
	}
	if c.Webhook.Workers < 1 || c.Webhook.Workers > 64 {
		add("webhook.workers", fmt.Sprintf("%d is outside 1 to 64", c.Webhook.Workers), "use e.g. 4")
	}
	positive("modem.command_timeout", c.Modem.CommandTimeout)
	positive("modem.send_timeout", c.Modem.SendTimeout)
	positive("modem.health_interval", c.Modem.HealthInterval)
	positive("modem.sweep_interval", c.Modem.SweepInterval)
	if c.Modem.SendTimeout > 0 && c.Modem.SendTimeout < 10*time.Second {
		add("modem.send_timeout", fmt.Sprintf("%s is shorter than modems take to submit", c.Modem.SendTimeout),
			"use at least 10s; vendors document up to 120s, and a short timeout turns sent messages into unknown ones")
	}
	if c.Modem.Baud <= 0 {
		add("modem.baud", fmt.Sprintf("%d is not a serial speed", c.Modem.Baud), "use 115200 unless the modem needs another")
	}
	if c.Modem.TraceLines < 0 {
		add("modem.trace_lines", "must not be negative", "use 0 to turn the trace off")
	}

	names := map[string]int{}
	for i, m := range c.Modems {
		key := fmt.Sprintf("modems[%d]", i)
		if m.IMEI == "" && m.USBSerial == "" && m.Port == "" {
			add(key, "names no modem", "set imei (preferred), usb_serial or port")
		}
		if m.IMEI != "" && !imeiRE.MatchString(m.IMEI) {
			add(key+".imei", fmt.Sprintf("%q is not an IMEI", m.IMEI), "an IMEI is 15 digits; `smsgw modems` prints it")
		}
		if m.PIN != "" && !pinRE.MatchString(m.PIN) {
			add(key+".pin", "is not 4 to 8 digits", "write the SIM PIN as digits in quotes, e.g. \"1234\"")
		}
		if m.Name != "" {
			if j, dup := names[m.Name]; dup {
				add(key+".name", fmt.Sprintf("%q is already the name of modems[%d]", m.Name, j), "give each modem its own name")
			}
			names[m.Name] = i
		}
		if m.RatePerMinute < 0 || m.MonthlyQuota < 0 {
			add(key, "rate_per_minute and monthly_quota must not be negative", "use 0 for no limit")
		}
	}

	if c.Queue.MaxSegments < 1 || c.Queue.MaxSegments > 255 {
		add("queue.max_segments", fmt.Sprintf("%d is out of range", c.Queue.MaxSegments), "use 1 to 255 (a concatenated SMS has at most 255 parts)")
	}
	if c.Queue.MaxAttempts < 1 {
		add("queue.max_attempts", "must be at least 1", "use 5 unless you have a reason")
	}
	positive("queue.retry_base", c.Queue.RetryBase)
	if c.Queue.RetryMax < c.Queue.RetryBase {
		add("queue.retry_max", fmt.Sprintf("%s is shorter than queue.retry_base %s", c.Queue.RetryMax, c.Queue.RetryBase), "make it at least retry_base")
	}
	positive("queue.default_validity", c.Queue.DefaultValidity)
	for key, v := range map[string]string{"queue.quiet_start": c.Queue.QuietStart, "queue.quiet_end": c.Queue.QuietEnd} {
		if v != "" {
			if _, err := time.Parse("15:04", v); err != nil {
				add(key, fmt.Sprintf("%q is not a time of day", v), `write it as "21:00"`)
			}
		}
	}
	if (c.Queue.QuietStart == "") != (c.Queue.QuietEnd == "") {
		add("queue.quiet_start", "quiet hours need both quiet_start and quiet_end", `e.g. quiet_start: "21:00", quiet_end: "08:00"`)
	}
	for i, l := range c.Queue.NationalLanguages {
		if !nationalLanguages[strings.ToLower(strings.TrimSpace(l))] {
			add(fmt.Sprintf("queue.national_languages[%d]", i), fmt.Sprintf("%q is not a national language of TS 23.038", l),
				"use turkish, spanish, portuguese, bengali, gujarati, hindi, kannada, malayalam, oriya, punjabi, tamil, telugu or urdu")
		}
	}
	if c.Queue.Timezone != "" {
		if _, err := time.LoadLocation(c.Queue.Timezone); err != nil {
			add("queue.timezone", fmt.Sprintf("%q is not a known time zone", c.Queue.Timezone), `use an IANA name such as "Europe/Berlin"`)
		}
	}
	positive("inbound.reassembly_timeout", c.Inbound.ReassemblyTimeout)
	positive("inbox.grace_window", c.Inbox.GraceWindow)
	if c.Inbox.AutoResolveAfter < 0 {
		add("inbox.auto_resolve_after", "must not be negative", "use 0 to never auto-resolve")
	}
	switch c.Inbox.DispatcherSeeOthers {
	case "all", "queue", "none":
	default:
		add("inbox.dispatcher_see_others", fmt.Sprintf("%q is not a choice", c.Inbox.DispatcherSeeOthers), "use all, queue or none")
	}
	switch c.Inbox.DispatcherReplyOthers {
	case "allow", "warn", "deny":
	default:
		add("inbox.dispatcher_reply_others", fmt.Sprintf("%q is not a choice", c.Inbox.DispatcherReplyOthers), "use allow, warn or deny")
	}
	ps = append(ps, c.Alerts.validate()...)
	ps = append(ps, c.SMSGate.validate(c.Listen)...)

	if len(ps) == 0 {
		return nil
	}
	return &ValidationError{Problems: ps}
}

// IsValidation reports whether err is (or wraps) a *ValidationError.
func IsValidation(err error) bool {
	var v *ValidationError
	return errors.As(err, &v)
}

// validate checks the alerts section.
func (a Alerts) validate() []Problem {
	var ps []Problem
	add := func(key, msg, fix string) { ps = append(ps, Problem{"alerts." + key, msg, fix}) }
	for key, d := range map[string]time.Duration{"dedupe_window": a.DedupeWindow, "chat_delay_max": a.ChatDelayMax,
		"check_interval": a.CheckInterval, "oldest_age": a.OldestAge, "balance_interval": a.BalanceInterval} {
		if d <= 0 {
			add(key, fmt.Sprintf("must be longer than zero, is %s", d), "use a duration such as 10m")
		}
	}
	if a.ChatDelay < 0 || a.FireAfter < 0 {
		add("chat_delay", "chat_delay and fire_after must not be negative", "use 0s to turn them off")
	}
	for key, p := range map[string]int{"storage_percent": a.StoragePercent, "failure_percent": a.FailurePercent,
		"quota_percent": a.QuotaPercent} {
		if p < 1 || p > 100 {
			add(key, fmt.Sprintf("%d is not a percentage from 1 to 100", p), "e.g. 80")
		}
	}
	if a.WeakSignalDBm >= 0 || a.WeakSignalDBm < -120 {
		add("weak_signal_dbm", fmt.Sprintf("%d is not a signal level", a.WeakSignalDBm), "use a negative dBm value such as -105")
	}
	if a.BacklogParts < 1 || a.WebhookFailures < 1 {
		add("backlog_parts", "backlog_parts and webhook_failures must be at least 1", "e.g. 500 and 5")
	}
	if _, err := strconv.ParseFloat(strings.TrimSpace(a.BalanceMin), 64); err != nil {
		add("balance_min", fmt.Sprintf("%q is not a number", a.BalanceMin), `e.g. "5.00"`)
	}
	if a.BalanceUSSD != "" && !ussdRE.MatchString(a.BalanceUSSD) {
		add("balance_ussd", fmt.Sprintf("%q is not a USSD code", a.BalanceUSSD), `e.g. "*100#"`)
	}
	if a.OnCall != "" && !phoneRE.MatchString(a.OnCall) {
		add("on_call", fmt.Sprintf("%q is not a phone number", a.OnCall), `write it with the country code, e.g. "+4915112345678"`)
	}
	if a.EmailTo != "" {
		if _, err := mail.ParseAddressList(a.EmailTo); err != nil {
			add("email_to", fmt.Sprintf("%q is not a list of email addresses: %v", a.EmailTo, err), "separate addresses with commas")
		}
	}
	if a.SMTP.Host != "" {
		if a.SMTP.Port < 1 || a.SMTP.Port > 65535 {
			add("smtp.port", fmt.Sprintf("%d is not a port", a.SMTP.Port), "use 587 for submission with STARTTLS")
		}
		if _, err := mail.ParseAddress(a.SMTP.From); err != nil {
			add("smtp.from", fmt.Sprintf("%q is not an email address", a.SMTP.From), `e.g. "smsgw <smsgw@example.com>"`)
		}
		if a.SMTP.Username != "" && !a.SMTP.StartTLS && !isLocalHost(a.SMTP.Host) {
			add("smtp.starttls", "is off while a password would be sent to a remote server", "turn starttls on")
		}
	}
	return ps
}

var (
	ussdRE  = regexp.MustCompile(`^[*#0-9]{2,32}$`)
	phoneRE = regexp.MustCompile(`^\+?[0-9 ()-]{3,20}$`)
)

func isLocalHost(h string) bool {
	return h == "localhost" || h == "127.0.0.1" || h == "::1"
}

// validate checks the smsgate section.
func (s SMSGate) validate(mainListen string) []Problem {
	var ps []Problem
	add := func(key, msg, fix string) { ps = append(ps, Problem{"smsgate." + key, msg, fix}) }
	if s.LocalListen != "" {
		if _, port, err := net.SplitHostPort(s.LocalListen); err != nil || port == "" {
			add("local_listen", fmt.Sprintf("%q is not a listen address", s.LocalListen), `use host:port or :port, e.g. ":8081"`)
		} else if s.LocalListen == mainListen {
			add("local_listen", "is the same address as listen", "use another port, e.g. :8081")
		}
	}
	if s.Region != "" && !regionRE.MatchString(s.Region) {
		add("region", fmt.Sprintf("%q is not a region code", s.Region), `use an ISO 3166 code such as "DE", or "" for the top-level region`)
	}
	if s.PingInterval < 0 || (s.PingInterval > 0 && s.PingInterval < time.Second) {
		add("ping_interval", fmt.Sprintf("%s is not an interval", s.PingInterval), "use 0s (off) or at least 1s, e.g. 5m")
	}
	return ps
}
