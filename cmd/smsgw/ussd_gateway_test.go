package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
)

// smsgw ussd --modem goes through the running gateway's own session of the modem.
func TestUSSDThroughTheGateway(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "demo")
	url, stop := startDemo(t, dir, "127.0.0.1:0")
	defer stop()
	waitReady(t, url)
	cli := func(args ...string) (int, string, string) {
		var out, errb bytes.Buffer
		code := run(context.Background(), args, &out, &errb, noEnv)
		return code, out.String(), errb.String()
	}
	if code, _, errOut := cli("user", "add", "--state-dir", dir, "--username", "ops", "--role", "admin"); code != 0 {
		t.Fatalf("user add: %d %s", code, errOut)
	}
	code, tok, errOut := cli("token", "create", "--state-dir", dir, "--user", "ops", "--name", "ussd", "--scopes", "modems:admin")
	if code != 0 {
		t.Fatalf("token create: %d %s", code, errOut)
	}
	tok = strings.TrimSpace(tok)
	code, out, errOut := cli("ussd", "--modem", "modem0", "--url", url, "--token", tok, "*100#")
	if code != 0 || !strings.Contains(out, "Your balance is 12.34 EUR") {
		t.Fatalf("ussd --modem: exit %d, out %q, err %q", code, out, errOut)
	}
	code, _, errOut = cli("ussd", "--modem", "no-such-modem", "--url", url, "--token", tok, "*100#")
	if code != 1 || !strings.Contains(errOut, "404") {
		t.Fatalf("unknown modem: exit %d, err %q", code, errOut)
	}
	code, _, errOut = cli("ussd", "--modem", "modem0", "--url", url, "--token", "smsgw_wrong", "*100#")
	if code != 1 || !strings.Contains(errOut, "401") {
		t.Fatalf("bad token: exit %d, err %q", code, errOut)
	}
}
