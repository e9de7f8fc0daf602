package config

import (
	"errors"
	"testing"
	"time"
)

func TestAuthWebhookCookieValidation(t *testing.T) {
	cases := []struct {
		name string
		mod  func(*Config)
		key  string // "" = valid
	}{
		{"defaults", func(*Config) {}, ""},
		{"tuned", func(c *Config) {
			c.Auth = Auth{SessionTTL: 8 * time.Hour, MaxFailuresPerUser: 3, MaxFailuresPerIP: 30}
			c.Webhook = Webhook{RetryBase: time.Second, RetryMax: 10 * time.Minute, MaxAge: 72 * time.Hour, Workers: 16}
			c.HTTP.SecureCookies = "TRUE"
		}, ""},
		{"session too short", func(c *Config) { c.Auth.SessionTTL = time.Second }, "auth.session_ttl"},
		{"session too long", func(c *Config) { c.Auth.SessionTTL = 100 * 24 * time.Hour }, "auth.session_ttl"},
		{"no user failures", func(c *Config) { c.Auth.MaxFailuresPerUser = 0 }, "auth.max_failures_per_user"},
		{"no ip failures", func(c *Config) { c.Auth.MaxFailuresPerIP = 0 }, "auth.max_failures_per_ip"},
		{"ip below user", func(c *Config) { c.Auth.MaxFailuresPerUser = 10; c.Auth.MaxFailuresPerIP = 5 }, "auth.max_failures_per_ip"},
		{"cookies maybe", func(c *Config) { c.HTTP.SecureCookies = "maybe" }, "http.secure_cookies"},
		{"insecure cookies on https", func(c *Config) {
			c.PublicURL = "https://sms.example.lan"
			c.HTTP.SecureCookies = "false"
		}, "http.secure_cookies"},
		{"zero retry base", func(c *Config) { c.Webhook.RetryBase = 0 }, "webhook.retry_base"},
		{"zero retry max", func(c *Config) { c.Webhook.RetryMax = 0 }, "webhook.retry_max"},
		{"max below base", func(c *Config) { c.Webhook.RetryBase = time.Minute; c.Webhook.RetryMax = time.Second }, "webhook.retry_max"},
		{"age below base", func(c *Config) { c.Webhook.RetryBase = time.Hour; c.Webhook.MaxAge = time.Minute }, "webhook.max_age"},
		{"zero max age", func(c *Config) { c.Webhook.MaxAge = 0 }, "webhook.max_age"},
		{"no workers", func(c *Config) { c.Webhook.Workers = 0 }, "webhook.workers"},
		{"too many workers", func(c *Config) { c.Webhook.Workers = 1000 }, "webhook.workers"},
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
			var ve *ValidationError
			found := false
			if errors.As(err, &ve) {
				for _, p := range ve.Problems {
					found = found || p.Key == c.key
				}
			}
			if !found {
				t.Fatalf("want a problem with %s, got %v", c.key, err)
			}
		})
	}
}

func TestSecureCookies(t *testing.T) {
	for _, c := range []struct {
		setting, publicURL string
		want               bool
	}{
		{"auto", "", false},
		{"auto", "http://sms.lan", false},
		{"auto", "HTTPS://sms.example.lan", true},
		{"true", "", true},
		{"True", "http://sms.lan", true},
		{"false", "http://sms.lan", false},
	} {
		cfg := Default()
		cfg.HTTP.SecureCookies, cfg.PublicURL = c.setting, c.publicURL
		if got := cfg.SecureCookies(); got != c.want {
			t.Errorf("secure_cookies %q, public_url %q: %v, want %v", c.setting, c.publicURL, got, c.want)
		}
	}
}

func TestAuthWebhookFromEnv(t *testing.T) {
	cfg := Default()
	err := cfg.LoadEnv(env(map[string]string{
		"SMSGW_AUTH_SESSION_TTL": "2h", "SMSGW_AUTH_MAX_FAILURES_PER_IP": "50",
		"SMSGW_WEBHOOK_WORKERS": "8", "SMSGW_WEBHOOK_MAX_AGE": "48h", "SMSGW_HTTP_SECURE_COOKIES": "true",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Auth.SessionTTL != 2*time.Hour || cfg.Auth.MaxFailuresPerIP != 50 || cfg.Webhook.Workers != 8 ||
		cfg.Webhook.MaxAge != 48*time.Hour || !cfg.SecureCookies() {
		t.Errorf("from env: %+v %+v %q", cfg.Auth, cfg.Webhook, cfg.HTTP.SecureCookies)
	}
}
