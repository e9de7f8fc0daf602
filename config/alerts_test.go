package config

import (
	"strings"
	"testing"
)

func TestAlertsValidation(t *testing.T) {
	cases := []struct {
		name string
		edit func(c *Config)
		want string // a key named in the error; "" = valid
	}{
		{"defaults", func(*Config) {}, ""},
		{"smtp with starttls", func(c *Config) {
			c.Alerts.SMTP = SMTP{Host: "mail.example.com", Port: 587, Username: "u", Password: "p", From: "smsgw <gw@example.com>", StartTLS: true}
			c.Alerts.EmailTo = "ops@example.com, Night <night@example.com>"
			c.Alerts.OnCall = "+4915112345678"
			c.Alerts.BalanceUSSD = "*100#"
		}, ""},
		{"password in the clear", func(c *Config) {
			c.Alerts.SMTP = SMTP{Host: "mail.example.com", Port: 587, Username: "u", From: "gw@example.com"}
		}, "alerts.smtp.starttls"},
		{"bad from", func(c *Config) { c.Alerts.SMTP = SMTP{Host: "h", Port: 25, From: "nobody"} }, "alerts.smtp.from"},
		{"bad email_to", func(c *Config) { c.Alerts.EmailTo = "not an address" }, "alerts.email_to"},
		{"bad on_call", func(c *Config) { c.Alerts.OnCall = "call me" }, "alerts.on_call"},
		{"bad balance_min", func(c *Config) { c.Alerts.BalanceMin = "five" }, "alerts.balance_min"},
		{"bad ussd", func(c *Config) { c.Alerts.BalanceUSSD = "AT+CUSD" }, "alerts.balance_ussd"},
		{"bad percent", func(c *Config) { c.Alerts.StoragePercent = 0 }, "alerts.storage_percent"},
		{"zero dedupe", func(c *Config) { c.Alerts.DedupeWindow = 0 }, "alerts.dedupe_window"},
		{"positive dBm", func(c *Config) { c.Alerts.WeakSignalDBm = 5 }, "alerts.weak_signal_dbm"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := Default()
			tc.edit(&c)
			err := c.Validate()
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("want a problem with %s, got %v", tc.want, err)
			}
		})
	}
	var b strings.Builder
	c := Default()
	c.Alerts.SMTP.Password = "hunter2-secret"
	if err := c.Dump(&b); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(b.String(), "hunter2-secret") {
		t.Fatal("the SMTP password is not masked in the dump")
	}
}
