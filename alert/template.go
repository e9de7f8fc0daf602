package alert

import (
	"regexp"
	"sort"
	"strings"

	"github.com/smsgw/smsgw/sms"
	"github.com/smsgw/smsgw/store"
)

// tokenRE matches {{name}} and {{name|fallback}}.
var tokenRE = regexp.MustCompile(`\{\{\s*([A-Za-z0-9_.\-]+)\s*(?:\|([^{}]*))?\}\}`)

// Vars returns the tokens a template can use for a job and one recipient:
// customer.*, site.*, billing.*, worker.*, job.ref, job.status, job.<field> (job.eta
// and any other field posted with the job), job.fields.<field>, recipient.name and
// recipient.number.
func Vars(j store.DispatchJob, recipientName, recipientNumber string) map[string]string {
	v := map[string]string{
		"customer.name":       j.CustomerName,
		"customer.first_name": firstName(j.CustomerName),
		"customer.number":     j.CustomerNumber,
		"site.name":           j.SiteName,
		"site.number":         j.SiteNumber,
		"billing.name":        j.BillingName,
		"billing.number":      j.BillingNumber,
		"worker.name":         j.WorkerName,
		"worker.first_name":   firstName(j.WorkerName),
		"worker.phone":        j.WorkerPhone,
		"recipient.name":      recipientName,
		"recipient.number":    recipientNumber,
	}
	for k, val := range j.Fields {
		v["job."+k] = val
		v["job.fields."+k] = val
	}
	// The job's own columns win over fields of the same name.
	v["job.ref"] = j.Ref
	v["job.status"] = j.Status
	return v
}

func firstName(s string) string {
	if f := strings.Fields(s); len(f) > 0 {
		return f[0]
	}
	return ""
}

// Render fills in a template in one pass (inserted values are never scanned again).
// A token without a value takes its fallback ({{job.eta|soon}}) or becomes empty; the
// names of such tokens are returned.
func Render(body string, vars map[string]string) (string, []string) {
	var missing []string
	out := tokenRE.ReplaceAllStringFunc(body, func(tok string) string {
		m := tokenRE.FindStringSubmatch(tok)
		if v := vars[m[1]]; v != "" {
			return v
		}
		if strings.Contains(tok, "|") {
			return m[2]
		}
		missing = append(missing, m[1])
		return ""
	})
	return strings.TrimSpace(out), missing
}

// Preview is a rendered template with its SMS cost.
type Preview struct {
	Text            string   `json:"text"`
	Encoding        string   `json:"encoding"`
	Characters      int      `json:"characters"`
	Segments        int      `json:"segments"`
	UnitsPerSegment int      `json:"units_per_segment"`
	UnitsLeft       int      `json:"units_left_in_segment"`
	NonGSMChars     []string `json:"non_gsm_chars"`
	MissingTokens   []string `json:"missing_tokens"`
}

// SampleJob fills previews made without a job.
var SampleJob = store.DispatchJob{Ref: "1042", Status: "scheduled", CustomerName: "Alex Example",
	CustomerNumber: "+15555550100", SiteName: "Main Street 1", SiteNumber: "+15555550101", BillingName: "Example Ltd",
	BillingNumber: "+15555550102", WorkerName: "Sam Tech", WorkerPhone: "+15555550109",
	Fields: map[string]string{"eta": "14:30", "date": "Tuesday"}}

// PreviewTemplate renders body for the job (SampleJob when nil) to its customer and
// counts the segments as the queue will send them (sms.CountSubmit).
func PreviewTemplate(body string, j *store.DispatchJob) Preview {
	job := SampleJob
	if j != nil {
		job = *j
	}
	text, missing := Render(body, Vars(job, job.CustomerName, job.CustomerNumber))
	c := sms.CountSubmit(text, sms.SubmitOptions{})
	sort.Strings(missing)
	p := Preview{Text: text, Encoding: c.Encoding.String(), Characters: c.Characters, Segments: c.Segments,
		UnitsPerSegment: c.UnitsPerSegment, UnitsLeft: c.UnitsLeft, NonGSMChars: c.ForcingUCS2, MissingTokens: missing}
	if p.NonGSMChars == nil {
		p.NonGSMChars = []string{}
	}
	if p.MissingTokens == nil {
		p.MissingTokens = []string{}
	}
	return p
}
