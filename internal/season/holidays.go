package season

import (
	"fmt"
	"slices"
	"time"
)

// Calendar names a published calendar of bank holidays. Working days are Monday to
// Friday, less the calendar's bank holidays, less the dates a PeakSeason adds, plus the
// dates it removes.
type Calendar string

// The UK's three calendars, and none (every weekday is a working day).
const (
	CalendarNone    Calendar = "None"
	EnglandAndWales Calendar = "EnglandAndWales"
	Scotland        Calendar = "Scotland"
	NorthernIreland Calendar = "NorthernIreland"
)

// Calendars are the calendars BankHolidays knows, for validation and messages.
var Calendars = []Calendar{EnglandAndWales, Scotland, NorthernIreland, CalendarNone}

// Date is a civil date, midnight UTC: a day in no time zone, for arithmetic on days.
type Date struct{ t time.Time }

// DateOf returns the civil date year-month-day (normalised as time.Date does).
func DateOf(year int, month time.Month, day int) Date {
	return Date{time.Date(year, month, day, 0, 0, 0, 0, time.UTC)}
}

// ParseDate parses YYYY-MM-DD.
func ParseDate(text string) (Date, error) {
	t, err := time.Parse(time.DateOnly, text)
	if err != nil {
		return Date{}, fmt.Errorf("%q is not a date of the form YYYY-MM-DD", text)
	}
	return Date{t}, nil
}

// Year, Month, Day and Weekday are the date's parts.
func (d Date) Year() int             { return d.t.Year() }
func (d Date) Month() time.Month     { return d.t.Month() }
func (d Date) Day() int              { return d.t.Day() }
func (d Date) Weekday() time.Weekday { return d.t.Weekday() }

// AddDays returns the date n days later (earlier when n is negative).
func (d Date) AddDays(n int) Date { return Date{d.t.AddDate(0, 0, n)} }

// Before reports whether d is earlier than e.
func (d Date) Before(e Date) bool { return d.t.Before(e.t) }

// String is YYYY-MM-DD.
func (d Date) String() string { return d.t.Format(time.DateOnly) }

// Compare orders dates, for slices.SortFunc.
func (d Date) Compare(e Date) int { return d.t.Compare(e.t) }

// midnightIn is the instant the day begins in loc (the package's gap rule applies).
func (d Date) midnightIn(loc *time.Location) time.Time {
	return wallClock(d.Year(), d.Month(), d.Day(), 0, 0, 0, loc)
}

func weekend(d Date) bool { return d.Weekday() == time.Saturday || d.Weekday() == time.Sunday }

// holidayRule is one bank holiday of a calendar: on a date of the year (fixed, moved to
// a substitute weekday when it falls at a weekend) or on a date computed for the year.
type holidayRule struct {
	name  string
	fixed *time.Month // with day: a fixed date
	day   int
	calc  func(year int) Date
}

func fixed(name string, m time.Month, day int) holidayRule {
	return holidayRule{name: name, fixed: &m, day: day}
}

func computed(name string, calc func(year int) Date) holidayRule {
	return holidayRule{name: name, calc: calc}
}

var (
	newYear      = fixed("New Year's Day", time.January, 1)
	goodFriday   = computed("Good Friday", func(y int) Date { return Easter(y).AddDays(-2) })
	easterMonday = computed("Easter Monday", func(y int) Date { return Easter(y).AddDays(1) })
	earlyMay     = computed("Early May bank holiday", func(y int) Date { return nthMonday(y, time.May, 1) })
	spring       = computed("Spring bank holiday", func(y int) Date { return lastMonday(y, time.May) })
	christmas    = fixed("Christmas Day", time.December, 25)
	boxingDay    = fixed("Boxing Day", time.December, 26)
)

// calendarRules are each calendar's bank holidays, as the Banking and Financial
// Dealings Act 1971 and the St Andrew's Day Bank Holiday (Scotland) Act 2007 set them
// and gov.uk publishes them.
var calendarRules = map[Calendar][]holidayRule{
	EnglandAndWales: {newYear, goodFriday, easterMonday, earlyMay, spring,
		computed("Summer bank holiday", func(y int) Date { return lastMonday(y, time.August) }), christmas, boxingDay},
	Scotland: {newYear, fixed("2nd January", time.January, 2), goodFriday, earlyMay, spring,
		computed("Summer bank holiday", func(y int) Date { return nthMonday(y, time.August, 1) }),
		fixed("St Andrew's Day", time.November, 30), christmas, boxingDay},
	NorthernIreland: {newYear, fixed("St Patrick's Day", time.March, 17), goodFriday, easterMonday, earlyMay, spring,
		fixed("Battle of the Boyne (Orangemen's Day)", time.July, 12),
		computed("Summer bank holiday", func(y int) Date { return lastMonday(y, time.August) }), christmas, boxingDay},
}

