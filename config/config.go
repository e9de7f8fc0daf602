// Package config holds the one configuration struct of smsgw and the way it is built:
// defaults, then a YAML file, then SMSGW_* environment variables, then command-line flags.
// Validate reports every problem with the key that has it and how to fix it, and Dump
// writes the effective configuration with secrets masked.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// DefaultPath is where serve looks for its configuration when --config is not given.
const DefaultPath = "/etc/smsgw/smsgw.yaml"

// Config is the whole configuration of one smsgw process. The yaml tag of each field is
// also its key: nested keys are joined with "." in messages and with "_" in environment
// variable names (log.level ⇔ SMSGW_LOG_LEVEL).
type Config struct {
	// Listen is the address of the HTTP server (web UI, REST API, metrics).
	Listen string `yaml:"listen"`
	// PublicURL is the address people use to reach the web UI, used in links sent by
	// email and printed at start-up. Empty means derived from Listen.
	PublicURL string `yaml:"public_url"`
	// StateDir holds the database and other state. systemd sets it through
	// StateDirectory=smsgw (/var/lib/smsgw).
	StateDir string `yaml:"state_dir"`
	// Database is the SQLite file. Empty means smsgw.db inside StateDir.
	Database string `yaml:"database"`
	// Region is the default ISO 3166 region for phone numbers written without a
	// country code, e.g. "DE" or "US".
	Region string `yaml:"region"`

	Log     Log           `yaml:"log"`
	HTTP    HTTP          `yaml:"http"`
	Auth    Auth          `yaml:"auth"`
	Webhook Webhook       `yaml:"webhook"`
	Modem   Modem         `yaml:"modem"`
	Modems  []ModemConfig `yaml:"modems"`
	Queue   Queue         `yaml:"queue"`
	Inbound Inbound       `yaml:"inbound"`
	Inbox   Inbox         `yaml:"inbox"`
	Alerts  Alerts        `yaml:"alerts"`
	SMSGate SMSGate       `yaml:"smsgate"`
}

// Log configures log/slog output.
type Log struct {
	// Level is one of debug, info, warn, error.
	Level string `yaml:"level"`
	// Format is text or json.
	Format string `yaml:"format"`
	// EventLogDays is how long the operational event log (modem states, failed
	// deliveries, system alerts) is kept in the database.
	EventLogDays int `yaml:"event_log_days"`
}

// HTTP configures the HTTP server.
type HTTP struct {
	// ReadHeaderTimeout bounds reading a request's headers (slow-client protection).
	ReadHeaderTimeout time.Duration `yaml:"read_header_timeout"`
	// ReadTimeout bounds reading a whole request, body included.
	ReadTimeout time.Duration `yaml:"read_timeout"`
	// WriteTimeout bounds writing a response. Live event streams (SSE) lift it for
	// themselves.
	WriteTimeout time.Duration `yaml:"write_timeout"`
	// IdleTimeout closes keep-alive connections idle for this long.
	IdleTimeout time.Duration `yaml:"idle_timeout"`
	// ShutdownTimeout is how long requests in flight may finish when smsgw stops.
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout"`
	// MaxBodyBytes bounds every request body, except on routes that set their own
	// limit (the CSV contact import takes up to 8 MiB).
	MaxBodyBytes int64 `yaml:"max_body_bytes"`
	// SecureCookies sets the Secure flag on the session cookie, so browsers send it
	// over HTTPS only: "true", "false", or "auto" (true when public_url starts with
	// https://). Set it to true when a TLS proxy in front of smsgw serves the UI and
	// public_url is not set.
	SecureCookies string `yaml:"secure_cookies"`
}

// Auth configures logins and sessions (web UI and API).
type Auth struct {
	// SessionTTL is how long a login session lasts without use; each request extends
	// it.
	SessionTTL time.Duration `yaml:"session_ttl"`
	// MaxFailuresPerUser is how many failed logins for one username within 15 minutes
	// make further attempts for it wait (answered 429 throttled).
	MaxFailuresPerUser int `yaml:"max_failures_per_user"`
	// MaxFailuresPerIP is the same for one client address, whatever the username.
	MaxFailuresPerIP int `yaml:"max_failures_per_ip"`
}

