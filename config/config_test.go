package config

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func TestDefaultIsValid(t *testing.T) {
	c := Default()
	if err := c.Validate(); err != nil {
		t.Fatalf("default config does not validate: %v", err)
	}
}

func TestLayering(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "smsgw.yaml")
	yml := "listen: 127.0.0.1:9000\nlog:\n  level: debug\nmodem:\n  send_timeout: 90s\nmodems:\n  - name: office\n    imei: \"356938035643809\"\n    pin: \"1234\"\n"
	if err := os.WriteFile(path, []byte(yml), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(path, true, env(map[string]string{
		"SMSGW_LOG_LEVEL":             "warn",
		"SMSGW_MODEM_HEALTH_INTERVAL": "45s",
		"SMSGW_QUEUE_MAX_SEGMENTS":    "4",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Set("listen", "127.0.0.1:9100"); err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name string
		got  any
		want any
	}{
		{"flag beats file", c.Listen, "127.0.0.1:9100"},
		{"env beats file", c.Log.Level, "warn"},
		{"file beats default", c.Modem.SendTimeout, 90 * time.Second},
		{"env duration", c.Modem.HealthInterval, 45 * time.Second},
		{"env int", c.Queue.MaxSegments, 4},
		{"default kept", c.Log.Format, "text"},
		{"list from file", len(c.Modems), 1},
	}
	for _, tc := range checks {
		t.Run(tc.name, func(t *testing.T) {
			if tc.got != tc.want {
				t.Errorf("got %v, want %v", tc.got, tc.want)
			}
		})
	}
	if err := c.Validate(); err != nil {
		t.Fatalf("valid config rejected: %v", err)
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, s string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	cases := []struct {
		name     string
		path     string
		required bool
		env      map[string]string
		want     string // substring of the error; "" means no error
	}{
		{"missing optional file", filepath.Join(dir, "absent.yaml"), false, nil, ""},
		{"missing required file", filepath.Join(dir, "absent.yaml"), true, nil, "no such file"},
		{"unknown key", write("typo.yaml", "listne: :80\n"), true, nil, "field listne not found"},
		{"wrong type", write("type.yaml", "modem:\n  baud: fast\n"), true, nil, "cannot unmarshal"},
		{"empty file", write("empty.yaml", ""), true, nil, ""},
		{"bad env duration", "", false, map[string]string{"SMSGW_MODEM_SEND_TIMEOUT": "soon"}, "SMSGW_MODEM_SEND_TIMEOUT (modem.send_timeout)"},
		{"bad env bool", "", false, map[string]string{"SMSGW_MODEM_DETECT": "maybe"}, "not true or false"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load(tc.path, tc.required, env(tc.env))
			if tc.want == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestValidateNamesKeyAndFix(t *testing.T) {
	cases := []struct {
		name  string
		edit  func(*Config)
		key   string
		fixed string
	}{
		{"listen", func(c *Config) { c.Listen = "8080" }, "listen", "127.0.0.1:8080"},
		{"level", func(c *Config) { c.Log.Level = "verbose" }, "log.level", "debug, info"},
		{"format", func(c *Config) { c.Log.Format = "xml" }, "log.format", "text or json"},
		{"region", func(c *Config) { c.Region = "Germany" }, "region", `"DE"`},
		{"send timeout", func(c *Config) { c.Modem.SendTimeout = 2 * time.Second }, "modem.send_timeout", "at least 10s"},
		{"segments", func(c *Config) { c.Queue.MaxSegments = 0 }, "queue.max_segments", "1 to 255"},
		{"modem without identity", func(c *Config) { c.Modems = []ModemConfig{{Name: "a"}} }, "modems[0]", "imei"},
		{"bad pin", func(c *Config) { c.Modems = []ModemConfig{{Port: "/dev/ttyUSB2", PIN: "12ab"}} }, "modems[0].pin", "digits"},
		{"dup name", func(c *Config) {
			c.Modems = []ModemConfig{{Name: "a", Port: "/dev/x"}, {Name: "a", Port: "/dev/y"}}
		}, "modems[1].name", "own name"},
		{"retry max", func(c *Config) { c.Queue.RetryMax = time.Second }, "queue.retry_max", "retry_base"},
		{"public url", func(c *Config) { c.PublicURL = "sms.lan" }, "public_url", "https://"},
		{"quiet hours", func(c *Config) { c.Queue.QuietStart, c.Queue.QuietEnd = "9pm", "08:00" }, "queue.quiet_start", `"21:00"`},
		{"half quiet hours", func(c *Config) { c.Queue.QuietEnd = "08:00" }, "queue.quiet_start", "both"},
		{"time zone", func(c *Config) { c.Queue.Timezone = "Mars/Olympus" }, "queue.timezone", "IANA"},
		{"national language", func(c *Config) { c.Queue.NationalLanguages = []string{"turkish", "klingon"} }, "queue.national_languages[1]", "portuguese"},
		{"see others", func(c *Config) { c.Inbox.DispatcherSeeOthers = "some" }, "inbox.dispatcher_see_others", "all, queue or none"},
		{"reply others", func(c *Config) { c.Inbox.DispatcherReplyOthers = "maybe" }, "inbox.dispatcher_reply_others", "allow, warn or deny"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := Default()
			tc.edit(&c)
			err := c.Validate()
			if !IsValidation(err) {
				t.Fatalf("got %v, want a validation error", err)
			}
			msg := err.Error()
			if !strings.Contains(msg, tc.key+": ") || !strings.Contains(msg, tc.fixed) {
				t.Fatalf("message %q does not name key %q and fix %q", msg, tc.key, tc.fixed)
			}
		})
	}
}

func TestDumpMasksSecrets(t *testing.T) {
	c := Default()
	c.Modems = []ModemConfig{{Name: "m", IMEI: "356938035643809", PIN: "4711"}}
	var buf bytes.Buffer
	if err := c.Dump(&buf); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	if strings.Contains(out, "4711") || !strings.Contains(out, "********") {
		t.Fatalf("PIN not masked:\n%s", out)
	}
	if c.Modems[0].PIN != "4711" {
		t.Fatal("Dump changed the config it dumped")
	}
	// The dump is itself a loadable config with the same non-secret values.
	back := Default()
	if err := back.LoadYAML(buf.Bytes(), "dump"); err != nil {
		t.Fatalf("dump does not load back: %v", err)
	}
	if back.Modems[0].IMEI != c.Modems[0].IMEI || back.Listen != c.Listen {
		t.Fatalf("dump round trip lost values: %+v", back)
	}
}

func TestExampleConfigIsValid(t *testing.T) {
	c, err := Load(filepath.Join("..", "systemd", "smsgw.example.yaml"), true, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatalf("example config does not validate: %v", err)
	}
}

func TestSetUnknownKey(t *testing.T) {
	c := Default()
	if err := c.Set("no.such", "x"); err == nil || !strings.Contains(err.Error(), "unknown key") {
		t.Fatalf("got %v", err)
	}
}
