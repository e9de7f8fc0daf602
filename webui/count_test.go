package webui

import (
	"encoding/json"
	"flag"
	"os"
	"slices"
	"testing"

	"github.com/smsgw/smsgw/sms"
)

var update = flag.Bool("update", false, "rewrite the expectations in testdata/count_cases.json from sms.Count")

// countCase is one line of the table shared by the server's counter (sms.Count) and
// the composer's (static/counter.js, checked in a real browser by TestBrowser).
type countCase struct {
	Name       string   `json:"name"`
	Text       string   `json:"text"`
	Encoding   string   `json:"encoding"`
	Characters int      `json:"characters"`
	Segments   int      `json:"segments"`
	UnitsLeft  int      `json:"units_left"`
	Forcing    []string `json:"forcing"`
}

const countCasesFile = "testdata/count_cases.json"

func loadCountCases(t *testing.T) []countCase {
	t.Helper()
	b, err := os.ReadFile(countCasesFile)
	if err != nil {
		t.Fatal(err)
	}
	var cases []countCase
	if err := json.Unmarshal(b, &cases); err != nil {
		t.Fatal(err)
	}
	if len(cases) < 20 {
		t.Fatalf("only %d count cases", len(cases))
	}
	return cases
}

func serverCount(text string) countCase {
	c := sms.Count(text)
	forcing := c.ForcingUCS2
	if forcing == nil {
		forcing = []string{}
	}
	return countCase{Encoding: c.Encoding.String(), Characters: c.Characters, Segments: c.Segments,
		UnitsLeft: c.UnitsLeft, Forcing: forcing}
}

func sameCount(a, b countCase) bool {
	return a.Encoding == b.Encoding && a.Characters == b.Characters && a.Segments == b.Segments &&
		a.UnitsLeft == b.UnitsLeft && slices.Equal(a.Forcing, b.Forcing)
}

// The table's expectations are what the server counts.
func TestCountCasesMatchServer(t *testing.T) {
	cases := loadCountCases(t)
	if *update {
		for i := range cases {
			got := serverCount(cases[i].Text)
			got.Name, got.Text = cases[i].Name, cases[i].Text
			cases[i] = got
		}
		b, err := json.MarshalIndent(cases, "", " ")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(countCasesFile, append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			if got := serverCount(c.Text); !sameCount(got, c) {
				t.Errorf("sms.Count(%q) = %+v, table says %+v (run with -update if sms changed)", c.Text, got, c)
			}
		})
	}
}