// moved are the bank holidays proclaimed on another day than the rule's, by year and
// rule name (every calendar that has the rule), as gov.uk lists them.
var moved = map[int]map[string]Date{
	1995: {earlyMay.name: DateOf(1995, time.May, 8)},
	2002: {spring.name: DateOf(2002, time.June, 4)},
	2012: {spring.name: DateOf(2012, time.June, 4)},
	2020: {earlyMay.name: DateOf(2020, time.May, 8)},
	2022: {spring.name: DateOf(2022, time.June, 2)},
}

// proclaimed are the one-off bank holidays of the whole UK proclaimed so far (a state
// occasion); a new one is added by the centre in a PeakSeason's spec.holidays.add until
// this list has it.
var proclaimed = []Date{
	DateOf(1999, time.December, 31), // the millennium
	DateOf(2002, time.June, 3),      // the Golden Jubilee
	DateOf(2011, time.April, 29),    // the Royal Wedding
	DateOf(2012, time.June, 5),      // the Diamond Jubilee
	DateOf(2022, time.June, 3),      // the Platinum Jubilee
	DateOf(2022, time.September, 19),
	DateOf(2023, time.May, 8), // the Coronation
}

// BankHolidays returns the weekdays that are bank holidays in year in calendar c,
// sorted: a fixed-date holiday at a weekend is listed as its substitute, the next
// weekday that is not a holiday already (so Christmas on a Saturday gives Monday the
// 27th, and Boxing Day on the Sunday, Tuesday the 28th). CalendarNone has none.
func BankHolidays(c Calendar, year int) []Date {
	rules := calendarRules[c]
	if len(rules) == 0 {
		return nil
	}
	taken := map[Date]bool{}
	var days, atWeekend []Date
	for _, r := range rules {
		d := r.on(year)
		if m, ok := moved[year][r.name]; ok {
			d = m
		}
		taken[d] = true
		days = append(days, d)
		if r.fixed != nil && weekend(d) {
			atWeekend = append(atWeekend, d)
		}
	}
	for _, d := range proclaimed {
		if d.Year() == year {
			taken[d] = true
			days = append(days, d)
		}
	}
	slices.SortFunc(atWeekend, Date.Compare)
	for _, d := range atWeekend {
		sub := d.AddDays(1)
		for weekend(sub) || taken[sub] {
			sub = sub.AddDays(1)
		}
		taken[sub] = true
		days = append(days, sub)
	}
	// A holiday at a weekend is listed as its substitute, as gov.uk lists it.
	days = slices.DeleteFunc(days, weekend)
	slices.SortFunc(days, Date.Compare)
	return slices.Compact(days)
}

func (r holidayRule) on(year int) Date {
	if r.fixed != nil {
		return DateOf(year, *r.fixed, r.day)
	}
	return r.calc(year)
}

// Easter is Easter Sunday of year in the Gregorian calendar (the Meeus/Jones/Butcher
// computation).
func Easter(year int) Date {
	a, b, c := year%19, year/100, year%100
	d, e := b/4, b%4
	f := (b + 8) / 25
	g := (b - f + 1) / 3
	h := (19*a + b - d - g + 15) % 30
	i, k := c/4, c%4
	l := (32 + 2*e + 2*i - h - k) % 7
	m := (a + 11*h + 22*l) / 451
	month := (h + l - 7*m + 114) / 31
	day := (h+l-7*m+114)%31 + 1
	return DateOf(year, time.Month(month), day)
}

// nthMonday is the nth Monday of the month.
func nthMonday(year int, month time.Month, n int) Date {
	first := DateOf(year, month, 1)
	offset := (int(time.Monday) - int(first.Weekday()) + 7) % 7
	return first.AddDays(offset + 7*(n-1))
}

// lastMonday is the last Monday of the month.
func lastMonday(year int, month time.Month) Date {
	last := DateOf(year, month+1, 0)
	offset := (int(last.Weekday()) - int(time.Monday) + 7) % 7
	return last.AddDays(-offset)
}
