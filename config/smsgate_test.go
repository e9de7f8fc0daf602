package config

import (
	"testing"
	"time"
)

func TestSMSGateValidation(t *testing.T) {
	cases := []struct {
		name string
		mod  func(*Config)
		key  string // "" = valid
	}{
		{"defaults", func(*Config) {}, ""},
		{"local listener", func(c *Config) { c.SMSGate.LocalListen = ":8081"; c.SMSGate.PingInterval = time.Minute }, ""},
		{"bad address", func(c *Config) { c.SMSGate.LocalListen = "8081" }, "smsgate.local_listen"},
		{"same as main", func(c *Config) { c.SMSGate.LocalListen = c.Listen }, "smsgate.local_listen"},
		{"bad region", func(c *Config) { c.SMSGate.Region = "Germany" }, "smsgate.region"},
		{"negative ping", func(c *Config) { c.SMSGate.PingInterval = -time.Second }, "smsgate.ping_interval"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := Default()
			c.mod(&cfg)
			err := cfg.Validate()
			if c.key == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			var found bool
			if ve, ok := err.(*ValidationError); ok {
				for _, p := range ve.Problems {
					found = found || p.Key == c.key
				}
			}
			if !found {
				t.Fatalf("want a problem with %s, got %v", c.key, err)
			}
		})
	}
	if !Default().SMSGate.Enabled {
		t.Error("the main-listener mounts are on by default")
	}
}