// Webhook configures the delivery of outgoing webhooks.
type Webhook struct {
	// RetryBase is the wait before the first retry of a failed delivery; it doubles
	// with each attempt (with some jitter) up to RetryMax.
	RetryBase time.Duration `yaml:"retry_base"`
	// RetryMax caps the wait between two attempts.
	RetryMax time.Duration `yaml:"retry_max"`
	// MaxAge is how long a delivery is retried: older ones fail for good (and can be
	// redelivered by hand). The appliance may itself be offline for a while, so keep
	// it generous.
	MaxAge time.Duration `yaml:"max_age"`
	// Workers is how many deliveries go out at the same time.
	Workers int `yaml:"workers"`
}

// Modem holds the defaults that apply to every modem.
type Modem struct {
	// Detect probes USB serial ports for modems when true.
	Detect bool `yaml:"detect"`
	// CommandTimeout bounds every AT command except AT+CMGS.
	CommandTimeout time.Duration `yaml:"command_timeout"`
	// SendTimeout bounds AT+CMGS, from the PDU to the final result.
	SendTimeout time.Duration `yaml:"send_timeout"`
	// HealthInterval is how often signal, registration and storage are polled.
	HealthInterval time.Duration `yaml:"health_interval"`
	// SweepInterval is how often every storage is listed for missed messages.
	SweepInterval time.Duration `yaml:"sweep_interval"`
	// Baud is the serial speed.
	Baud int `yaml:"baud"`
	// TraceLines is the size of the per-modem AT trace ring buffer.
	TraceLines int `yaml:"trace_lines"`
}

// ModemConfig pins one modem. A modem is matched by IMEI, by USB serial number or by port
// path, in that order of preference.
type ModemConfig struct {
	// Name labels the modem in the UI, logs and metrics (default modem0, modem1, ...).
	Name string `yaml:"name"`
	// IMEI identifies the modem; `smsgw modems` prints it. The session insists on it,
	// so another modem on the same port is never taken for this one.
	IMEI string `yaml:"imei"`
	// USBSerial is the USB serial number of the stick, for modems without a usable IMEI.
	USBSerial string `yaml:"usb_serial"`
	// Port is the serial device to try first; a stable link such as
	// /dev/serial/by-id/... or /dev/smsgw/... is best.
	Port string `yaml:"port"`
	// PIN is entered once at start; a wrong PIN is never retried.
	PIN string `yaml:"pin" secret:"true"`
	// SMSC overrides the service-centre number stored on the SIM.
	SMSC string `yaml:"smsc"`
	// Line groups SIMs that act as one number; empty means a line of its own.
	Line string `yaml:"line"`
	// RatePerMinute limits sends on this SIM (0 = unlimited).
	RatePerMinute int `yaml:"rate_per_minute"`
	// MonthlyQuota limits sends per calendar month (0 = unlimited).
	MonthlyQuota int `yaml:"monthly_quota"`
}

// Queue configures the outbound queue.
type Queue struct {
	// MaxSegments is the longest message accepted, in SMS parts.
	MaxSegments int `yaml:"max_segments"`
	// MaxAttempts bounds retries of temporary failures.
	MaxAttempts int `yaml:"max_attempts"`
	// RetryBase is the first backoff; it doubles with jitter up to RetryMax.
	RetryBase time.Duration `yaml:"retry_base"`
	RetryMax  time.Duration `yaml:"retry_max"`
	// DefaultValidity is how long a queued message may wait before it expires.
	DefaultValidity time.Duration `yaml:"default_validity"`
	// QuietStart and QuietEnd ("21:00", "08:00") hold automated messages (alerts,
	// reminders) overnight; agent replies always go. Equal or empty: no quiet hours.
	QuietStart string `yaml:"quiet_start"`
	QuietEnd   string `yaml:"quiet_end"`
	// Timezone of the quiet hours (IANA name, e.g. "Europe/Berlin"); empty is the
	// system's.
	Timezone string `yaml:"timezone"`
	// NationalLanguages lets text the GSM 7-bit default alphabet cannot carry go in a
	// national language table of TS 23.038 (turkish, spanish, portuguese, bengali,
	// gujarati, hindi, kannada, malayalam, oriya, punjabi, tamil, telugu, urdu) instead
	// of UCS-2, when that saves a part. Not every handset renders these tables; off by
	// default.
	NationalLanguages []string `yaml:"national_languages"`
}

// Inbound configures reception.
type Inbound struct {
	// ReassemblyTimeout is how long an incomplete concatenated message waits for its
	// missing parts before it is delivered with the gaps marked.
	ReassemblyTimeout time.Duration `yaml:"reassembly_timeout"`
}

