package season

import (
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// workingSeasons are the calendars the property test checks, with their holidays.
var workingSeasons = []struct {
	name string
	spec Spec
}{
	{"Self Assessment and payday, England and Wales", Spec{Windows: []WindowSpec{
		{WorkingDays: &WorkingDaysWindow{Count: 5, Before: "01-31"}},
		{WorkingDays: &WorkingDaysWindow{Count: 1, OfMonth: -1}},
		{WorkingDays: &WorkingDaysWindow{Count: 2, OfMonth: 1}},
	}}},
	{"tax year end and the month's turn, Scotland", Spec{Holidays: &HolidaySpec{Calendar: Scotland}, Windows: []WindowSpec{
		{WorkingDays: &WorkingDaysWindow{Count: 3, Before: "04-06"}},
		{Monthly: &Monthly{From: 28, To: 3}},
		{Monthly: &Monthly{From: 15, To: 31}},
	}}},
	{"a state occasion added and a holiday worked, Northern Ireland", Spec{
		Holidays: &HolidaySpec{Calendar: NorthernIreland, Add: []string{"2031-06-02", "2037-01-30"}, Remove: []string{"2033-12-27", "2029-03-30"}},
		Windows: []WindowSpec{
			{WorkingDays: &WorkingDaysWindow{Count: 1, OfMonth: -3}},
			{WorkingDays: &WorkingDaysWindow{Count: 4, Before: "02-29"}},
			{WorkingDays: &WorkingDaysWindow{Count: 2, OfMonth: 20}},
		}}},
}

// bruteForce says, day by day from first to last, whether each day is in one of the
// spec's windows, from the definitions stated directly and independentHolidays.
func bruteForce(t *testing.T, spec Spec, first, last time.Time) map[string]bool {
	t.Helper()
	cal, add, remove := EnglandAndWales, map[string]bool{}, map[string]bool{}
	if h := spec.Holidays; h != nil {
		cal = h.Calendar
		for _, d := range h.Add {
			add[d] = true
		}
		for _, d := range h.Remove {
			remove[d] = true
		}
	}
	holiday := map[string]bool{}
	for year := first.Year() - 1; year <= last.Year()+1; year++ {
		for _, d := range independentHolidays(t, cal, year) {
			holiday[d] = true
		}
	}
	key := func(d time.Time) string { return d.Format(time.DateOnly) }
	working := func(d time.Time) bool {
		k := key(d)
		return remove[k] || (d.Weekday() != time.Saturday && d.Weekday() != time.Sunday && !holiday[k] && !add[k])
	}
	in := map[string]bool{}
	mark := func(from, to time.Time) { // both days included
		for d := from; !d.After(to); d = d.AddDate(0, 0, 1) {
			in[key(d)] = true
		}
	}
	for _, w := range spec.Windows {
		for m := time.Date(first.Year()-1, 1, 1, 0, 0, 0, 0, time.UTC); m.Before(last.AddDate(1, 0, 0)); m = m.AddDate(0, 1, 0) {
			var wd []time.Time
			for d := m; d.Month() == m.Month(); d = d.AddDate(0, 0, 1) {
				if working(d) {
					wd = append(wd, d)
				}
				if mw := w.Monthly; mw != nil && ((mw.To > mw.From && d.Day() >= mw.From && d.Day() < mw.To) ||
					(mw.To < mw.From && (d.Day() >= mw.From || d.Day() < mw.To))) {
					in[key(d)] = true
				}
			}
			ww := w.WorkingDays
			switch {
			case ww == nil:
			case ww.Before != "" && m.Month() == time.January:
				end, _ := time.Parse(time.DateOnly, fmt.Sprintf("%d-%s", m.Year(), ww.Before))
				if ww.Before == "02-29" && end.IsZero() {
					end = time.Date(m.Year(), time.March, 1, 0, 0, 0, 0, time.UTC)
				}
				d, n := end, 0
				for n < ww.Count {
					if d = d.AddDate(0, 0, -1); working(d) {
						n++
					}
				}
				mark(d, end.AddDate(0, 0, -1))
			case ww.OfMonth > 0 && ww.OfMonth-1+ww.Count-1 < len(wd): // a month with too few has none
				mark(wd[ww.OfMonth-1], wd[ww.OfMonth-1+ww.Count-1])
			case ww.OfMonth < 0 && len(wd)+ww.OfMonth-ww.Count+1 >= 0:
				lastWD := len(wd) + ww.OfMonth
				mark(wd[lastWD-ww.Count+1], wd[lastWD])
			}
		}
	}
	return in
}

// TestWorkingDayTransitions checks every transition of the working-day seasons from
// 2026 to 2040 against bruteForce: each at a local midnight, in the right direction,
// none missing, none extra, each naming a rule.
func TestWorkingDayTransitions(t *testing.T) {
	london, _ := time.LoadLocation("Europe/London")
	first, last := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2040, 12, 31, 0, 0, 0, 0, time.UTC)
	for _, tc := range workingSeasons {
		t.Run(tc.name, func(t *testing.T) {
			in := bruteForce(t, tc.spec, first, last)
			var want []string
			for d := first; !d.After(last); d = d.AddDate(0, 0, 1) {
				today, yesterday := in[d.Format(time.DateOnly)], in[d.AddDate(0, 0, -1).Format(time.DateOnly)]
				if today != yesterday {
					want = append(want, fmt.Sprintf("%s %v", d.Format(time.DateOnly), today))
				}
			}
			s := mustCompile(t, tc.spec)
			var got []string
			start := time.Date(2025, 12, 31, 23, 0, 0, 0, london)
			for _, tr := range s.Upcoming(start, 2*len(want)+2) {
				local := tr.At.In(london)
				if !local.Before(last.Add(24 * time.Hour)) {
					break
				}
				if local.Hour() != 0 || local.Minute() != 0 || local.Second() != 0 || len(tr.Rules) == 0 {
					t.Errorf("transition %s: not at a local midnight, or no rule (%v)", local, tr.Rules)
				}
				got = append(got, fmt.Sprintf("%s %v", local.Format(time.DateOnly), tr.Active))
			}
			if len(want) < 100 {
				t.Fatalf("only %d transitions in 15 years: the test checks too little", len(want))
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("transitions (-brute force +Upcoming):\n%s", diff)
			}
		})
	}
}
