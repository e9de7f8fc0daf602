package store

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Search limits: a query keeps at most maxSearchTerms words of at most maxTermRunes
// characters each; the rest is ignored.
const (
	maxSearchTerms = 8
	maxTermRunes   = 64
)

// searchTerms cuts what a user typed into words: runs of letters, digits and combining
// marks. Everything else (quotes, *, -, parentheses, operators' punctuation, emoji)
// separates words, so no character of the input can reach the FTS query syntax.
func searchTerms(input string) []string {
	var terms []string
	for _, f := range strings.FieldsFunc(input, func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsNumber(r) && !unicode.Is(unicode.M, r)
	}) {
		if !utf8.ValidString(f) {
			continue
		}
		if utf8.RuneCountInString(f) > maxTermRunes {
			f = string([]rune(f)[:maxTermRunes])
		}
		// Combining marks at the start of a word have nothing to sit on.
		f = strings.TrimLeftFunc(f, func(r rune) bool { return unicode.Is(unicode.M, r) })
		if f == "" {
			continue
		}
		terms = append(terms, f)
		if len(terms) == maxSearchTerms {
			break
		}
	}
	return terms
}

// ftsQuery turns what a user typed into an FTS4 MATCH expression that finds rows
// containing every word, each as a prefix ("cust 42" finds "Customer 4242"). Each word
// is a quoted phrase, so words such as OR, AND, NOT or NEAR are searched for, never
// obeyed. A number written with a leading 0 (national format) is also looked up
// without it, so "0151 1234" finds +49 151 1234…. It returns "" when there is no word
// to search for.
func ftsQuery(input string) string {
	terms := searchTerms(input)
	if len(terms) == 0 {
		return ""
	}
	parts := make([]string, 0, len(terms))
	for _, t := range terms {
		p := `"` + t + `*"`
		if trimmed := strings.TrimLeft(t, "0"); trimmed != t && trimmed != "" && allDigits(t) {
			p = `(` + p + ` OR "` + trimmed + `*")`
		}
		parts = append(parts, p)
	}
	return strings.Join(parts, " ")
}

func allDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}

// conversationSearchHits lists the ids of the conversations whose contact's name or
// numbers match, or a message of whose thread does (two MATCH parameters). It is the
// driving table of a search, joined to conversations with CROSS JOIN so that SQLite
// starts from the few hits instead of walking every conversation in activity order and
// probing the hit lists (what it picks without ANALYZE statistics: ~50k rows a search).
const conversationSearchHits = `SELECT s.id FROM conversations s
		WHERE s.contact_id IN (SELECT docid FROM contact_fts WHERE contact_fts MATCH ?)
	UNION SELECT s.id FROM conversations s
		WHERE s.thread_id IN (SELECT m.thread_id FROM message_fts JOIN messages m ON m.id = message_fts.docid
			WHERE message_fts MATCH ?)`

// contactSearchCond keeps the contacts c whose name or numbers match (one MATCH
// parameter).
const contactSearchCond = `c.id IN (SELECT docid FROM contact_fts WHERE contact_fts MATCH ?)`