// Inbox configures the team inbox (see docs/inbox.md).
type Inbox struct {
	// GraceWindow: a customer reply this soon after a conversation was resolved reopens
	// it; after it a new conversation starts.
	GraceWindow time.Duration `yaml:"grace_window"`
	// AutoResolveAfter resolves conversations without activity for this long (0 = never).
	AutoResolveAfter time.Duration `yaml:"auto_resolve_after"`
	// DispatcherSeeOthers: which conversations owned by others a dispatcher sees:
	// all, queue (their queues) or none.
	DispatcherSeeOthers string `yaml:"dispatcher_see_others"`
	// DispatcherReplyOthers: whether a dispatcher may reply in a conversation someone
	// else owns: allow, warn (confirm first) or deny.
	DispatcherReplyOthers string `yaml:"dispatcher_reply_others"`
	// DispatcherAssign lets dispatchers assign conversations and take them over.
	DispatcherAssign bool `yaml:"dispatcher_assign"`
	// AutoAccept: replying to a new conversation makes the replier its owner.
	AutoAccept bool `yaml:"auto_accept"`
	// ReturnToLastOwner: a reply within the grace window goes back to the agent who
	// resolved it, if available.
	ReturnToLastOwner bool `yaml:"return_to_last_owner"`
	// JobOwnerOwnsReplies: a customer's reply to a business alert goes to the job's
	// dispatcher as owner instead of to the queue.
	JobOwnerOwnsReplies bool `yaml:"job_owner_owns_replies"`
}

// Alerts configures business SMS alerts, customer-response emails and system alerts
// (see docs/alerts.md).
type Alerts struct {
	// Line sends business alerts whose rule and job name no line; empty means the
	// first modem's line.
	Line string `yaml:"line"`
	// DedupeWindow: the same rule for the same job and recipient is sent once within it.
	DedupeWindow time.Duration `yaml:"dedupe_window"`
	// ChatDelay holds automated messages to a contact with a live conversation until
	// the chat has been quiet this long (0 = send at once); ChatDelayMax bounds the hold.
	ChatDelay    time.Duration `yaml:"chat_delay"`
	ChatDelayMax time.Duration `yaml:"chat_delay_max"`
	// EmailTo (comma-separated addresses) receives system alerts, and customer
	// responses of jobs whose dispatcher has no email address.
	EmailTo string `yaml:"email_to"`
	// OnCall is a phone number that gets system alerts by SMS through a healthy modem.
	OnCall string `yaml:"on_call"`
	// CheckInterval is how often system checks run; a condition must hold FireAfter
	// before it alerts.
	CheckInterval time.Duration `yaml:"check_interval"`
	FireAfter     time.Duration `yaml:"fire_after"`
	// Thresholds of the system checks.
	WeakSignalDBm   int           `yaml:"weak_signal_dbm"`
	StoragePercent  int           `yaml:"storage_percent"`
	BacklogParts    int           `yaml:"backlog_parts"`
	OldestAge       time.Duration `yaml:"oldest_age"`
	FailurePercent  int           `yaml:"failure_percent"`
	QuotaPercent    int           `yaml:"quota_percent"`
	WebhookFailures int           `yaml:"webhook_failures"`
	// BalanceUSSD ("*100#") turns on scheduled balance checks every BalanceInterval;
	// a balance below BalanceMin (a number, e.g. "5.00") alerts.
	BalanceUSSD     string        `yaml:"balance_ussd"`
	BalanceMin      string        `yaml:"balance_min"`
	BalanceInterval time.Duration `yaml:"balance_interval"`
	SMTP            SMTP          `yaml:"smtp"`
}

// SMTP is the mail submission server for alert emails; no host means no email.
type SMTP struct {
	Host     string `yaml:"host"`
	Port     int    `yaml:"port"`
	Username string `yaml:"username"`
	Password string `yaml:"password" secret:"true"`
	From     string `yaml:"from"`
	// StartTLS is required unless turned off (only for a relay on the same host).
	StartTLS bool `yaml:"starttls"`
}

