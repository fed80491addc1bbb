package season

import (
	"fmt"
	"sync"
	"time"
)

// HolidaySpec says which days are not working days: a calendar's bank holidays, plus
// Add (a one-off bank holiday the centre proclaims), minus Remove (a holiday that is a
// working day after all). Dates are YYYY-MM-DD.
type HolidaySpec struct {
	Calendar    Calendar
	Add, Remove []string
}

// workingDays is a compiled HolidaySpec. The bank holidays of each year are computed
// once, when a window first asks; it is safe for concurrent use.
type workingDays struct {
	calendar    Calendar
	add, remove map[Date]bool
	mu          sync.Mutex
	years       map[int]map[Date]bool
}

// compileHolidays validates h. A nil h is England and Wales with nothing changed: the
// calendar of a PeakSeason that names none (the operator's home is Whitehall).
func compileHolidays(h *HolidaySpec) (*workingDays, []error) {
	w := &workingDays{calendar: EnglandAndWales, add: map[Date]bool{}, remove: map[Date]bool{}, years: map[int]map[Date]bool{}}
	if h == nil {
		return w, nil
	}
	var errs []error
	if h.Calendar != "" {
		w.calendar = h.Calendar
	}
	if _, ok := calendarRules[w.calendar]; !ok && w.calendar != CalendarNone {
		errs = append(errs, fmt.Errorf("holidays.calendar: %q is not one of %v", h.Calendar, Calendars))
	}
	for _, f := range []struct {
		field string
		list  []string
		into  map[Date]bool
	}{{"add", h.Add, w.add}, {"remove", h.Remove, w.remove}} {
		for i, text := range f.list {
			d, err := ParseDate(text)
			if err != nil {
				errs = append(errs, fmt.Errorf("holidays.%s[%d]: %w", f.field, i, err))
				continue
			}
			f.into[d] = true
		}
	}
	return w, errs
}

// IsWorkingDay reports whether d is a working day.
func (w *workingDays) IsWorkingDay(d Date) bool {
	switch {
	case w.remove[d]:
		return true
	case w.add[d] || weekend(d):
		return false
	}
	return !w.holidays(d.Year())[d]
}

func (w *workingDays) holidays(year int) map[Date]bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if set, ok := w.years[year]; ok {
		return set
	}
	set := map[Date]bool{}
	for _, d := range BankHolidays(w.calendar, year) {
		set[d] = true
	}
	w.years[year] = set
	return set
}

// describe names the calendar in a rule: "England and Wales", with what was changed.
func (w *workingDays) describe() string {
	name := map[Calendar]string{EnglandAndWales: "England and Wales", Scotland: "Scotland",
		NorthernIreland: "Northern Ireland", CalendarNone: "no bank holidays"}[w.calendar]
	switch n := len(w.add) + len(w.remove); n {
	case 0:
	case 1:
		name += ", 1 date changed"
	default:
		name += fmt.Sprintf(", %d dates changed", n)
	}
	return name
}

// monthWorkingDays are the working days of a month, in order.
func (w *workingDays) monthWorkingDays(year int, month time.Month) []Date {
	var out []Date
	for d := DateOf(year, month, 1); d.Month() == month; d = d.AddDays(1) {
		if w.IsWorkingDay(d) {
			out = append(out, d)
		}
	}
	return out
}

// maxWorkingDays bounds the working days a window counts: more than a month's.
const maxWorkingDays = 23

// Monthly is a window that recurs every month, from day From 00:00 to day To 00:00,
// end exclusive; when To is not after From it crosses the month's end (25 to 3 is the
// 25th to the 3rd of the next month). A day the month does not have (31 in April) is
// the instant the month ends.
type Monthly struct {
	From, To int
}

// WorkingDaysWindow is a window of whole working days:
//   - with Before (MM-DD), every year the Count working days just before that date,
//     from the first of them to the date (the days between included);
//   - with OfMonth, every month the Count working days from the OfMonth-th working day
//     (1 the first), or, when OfMonth is negative, up to the -OfMonth-th from the end
//     (-1 the last: the last working day is payday), to the end of the last of them.
type WorkingDaysWindow struct {
	Count   int
	Before  string
	OfMonth int
}

type monthlyWindow struct{ from, to int }

// dayStart is the start of a day of the month in loc; a day past the month's end is
// the instant the month ends.
func dayStart(year int, month time.Month, day int, loc *time.Location) time.Time {
	if last := DateOf(year, month+1, 0).Day(); day > last {
		return wallClock(year, month+1, 1, 0, 0, 0, loc)
	}
	return wallClock(year, month, day, 0, 0, 0, loc)
}

func (w monthlyWindow) occurrence(year int, month time.Month, s *Season) (Interval, bool) {
	endMonth := month
	if w.to <= w.from {
		endMonth++
	}
	iv := Interval{Start: dayStart(year, month, w.from, s.loc), End: dayStart(year, endMonth, w.to, s.loc)}
	return iv, iv.Start.Before(iv.End)
}

type workingWindow struct {
	count   int
	before  *monthDay
	ofMonth int
}

// yearOccurrence is the Before form's occurrence ending in year.
func (w workingWindow) yearOccurrence(year int, s *Season) (Interval, bool) {
	end := DateOf(year, w.before.month, w.before.day) // 29 February: 1 March in other years
	d, found := end, 0
	for step := 0; found < w.count && step < 366; step++ {
		d = d.AddDays(-1)
		if s.days.IsWorkingDay(d) {
			found++
		}
	}
	if found < w.count {
		return Interval{}, false
	}
	return Interval{Start: d.midnightIn(s.loc), End: end.midnightIn(s.loc)}, true
}

// monthOccurrence is the OfMonth form's occurrence in a month: none when the month has
// fewer working days than it names.
func (w workingWindow) monthOccurrence(year int, month time.Month, s *Season) (Interval, bool) {
	days := s.days.monthWorkingDays(year, month)
	first := w.ofMonth - 1
	if w.ofMonth < 0 {
		first = len(days) + w.ofMonth - (w.count - 1)
	}
	last := first + w.count - 1
	if first < 0 || last >= len(days) {
		return Interval{}, false
	}
	return Interval{Start: days[first].midnightIn(s.loc), End: days[last].AddDays(1).midnightIn(s.loc)}, true
}

func (w workingWindow) describe(days *workingDays) string {
	plural := func(n int, one string) string {
		if n == 1 {
			return one
		}
		return fmt.Sprintf("%d %ss", n, one)
	}
	if w.before != nil {
		return fmt.Sprintf("the last %s before %02d-%02d (%s)", plural(w.count, "working day"), w.before.month, w.before.day, days.describe())
	}
	if w.ofMonth < 0 {
		nth := ""
		if w.ofMonth < -1 {
			nth = fmt.Sprintf(" up to the %s from the end", ordinal(-w.ofMonth))
		}
		return fmt.Sprintf("the last %s of every month%s (%s)", plural(w.count, "working day"), nth, days.describe())
	}
	if w.count == 1 {
		return fmt.Sprintf("the %s working day of every month (%s)", ordinal(w.ofMonth), days.describe())
	}
	return fmt.Sprintf("%d working days from the %s of every month (%s)", w.count, ordinal(w.ofMonth), days.describe())
}

func ordinal(n int) string {
	suffix := "th"
	switch {
	case n%100 >= 11 && n%100 <= 13:
	case n%10 == 1:
		suffix = "st"
	case n%10 == 2:
		suffix = "nd"
	case n%10 == 3:
		suffix = "rd"
	}
	return fmt.Sprintf("%d%s", n, suffix)
}
