package webui

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/smsgw/smsgw/alert"
	"github.com/smsgw/smsgw/auth"
	"github.com/smsgw/smsgw/router"
	"github.com/smsgw/smsgw/sms"
	"github.com/smsgw/smsgw/store"
	"github.com/smsgw/smsgw/webhook"
)

// The integrations page lists, creates, edits, switches on and off and deletes the
// business alert rules and templates and the webhooks. It checks them as the REST
// API does (alert/http.go, webhook.Service), sends a webhook a test ping and queues
// its failed deliveries again.

type templateRow struct {
	store.AlertTemplate
	Count sms.Counting // of the template text before tokens are filled in
}

type webhookRow struct {
	store.Webhook
	Deliveries []store.WebhookDelivery
	Failed     int  // among the latest deliveries
	External   bool // made by another API (SMSGate format): not edited here
}

type integrationsData struct {
	Templates  []templateRow
	Names      map[int64]string
	Rules      []store.AlertRule
	Webhooks   []webhookRow
	CanEdit    bool
	HasHooks   bool // the webhook service is wired (edits need it)
	Events     []string
	Recipients []string

	EditTemplate store.AlertTemplate
	Preview      *alert.Preview
	EditRule     ruleForm
	EditHook     hookForm
	Secret       string // a new webhook's secret, shown once
}

// ruleForm is a rule as the form shows it.
type ruleForm struct {
	store.AlertRule
	RecipientsText, FiltersText string
	DedupeMinutes               int
}

// hookForm is a webhook as the form shows it.
type hookForm struct {
	store.Webhook
	EventsText string
}