// SMSGate configures the SMSGate-compatible API (see docs/smsgate.md), which lets
// SMSGate / Android SMS Gateway clients and integrations drive the appliance.
type SMSGate struct {
	// Enabled mounts the API under /3rdparty/v1 and /api/3rdparty/v1 on the main
	// listener.
	Enabled bool `yaml:"enabled"`
	// LocalListen is the address of a second listener with the Android phone's root
	// layout (/message, /messages, /device, /health, ...), e.g. ":8081" or
	// "192.168.1.10:8080"; empty means off.
	LocalListen string `yaml:"local_listen"`
	// Region is the default region of phone numbers written without a country code;
	// empty means the top-level region.
	Region string `yaml:"region"`
	// AllowHTTPWebhooks accepts http:// webhook URLs; otherwise only https://.
	AllowHTTPWebhooks bool `yaml:"allow_http_webhooks"`
	// PingInterval is how often system:ping webhooks are sent (0s = never) until a
	// client sets ping.interval_seconds.
	PingInterval time.Duration `yaml:"ping_interval"`
}

// Default returns the configuration used when nothing else is set.
func Default() Config {
	return Config{
		Listen:   ":8080",
		StateDir: "/var/lib/smsgw",
		Log:      Log{Level: "info", Format: "text", EventLogDays: 30},
		HTTP: HTTP{
			ReadHeaderTimeout: 10 * time.Second,
			ReadTimeout:       30 * time.Second,
			WriteTimeout:      60 * time.Second,
			IdleTimeout:       120 * time.Second,
			ShutdownTimeout:   5 * time.Second,
			MaxBodyBytes:      1 << 20,
			SecureCookies:     "auto",
		},
		Auth:    Auth{SessionTTL: 12 * time.Hour, MaxFailuresPerUser: 5, MaxFailuresPerIP: 20},
		Webhook: Webhook{RetryBase: 10 * time.Second, RetryMax: time.Hour, MaxAge: 24 * time.Hour, Workers: 4},
		Modem: Modem{
			Detect:         true,
			CommandTimeout: 10 * time.Second,
			SendTimeout:    60 * time.Second,
			HealthInterval: 30 * time.Second,
			SweepInterval:  time.Minute,
			Baud:           115200,
			TraceLines:     2000,
		},
		Queue: Queue{
			MaxSegments:     10,
			MaxAttempts:     5,
			RetryBase:       30 * time.Second,
			RetryMax:        30 * time.Minute,
			DefaultValidity: 24 * time.Hour,
		},
		Inbound: Inbound{ReassemblyTimeout: time.Hour},
		Inbox: Inbox{
			GraceWindow: 72 * time.Hour, DispatcherSeeOthers: "all", DispatcherReplyOthers: "warn",
			AutoAccept: true, ReturnToLastOwner: true,
		},
		Alerts: Alerts{
			DedupeWindow: 10 * time.Minute, ChatDelay: 5 * time.Minute, ChatDelayMax: time.Hour,
			CheckInterval: 15 * time.Second, FireAfter: time.Minute,
			WeakSignalDBm: -105, StoragePercent: 80, BacklogParts: 500, OldestAge: 30 * time.Minute,
			FailurePercent: 20, QuotaPercent: 90, WebhookFailures: 5, BalanceMin: "5", BalanceInterval: 6 * time.Hour,
			SMTP: SMTP{Port: 587, StartTLS: true},
		},
		SMSGate: SMSGate{Enabled: true},
	}
}

// SecureCookies reports whether session cookies get the Secure flag:
// http.secure_cookies, with "auto" meaning "public_url is an https:// URL".
func (c *Config) SecureCookies() bool {
	switch strings.ToLower(c.HTTP.SecureCookies) {
	case "true":
		return true
	case "false":
		return false
	}
	return strings.HasPrefix(strings.ToLower(c.PublicURL), "https://")
}

// DatabasePath is the effective SQLite file path.
func (c *Config) DatabasePath() string {
	if c.Database != "" {
		return c.Database
	}
	return filepath.Join(c.StateDir, "smsgw.db")
}

// LoadFile overlays the YAML file at path onto c. Unknown keys are errors, so a typo
// does not silently fall back to a default.
func (c *Config) LoadFile(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	return c.LoadYAML(b, path)
}

// LoadYAML overlays YAML bytes onto c; name is used in error messages.
func (c *Config) LoadYAML(b []byte, name string) error {
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(c); err != nil {
		if errors.Is(err, io.EOF) {
			return nil // an empty file changes nothing
		}
		return fmt.Errorf("config: %s: %w", name, err)
	}
	return nil
}

