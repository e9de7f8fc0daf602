package api

import (
	"encoding/csv"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/gorilla/mux"

	"github.com/smsgw/smsgw/auth"
	"github.com/smsgw/smsgw/router"
	"github.com/smsgw/smsgw/store"
)

type contactRequest struct {
	Name    string   `json:"name"`
	Type    string   `json:"type,omitempty"` // lead (default) or customer
	Numbers []string `json:"numbers"`
}

type contactPatch struct {
	Name   *string           `json:"name,omitempty"`
	Type   *string           `json:"type,omitempty"`
	Fields map[string]string `json:"fields,omitempty"`
}

type numberRequest struct {
	Number string `json:"number"`
}

type mergeRequest struct {
	SourceID int64 `json:"source_id"`
}

type blockRequest struct {
	Blocked bool `json:"blocked"`
}

type optOutRequest struct {
	OptedOut bool `json:"opted_out"`
}

func (a *API) listContacts(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	after, err := parseIDCursor(r)
	if err != nil {
		return err
	}
	limit, err := limitParam(r, 50, 500)
	if err != nil {
		return err
	}
	cs, err := a.d.Router.Contacts(r.Context(), p.Actor(), store.ContactFilter{Query: r.URL.Query().Get("q"), AfterID: after, Limit: limit})
	if err != nil {
		return err
	}
	next := ""
	if len(cs) == limit {
		next = idCursor(cs[len(cs)-1].ID)
	}
	writePage(w, r, cs, next)
	return nil
}

func (a *API) createContact(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	var req contactRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	if req.Type == "" {
		req.Type = "lead"
	}
	c, err := a.d.Router.CreateContact(r.Context(), p.Actor(), req.Name, req.Type, req.Numbers)
	if err != nil {
		return err
	}
	w.Header().Set("Location", Prefix+"/contacts/"+strconv.FormatInt(c.ID, 10))
	writeJSON(w, http.StatusCreated, c)
	return nil
}

func (a *API) getContact(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	c, err := a.d.Router.Contact(r.Context(), p.Actor(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, c)
	return nil
}

// deleteContact deletes a contact. Without force=true a contact with messages or notes
// is refused (409); with it, its threads, conversations and messages go too. The
// answer counts what was removed.
func (a *API) deleteContact(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	force, err := queryBool(r, "force")
	if err != nil {
		return err
	}
	d, err := a.d.Router.DeleteContact(r.Context(), p.Actor(), id, force)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, d)
	return nil
}

// contactDone answers with the contact after a change.
func contactDone(w http.ResponseWriter, c store.Contact, err error) error {
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, c)
	return nil
}

func (a *API) updateContact(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var req contactPatch
	if err := decode(r, &req); err != nil {
		return err
	}
	c, err := a.d.Router.UpdateContact(r.Context(), p.Actor(), id, router.ContactChanges{Name: req.Name, Type: req.Type, Fields: req.Fields})
	return contactDone(w, c, err)
}

func (a *API) addNumber(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var req numberRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	c, err := a.d.Router.AddNumber(r.Context(), p.Actor(), id, req.Number)
	return contactDone(w, c, err)
}

func (a *API) removeNumber(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	c, err := a.d.Router.RemoveNumber(r.Context(), p.Actor(), id, mux.Vars(r)["number"])
	return contactDone(w, c, err)
}

func (a *API) merge(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var req mergeRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	if req.SourceID <= 0 || req.SourceID == id {
		return fieldErr("source_id", "must be another contact's id")
	}
	res, err := a.d.Router.MergeContacts(r.Context(), p.Actor(), id, req.SourceID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}

func (a *API) block(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	req := blockRequest{Blocked: true}
	if err := decodeOptional(r, &req); err != nil {
		return err
	}
	c, err := a.d.Router.Block(r.Context(), p.Actor(), id, req.Blocked)
	return contactDone(w, c, err)
}

func (a *API) optOut(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	req := optOutRequest{OptedOut: true}
	if err := decodeOptional(r, &req); err != nil {
		return err
	}
	c, err := a.d.Router.SetOptOut(r.Context(), p.Actor(), id, req.OptedOut)
	return contactDone(w, c, err)
}

// csvSafe neutralises spreadsheet formulas: a cell starting with = + - @ or a control
// character is prefixed with a quote.
func csvSafe(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

func (a *API) exportContacts(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	ctx := r.Context()
	first, err := a.d.Router.Contacts(ctx, p.Actor(), store.ContactFilter{Limit: 500})
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="contacts.csv"`)
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"id", "name", "type", "numbers", "opted_out", "blocked"})
	page := first
	for len(page) > 0 {
		for _, c := range page {
			nums := make([]string, len(c.Numbers))
			for i, n := range c.Numbers {
				nums[i] = csvSafe(n)
			}
			_ = cw.Write([]string{strconv.FormatInt(c.ID, 10), csvSafe(c.Name), c.Type, strings.Join(nums, " "),
				strconv.FormatBool(c.OptedOut), strconv.FormatBool(c.Blocked)})
		}
		if len(page) < 500 {
			break
		}
		if page, err = a.d.Router.Contacts(ctx, p.Actor(), store.ContactFilter{AfterID: page[len(page)-1].ID, Limit: 500}); err != nil {
			a.log.Error("contact export", "error", err)
			break
		}
	}
	cw.Flush()
	return nil
}

type importProblem struct {
	Line    int    `json:"line"`
	Field   string `json:"field,omitempty"`
	Message string `json:"message"`
}

// importContacts reads CSV rows name,number[,type] (a header row naming "name" is
// skipped) and creates a contact per row; numbers that already belong to a contact
// are skipped.
func (a *API) importContacts(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	cr := csv.NewReader(r.Body)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	created, skipped := 0, 0
	var problems []importProblem
	for line := 1; ; line++ {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		var mb *http.MaxBytesError
		if errors.As(err, &mb) {
			return err
		}
		if err != nil {
			return &Error{http.StatusBadRequest, "bad_csv", "line " + strconv.Itoa(line) + ": not valid CSV", ""}
		}
		if line == 1 && len(rec) > 0 && strings.EqualFold(strings.TrimSpace(rec[0]), "name") {
			continue
		}
		if len(rec) < 2 {
			problems = append(problems, importProblem{line, "number", "each row needs name,number[,type]"})
			continue
		}
		typ := "customer"
		if len(rec) > 2 && strings.TrimSpace(rec[2]) != "" {
			typ = strings.TrimSpace(rec[2])
		}
		_, err = a.d.Router.CreateContact(r.Context(), p.Actor(), strings.TrimSpace(rec[0]), typ, []string{strings.TrimSpace(rec[1])})
		switch {
		case err == nil:
			created++
		case errors.Is(err, store.ErrNumberTaken):
			skipped++
		default:
			e := toError(err)
			if e == nil || e.Status == http.StatusForbidden {
				return err
			}
			problems = append(problems, importProblem{line, e.Field, e.Message})
		}
		if len(problems) > 1000 {
			break
		}
	}
	if problems == nil {
		problems = []importProblem{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"created": created, "skipped": skipped, "problems": problems})
	return nil
}
