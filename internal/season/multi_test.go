package season

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestActiveAndNext(t *testing.T) {
	seasons := map[string]*Season{
		"self-assessment": mustCompile(t, selfAssessment),
		"paye-year-end":   mustCompile(t, Spec{Windows: []WindowSpec{yearly("03-25", "04-20")}}),
		"christmas":       mustCompile(t, Spec{Windows: []WindowSpec{yearly("12-20", "01-05")}}),
		"broken":          nil,
		"past": mustCompile(t, Spec{Windows: []WindowSpec{
			oneOff("2020-01-01T00:00:00", "2020-02-01T00:00:00"),
		}}),
	}
	cases := []struct {
		reason     string
		at         string
		wantActive []string
		wantNext   string
	}{
		{"nothing in summer, Christmas comes first", "2027-07-01T00:00:00Z",
			nil, "2027-12-20T00:00:00Z"},
		{"two at once, sorted", "2027-01-03T00:00:00Z",
			[]string{"christmas", "self-assessment"}, "2027-01-05T00:00:00Z"},
		{"one left", "2027-01-06T00:00:00Z",
			[]string{"self-assessment"}, "2027-02-02T00:00:00Z"},
		{"PAYE year end", "2027-04-01T00:00:00Z",
			[]string{"paye-year-end"}, "2027-04-19T23:00:00Z"},
	}
	for _, c := range cases {
		t.Run(c.reason, func(t *testing.T) {
			when := at(t, c.at)
			if diff := cmp.Diff(c.wantActive, Active(seasons, when)); diff != "" {
				t.Errorf("Active (-want +got):\n%s", diff)
			}
			next, ok := Next(seasons, when)
			if !ok || text(next) != c.wantNext {
				t.Errorf("Next = %s, %v, want %s", text(next), ok, c.wantNext)
			}
		})
	}
}

func TestNextWithNothingAhead(t *testing.T) {
	seasons := map[string]*Season{
		"past":   mustCompile(t, Spec{Windows: []WindowSpec{oneOff("2020-01-01T00:00:00", "2020-02-01T00:00:00")}}),
		"empty":  mustCompile(t, Spec{}),
		"broken": nil,
	}
	when := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	if next, ok := Next(seasons, when); ok {
		t.Errorf("Next = %s, want none", next)
	}
	if got := Active(seasons, when); got != nil {
		t.Errorf("Active = %v, want none", got)
	}
	if next, ok := Next(nil, when); ok {
		t.Errorf("Next(nil) = %s, want none", next)
	}
}