// LoadEnv overlays SMSGW_* variables taken from lookup (os.LookupEnv in production).
// Every scalar field can be set; lists such as modems are set only in the file.
func (c *Config) LoadEnv(lookup func(string) (string, bool)) error {
	var errs []error
	walk(reflect.ValueOf(c).Elem(), "", func(key string, v reflect.Value, _ reflect.StructField) {
		name := EnvName(key)
		s, ok := lookup(name)
		if !ok {
			return
		}
		if err := setScalar(v, s); err != nil {
			errs = append(errs, fmt.Errorf("config: %s (%s): %w", name, key, err))
		}
	})
	return errors.Join(errs...)
}

// EnvName is the environment variable that sets key ("log.level" → "SMSGW_LOG_LEVEL").
func EnvName(key string) string {
	return "SMSGW_" + strings.ToUpper(strings.ReplaceAll(key, ".", "_"))
}

// Set assigns one key from its text form, as a flag or the environment would.
func (c *Config) Set(key, value string) error {
	var found bool
	var err error
	walk(reflect.ValueOf(c).Elem(), "", func(k string, v reflect.Value, _ reflect.StructField) {
		if k == key {
			found = true
			err = setScalar(v, value)
		}
	})
	if !found {
		return fmt.Errorf("config: unknown key %q", key)
	}
	if err != nil {
		return fmt.Errorf("config: %s: %w", key, err)
	}
	return nil
}

// walk calls fn for every scalar field below v with its dotted key. Slices of structs
// are not descended into.
func walk(v reflect.Value, prefix string, fn func(key string, v reflect.Value, f reflect.StructField)) {
	t := v.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		name := strings.Split(f.Tag.Get("yaml"), ",")[0]
		if name == "" || name == "-" {
			continue
		}
		key := name
		if prefix != "" {
			key = prefix + "." + name
		}
		fv := v.Field(i)
		switch fv.Kind() {
		case reflect.Struct:
			walk(fv, key, fn)
		case reflect.Slice, reflect.Map:
			// set in the file only
		default:
			fn(key, fv, f)
		}
	}
}

var durationType = reflect.TypeOf(time.Duration(0))

func setScalar(v reflect.Value, s string) error {
	switch {
	case v.Type() == durationType:
		d, err := time.ParseDuration(strings.TrimSpace(s))
		if err != nil {
			return fmt.Errorf("%q is not a duration such as 30s, 5m or 1h", s)
		}
		v.SetInt(int64(d))
	case v.Kind() == reflect.String:
		v.SetString(s)
	case v.Kind() == reflect.Bool:
		b, err := strconv.ParseBool(strings.TrimSpace(s))
		if err != nil {
			return fmt.Errorf("%q is not true or false", s)
		}
		v.SetBool(b)
	case v.Kind() >= reflect.Int && v.Kind() <= reflect.Int64:
		n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
		if err != nil {
			return fmt.Errorf("%q is not a whole number", s)
		}
		v.SetInt(n)
	default:
		return fmt.Errorf("cannot be set from text")
	}
	return nil
}

// Dump writes the effective configuration as YAML with every secret masked.
func (c *Config) Dump(w io.Writer) error {
	masked := *c
	masked.Modems = append([]ModemConfig(nil), c.Modems...)
	mask(reflect.ValueOf(&masked).Elem())
	enc := yaml.NewEncoder(w)
	enc.SetIndent(2)
	if err := enc.Encode(&masked); err != nil {
		return fmt.Errorf("config: dump: %w", err)
	}
	return enc.Close()
}

func mask(v reflect.Value) {
	switch v.Kind() {
	case reflect.Struct:
		t := v.Type()
		for i := range t.NumField() {
			f := t.Field(i)
			fv := v.Field(i)
			if f.Tag.Get("secret") == "true" && fv.Kind() == reflect.String && fv.String() != "" {
				fv.SetString("********")
				continue
			}
			mask(fv)
		}
	case reflect.Slice:
		for i := range v.Len() {
			mask(v.Index(i))
		}
	}
}

// Load builds a configuration from the defaults, the YAML file at path and the
// environment (lookup is os.LookupEnv in production). An empty path reads nothing; a
// path that does not exist is an error only when required is true, so a default path
// may be absent.
func Load(path string, required bool, lookup func(string) (string, bool)) (Config, error) {
	c := Default()
	if path != "" {
		err := c.LoadFile(path)
		if err != nil && (required || !errors.Is(err, os.ErrNotExist)) {
			return c, err
		}
	}
	if err := c.LoadEnv(lookup); err != nil {
		return c, err
	}
	return c, nil
}
