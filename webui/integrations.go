package webui

import (
	"net/http"

	"github.com/smsgw/smsgw/auth"
	"github.com/smsgw/smsgw/sms"
	"github.com/smsgw/smsgw/store"
)

// The integrations page shows the business alert rules and templates and the
// webhooks with their latest deliveries. It only reads; they are changed through the
// REST API (/api/v1/alert-rules, /api/v1/webhooks), which validates them.

type templateRow struct {
	store.AlertTemplate
	Count sms.Counting // of the template text before tokens are filled in
}

type webhookRow struct {
	store.Webhook
	Deliveries []store.WebhookDelivery
}

type integrationsData struct {
	Templates []templateRow
	Names     map[int64]string
	Rules     []store.AlertRule
	Webhooks  []webhookRow
}

func (u *UI) integrationsPage(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	if !p.Can(auth.ScopeWebhooksAdmin) {
		return errAdminOnly
	}
	ctx := r.Context()
	d := integrationsData{Names: map[int64]string{}}
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
		row := webhookRow{Webhook: h}
		row.Deliveries, _ = u.db.Deliveries(ctx, h.ID, 0, 5)
		d.Webhooks = append(d.Webhooks, row)
	}
	u.render(w, r, "integrations.html", u.base(r, p, "Alerts and webhooks", "integrations"), d)
	return nil
}
