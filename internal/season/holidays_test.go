package season

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestBankHolidaysAsPublished checks years gov.uk has published, substitute days and
// proclaimed moves included, in every calendar.
func TestBankHolidaysAsPublished(t *testing.T) {
	cases := []struct {
		calendar Calendar
		year     int
		want     []string
	}{
		{EnglandAndWales, 2026, []string{"2026-01-01", "2026-04-03", "2026-04-06", "2026-05-04", "2026-05-25", "2026-08-31", "2026-12-25", "2026-12-28"}},
		{EnglandAndWales, 2027, []string{"2027-01-01", "2027-03-26", "2027-03-29", "2027-05-03", "2027-05-31", "2027-08-30", "2027-12-27", "2027-12-28"}},
		{Scotland, 2026, []string{"2026-01-01", "2026-01-02", "2026-04-03", "2026-05-04", "2026-05-25", "2026-08-03", "2026-11-30", "2026-12-25", "2026-12-28"}},
		{Scotland, 2027, []string{"2027-01-01", "2027-01-04", "2027-03-26", "2027-05-03", "2027-05-31", "2027-08-02", "2027-11-30", "2027-12-27", "2027-12-28"}},
		{NorthernIreland, 2026, []string{"2026-01-01", "2026-03-17", "2026-04-03", "2026-04-06", "2026-05-04", "2026-05-25", "2026-07-13", "2026-08-31", "2026-12-25", "2026-12-28"}},
		// 2022: the spring holiday moved to Thursday 2 June, the Platinum Jubilee on
		// Friday 3 June, the State Funeral on 19 September, Christmas on a Sunday.
		{EnglandAndWales, 2022, []string{"2022-01-03", "2022-04-15", "2022-04-18", "2022-05-02", "2022-06-02", "2022-06-03", "2022-08-29", "2022-09-19", "2022-12-26", "2022-12-27"}},
		// 2023 in Scotland: 1 January a Sunday, so 2 January (a Monday) and its substitute.
		{Scotland, 2023, []string{"2023-01-02", "2023-01-03", "2023-04-07", "2023-05-01", "2023-05-08", "2023-05-29", "2023-08-07", "2023-11-30", "2023-12-25", "2023-12-26"}},
		{CalendarNone, 2026, nil},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("%s %d", tc.calendar, tc.year), func(t *testing.T) {
			if diff := cmp.Diff(tc.want, dateStrings(BankHolidays(tc.calendar, tc.year))); diff != "" {
				t.Errorf("BankHolidays (-want +got):\n%s", diff)
			}
		})
	}
}

func dateStrings(days []Date) []string {
	var out []string
	for _, d := range days {
		out = append(out, d.String())
	}
	return out
}

// easterSundays are Easter Sunday 2025–2041 as the churches' tables list them: an
// independent source for the property test, not a computation.
var easterSundays = map[int]string{
	2025: "04-20", 2026: "04-05", 2027: "03-28", 2028: "04-16", 2029: "04-01", 2030: "04-21", 2031: "04-13", 2032: "03-28",
	2033: "04-17", 2034: "04-09", 2035: "03-25", 2036: "04-13", 2037: "04-05", 2038: "04-25", 2039: "04-10", 2040: "04-01", 2041: "04-21",
}

// independentHolidays computes a year's bank holidays another way than BankHolidays:
// Easter from the table, Mondays by scanning the month, and every substitute day from
// the case analysis gov.uk states in words, weekday by weekday.
func independentHolidays(t *testing.T, c Calendar, year int) []string {
	t.Helper()
	easter, err := time.Parse("2006-01-02", fmt.Sprintf("%d-%s", year, easterSundays[year]))
	if err != nil {
		t.Fatalf("no Easter for %d", year)
	}
	day := func(m time.Month, d int) time.Time { return time.Date(year, m, d, 0, 0, 0, 0, time.UTC) }
	mondays := func(m time.Month) []time.Time {
		var out []time.Time
		for d := day(m, 1); d.Month() == m; d = d.AddDate(0, 0, 1) {
			if d.Weekday() == time.Monday {
				out = append(out, d)
			}
		}
		return out
	}
	// single: a fixed holiday alone: on a Saturday the Monday after, on a Sunday the next day.
	single := func(d time.Time) time.Time {
		switch d.Weekday() {
		case time.Saturday:
			return d.AddDate(0, 0, 2)
		case time.Sunday:
			return d.AddDate(0, 0, 1)
		}
		return d
	}
	// pair: two consecutive fixed holidays (Christmas and Boxing Day; 1 and 2 January).
	pair := func(first time.Time) []time.Time {
		second := first.AddDate(0, 0, 1)
		switch first.Weekday() {
		case time.Friday: // the second on Saturday: Monday
			return []time.Time{first, first.AddDate(0, 0, 3)}
		case time.Saturday: // Monday and Tuesday
			return []time.Time{first.AddDate(0, 0, 2), first.AddDate(0, 0, 3)}
		case time.Sunday: // the second is Monday; the first moves to Tuesday
			return []time.Time{second, first.AddDate(0, 0, 2)}
		}
		return []time.Time{first, second}
	}
	may, aug := mondays(time.May), mondays(time.August)
	days := []time.Time{easter.AddDate(0, 0, -2), may[0], may[len(may)-1]}
	days = append(days, pair(day(time.December, 25))...)
	switch c {
	case Scotland:
		days = append(days, pair(day(time.January, 1))...)
		days = append(days, aug[0], single(day(time.November, 30)))
	default:
		days = append(days, single(day(time.January, 1)), easter.AddDate(0, 0, 1), aug[len(aug)-1])
		if c == NorthernIreland {
			days = append(days, single(day(time.March, 17)), single(day(time.July, 12)))
		}
	}
	var out []string
	for _, d := range days {
		out = append(out, d.Format(time.DateOnly))
	}
	slices.Sort(out)
	return out
}

// TestBankHolidaysAgainstIndependentComputation checks 2026–2040 in every calendar.
func TestBankHolidaysAgainstIndependentComputation(t *testing.T) {
	for _, c := range []Calendar{EnglandAndWales, Scotland, NorthernIreland} {
		for year := 2026; year <= 2040; year++ {
			if diff := cmp.Diff(independentHolidays(t, c, year), dateStrings(BankHolidays(c, year))); diff != "" {
				t.Errorf("%s %d (-independent +BankHolidays):\n%s", c, year, diff)
			}
		}
	}
}
