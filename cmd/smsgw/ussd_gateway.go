package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// ussdViaGateway asks the running gateway to send a USSD code through its own session of
// the named modem (POST /api/v1/modems/{name}/ussd), so the modem need not be freed.
func ussdViaGateway(ctx context.Context, e env, base, token, name, code string, timeout time.Duration, asJSON bool) int {
	if token == "" {
		fmt.Fprintln(e.stderr, "smsgw ussd: --modem needs an API token with the modems:admin scope: pass --token or set SMSGW_TOKEN\n"+
			"  (create one with: smsgw token create --user NAME --name ussd --scopes modems:admin)")
		return 2
	}
	u, err := url.Parse(strings.TrimRight(base, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		fmt.Fprintf(e.stderr, "smsgw ussd: --url %q is not an http(s) address of the gateway\n", base)
		return 2
	}
	u.Path += "/api/v1/modems/" + url.PathEscape(name) + "/ussd"
	body, _ := json.Marshal(map[string]string{"code": code})
	rctx, cancel := context.WithTimeout(ctx, timeout+15*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodPost, u.String(), bytes.NewReader(body))
	if err != nil {
		fmt.Fprintf(e.stderr, "smsgw ussd: %v\n", err)
		return 1
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		fmt.Fprintf(e.stderr, "smsgw ussd: cannot reach the gateway at %s: %v\n", base, err)
		return 1
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK {
		var apiErr struct {
			Error struct{ Code, Message string } `json:"error"`
		}
		msg := strings.TrimSpace(string(b))
		if json.Unmarshal(b, &apiErr) == nil && apiErr.Error.Message != "" {
			msg = apiErr.Error.Message
		}
		fmt.Fprintf(e.stderr, "smsgw ussd: the gateway answered %s: %s\n", resp.Status, safeText(msg, ""))
		return 1
	}
	var reply struct {
		Status int    `json:"status"`
		Text   string `json:"text"`
		DCS    int    `json:"dcs"`
	}
	if err := json.Unmarshal(b, &reply); err != nil {
		fmt.Fprintf(e.stderr, "smsgw ussd: unexpected answer from the gateway: %v\n", err)
		return 1
	}
	if asJSON {
		writeJSON(e.stdout, ussdJSON{Modem: name, Code: code, Status: reply.Status, StatusMeaning: ussdStatusMeaning(reply.Status), Text: reply.Text, DCS: reply.DCS})
		return 0
	}
	fmt.Fprintln(e.stdout, safeText(reply.Text, ""))
	if reply.Status != 0 {
		fmt.Fprintf(e.stderr, "(%s)\n", ussdStatusMeaning(reply.Status))
	}
	return 0
}