func formRule(r store.AlertRule) ruleForm {
	f := ruleForm{AlertRule: r, RecipientsText: strings.Join(r.Recipients, ", "), DedupeMinutes: int(r.DedupeWindow / time.Minute)}
	keys := make([]string, 0, len(r.Filters))
	for k := range r.Filters {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var lines []string
	for _, k := range keys {
		lines = append(lines, k+"="+r.Filters[k])
	}
	f.FiltersText = strings.Join(lines, "\n")
	return f
}

func (u *UI) integrationsPage(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	if !p.Can(auth.ScopeWebhooksAdmin) {
		return errAdminOnly
	}
	q := r.URL.Query()
	d := integrationsData{EditRule: ruleForm{AlertRule: store.AlertRule{Enabled: true}}, EditHook: hookForm{Webhook: store.Webhook{Active: true}}}
	if id, _ := strconv.ParseInt(q.Get("template"), 10, 64); id != 0 {
		t, err := u.db.AlertTemplate(r.Context(), id)
		if err != nil {
			return err
		}
		d.EditTemplate = t
		pv := alert.PreviewTemplate(t.Body, nil)
		d.Preview = &pv
	}
	if id, _ := strconv.ParseInt(q.Get("rule"), 10, 64); id != 0 {
		x, err := u.db.AlertRule(r.Context(), id)
		if err != nil {
			return err
		}
		d.EditRule = formRule(x)
	}
	if id, _ := strconv.ParseInt(q.Get("webhook"), 10, 64); id != 0 {
		h, err := u.db.Webhook(r.Context(), id)
		if err != nil {
			return err
		}
		d.EditHook = hookForm{Webhook: h, EventsText: strings.Join(h.Events, ", ")}
	}
	return u.renderIntegrations(w, r, p, d)
}

func (u *UI) renderIntegrations(w http.ResponseWriter, r *http.Request, p auth.Principal, d integrationsData) error {
	ctx := r.Context()
	d.Names = map[int64]string{}
	d.CanEdit = p.Role == router.RoleAdmin
	d.HasHooks = u.opts.Webhooks != nil
	d.Events = webhook.EventTypes
	d.Recipients = []string{alert.RecipientCustomer, alert.RecipientSite, alert.RecipientBilling, alert.RecipientWorker}
	templates, err := u.db.AlertTemplates(ctx)
	if err != nil {
		return err
	}
	for _, t := range templates {
		d.Templates = append(d.Templates, templateRow{AlertTemplate: t, Count: sms.Count(t.Body)})
		d.Names[t.ID] = t.Name
	}
	if d.Rules, err = u.db.AlertRules(ctx, ""); err != nil {
		return err
	}
	hooks, err := u.db.Webhooks(ctx)
	if err != nil {
		return err
	}
	for _, h := range hooks {
		row := webhookRow{Webhook: h, External: h.Format != "" && h.Format != store.WebhookNative}
		row.Deliveries, _ = u.db.Deliveries(ctx, h.ID, 0, 5)
		for _, dl := range row.Deliveries {
			if dl.State == store.DeliveryFailed {
				row.Failed++
			}
		}
		d.Webhooks = append(d.Webhooks, row)
	}
	u.render(w, r, "integrations.html", u.base(r, p, "Alerts and webhooks", "integrations"), d)
	return nil
}

var errNoWebhooks = errors.Join(errBadInput, errors.New("webhooks are not available in this process"))

// integrationsPost handles every form of the page (admins).
func (u *UI) integrationsPost(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	if p.Role != router.RoleAdmin {
		return errAdminOnly
	}
	ctx := r.Context()
	if err := r.ParseForm(); err != nil {
		return errBadInput
	}
	id, _ := strconv.ParseInt(r.PostFormValue("id"), 10, 64)
	done := func(msg, anchor string) error {
		u.log.Info("integration changed", "by", p.Username, "op", r.PostFormValue("op"), "id", id)
		http.Redirect(w, r, "/admin/integrations?ok="+urlQueryEscape(msg)+anchor, http.StatusSeeOther)
		return nil
	}
	hooks := u.opts.Webhooks
	switch op := r.PostFormValue("op"); op {
	case "template-save", "template-preview":
		t := store.AlertTemplate{ID: id, Name: strings.TrimSpace(r.PostFormValue("name")), Body: strings.TrimSpace(r.PostFormValue("body"))}
		if t.Name == "" || len(t.Name) > 100 || t.Body == "" || len(t.Body) > 2000 {
			return errors.Join(errBadInput, errors.New("a template needs a name (1-100) and a text (1-2000 bytes)"))
		}
		if op == "template-preview" {
			pv := alert.PreviewTemplate(t.Body, nil)
			return u.renderIntegrations(w, r, p, integrationsData{EditTemplate: t, Preview: &pv,
				EditRule: ruleForm{AlertRule: store.AlertRule{Enabled: true}}, EditHook: hookForm{Webhook: store.Webhook{Active: true}}})
		}
		if _, err := u.db.SaveAlertTemplate(ctx, t, u.now()); err != nil {
			return err
		}
		return done("Template saved.", "#templates")
	case "template-delete":
		if err := u.db.DeleteAlertTemplate(ctx, id); err != nil {
			if errors.Is(err, store.ErrStale) {
				return errors.Join(errBadInput, errors.New("a rule still uses this template"))
			}
			return err
		}
		return done("Template deleted.", "#templates")
	case "rule-save":
		rule, err := u.ruleFromForm(r, id)
		if err != nil {
			return err
		}
		if _, err := u.db.SaveAlertRule(ctx, rule, u.now()); err != nil {
			if errors.Is(err, store.ErrNotFound) && rule.ID == 0 {
				return errors.Join(errBadInput, fmt.Errorf("template %d does not exist", rule.TemplateID))
			}
			return err
		}
		return done("Rule saved.", "#rules")
	case "rule-enable", "rule-disable":
		rule, err := u.db.AlertRule(ctx, id)
		if err != nil {
			return err
		}
		rule.Enabled = op == "rule-enable"
		if _, err := u.db.SaveAlertRule(ctx, rule, u.now()); err != nil {
			return err
		}
		return done(map[bool]string{true: "Rule switched on.", false: "Rule switched off."}[rule.Enabled], "#rules")
	case "rule-delete":
		if err := u.db.DeleteAlertRule(ctx, id); err != nil {
			return err
		}
		return done("Rule deleted.", "#rules")
	case "webhook-save":
		if hooks == nil {
			return errNoWebhooks
		}
		in := webhook.Input{URL: strings.TrimSpace(r.PostFormValue("url")), Line: strings.TrimSpace(r.PostFormValue("line")),
			Description: strings.TrimSpace(r.PostFormValue("description")), Active: r.PostFormValue("active") == "1",
			Secret: strings.TrimSpace(r.PostFormValue("secret"))}
		for _, e := range r.PostForm["event"] {
			if e = strings.TrimSpace(e); e != "" && !slices.Contains(in.Events, e) {
				in.Events = append(in.Events, e)
			}
		}
		if id == 0 {
			h, err := hooks.Create(ctx, in, p.UserID)
			if err != nil {
				return webhookErr(err)
			}
			id = h.ID
			u.log.Info("integration changed", "by", p.Username, "op", op, "id", id)
			return u.renderIntegrations(w, r, p, integrationsData{Secret: h.Secret,
				EditRule: ruleForm{AlertRule: store.AlertRule{Enabled: true}}, EditHook: hookForm{Webhook: store.Webhook{Active: true}}})
		}
		if err := u.editableHook(r, id); err != nil {
			return err
		}
		if _, err := hooks.Update(ctx, id, in); err != nil {
			return webhookErr(err)
		}
		return done("Webhook saved.", "#webhooks")
	case "webhook-enable", "webhook-disable":
		if hooks == nil {
			return errNoWebhooks
		}
		if err := u.editableHook(r, id); err != nil {
			return err
		}
		h, err := hooks.Get(ctx, id)
		if err != nil {
			return webhookErr(err)
		}
		if _, err := hooks.Update(ctx, id, webhook.Input{URL: h.URL, Events: h.Events, Line: h.Line, Description: h.Description,
			Active: op == "webhook-enable"}); err != nil {
			return webhookErr(err)
		}
		return done(map[bool]string{true: "Webhook switched on.", false: "Webhook paused."}[op == "webhook-enable"], "#webhooks")
	case "webhook-delete":
		if hooks == nil {
			return errNoWebhooks
		}
		if err := hooks.Delete(ctx, id); err != nil {
			return webhookErr(err)
		}
		return done("Webhook deleted.", "#webhooks")
	case "webhook-ping":
		if hooks == nil {
			return errNoWebhooks
		}
		if _, err := hooks.Ping(ctx, id); err != nil {
			return webhookErr(err)
		}
		return done("Test ping queued; its delivery shows below in a moment.", "#webhooks")
	case "webhook-replay":
		if hooks == nil {
			return errNoWebhooks
		}
		days, _ := strconv.Atoi(r.PostFormValue("days"))
		if days <= 0 || days > 30 {
			days = 1
		}
		n, err := hooks.ReplayFailed(ctx, id, u.now().Add(-time.Duration(days)*24*time.Hour))
		if err != nil {
			return webhookErr(err)
		}
		return done(fmt.Sprintf("%d failed %s queued again.", n, map[bool]string{true: "delivery", false: "deliveries"}[n == 1]), "#webhooks")
	}
	return errBadInput
}

// editableHook refuses changes to webhooks another API manages (their format and
// retry policy are not on this form).
func (u *UI) editableHook(r *http.Request, id int64) error {
	h, err := u.db.Webhook(r.Context(), id)
	if err != nil {
		return err
	}
	if h.Format != "" && h.Format != store.WebhookNative {
		return errors.Join(errBadInput, errors.New("this webhook belongs to the SMSGate-compatible API; change it there"))
	}
	return nil
}

func webhookErr(err error) error {
	if errors.Is(err, webhook.ErrNotFound) {
		return errNotFound
	}
	if errors.Is(err, webhook.ErrInvalid) {
		return errors.Join(errBadInput, errors.New(strings.TrimPrefix(err.Error(), "webhook: ")))
	}
	return err
}

// ruleFromForm reads and checks a rule as POST /api/v1/alert-rules does.
func (u *UI) ruleFromForm(r *http.Request, id int64) (store.AlertRule, error) {
	tid, _ := strconv.ParseInt(r.PostFormValue("template_id"), 10, 64)
	mins, err := strconv.Atoi(strings.TrimSpace(r.PostFormValue("dedupe_minutes")))
	if strings.TrimSpace(r.PostFormValue("dedupe_minutes")) == "" {
		mins, err = 0, nil
	}
	rule := store.AlertRule{ID: id, Name: strings.TrimSpace(r.PostFormValue("name")),
		Event: strings.ToLower(strings.TrimSpace(r.PostFormValue("event"))), TemplateID: tid,
		DedupeWindow: time.Duration(mins) * time.Minute, Line: strings.TrimSpace(r.PostFormValue("line")),
		Enabled: r.PostFormValue("enabled") == "1"}
	if rule.Event == "" || len(rule.Event) > 64 || tid <= 0 || err != nil || mins < 0 {
		return rule, errors.Join(errBadInput, errors.New("a rule needs an event (1-64 characters), a template and a dedupe window of 0 or more minutes"))
	}
	for _, rc := range strings.FieldsFunc(r.PostFormValue("recipients"), func(c rune) bool { return c == ',' || c == '\n' }) {
		if rc = strings.TrimSpace(rc); rc == "" {
			continue
		}
		switch strings.ToLower(rc) {
		case alert.RecipientCustomer, alert.RecipientSite, alert.RecipientBilling, alert.RecipientWorker:
			rc = strings.ToLower(rc)
		default:
			n, err := u.rt.NormalizeNumber(rc)
			if err != nil || !isPhoneNumber(n) {
				return rule, errors.Join(errBadInput, fmt.Errorf("recipients: %q is neither customer, site, billing, worker nor a phone number", rc))
			}
		}
		rule.Recipients = append(rule.Recipients, rc)
	}
	if len(rule.Recipients) == 0 {
		return rule, errors.Join(errBadInput, errors.New("recipients: name at least one of customer, site, billing, worker or a phone number"))
	}
	for _, line := range strings.Split(r.PostFormValue("filters"), "\n") {
		if line = strings.TrimSpace(line); line == "" {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok || strings.TrimSpace(k) == "" {
			return rule, errors.Join(errBadInput, fmt.Errorf("filters: %q is not field=value", line))
		}
		if rule.Filters == nil {
			rule.Filters = map[string]string{}
		}
		rule.Filters[strings.TrimSpace(k)] = strings.TrimSpace(v)
	}
	return rule, nil
}

// isPhoneNumber: an E.164 number or a short code, not an alphanumeric sender id (as
// package alert decides).
func isPhoneNumber(n string) bool {
	if n == "" {
		return false
	}
	for i, c := range n {
		if (c < '0' || c > '9') && (i > 0 || c != '+') {
			return false
		}
	}
	return true
}

// templatePreview renders a template text on the sample job for the form's live
// preview (JSON: alert.Preview).
func (u *UI) templatePreview(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	if !p.Can(auth.ScopeWebhooksAdmin) {
		return errAdminOnly
	}
	body := r.URL.Query().Get("body")
	if len(body) > 2000 {
		return errors.Join(errBadInput, errors.New("at most 2000 bytes"))
	}
	writeJSON(w, alert.PreviewTemplate(body, nil))
	return nil
}
