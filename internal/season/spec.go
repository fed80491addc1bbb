package season

import (
	"errors"
	"fmt"
	"time"

	// Embedded so that zones resolve in distroless images without /usr/share/zoneinfo.
	_ "time/tzdata"
)

// DefaultTimeZone is the zone of a Spec that names none.
const DefaultTimeZone = "Europe/London"

// LocalDateTimeLayout is the layout of a one-off window's From and To.
const LocalDateTimeLayout = "2006-01-02T15:04:05"

// Spec describes a season as PeakSeason's spec does.
type Spec struct {
	// TimeZone is an IANA zone name; empty means DefaultTimeZone.
	TimeZone string
	Windows  []WindowSpec
	// RampUp and RampDown widen every window: it starts RampUp early and ends
	// RampDown late.
	RampUp, RampDown time.Duration
	// Holidays say which days are working days, for WorkingDays windows; nil is
	// England and Wales.
	Holidays *HolidaySpec
}

// WindowSpec is one window: Yearly, Monthly, WorkingDays, or a one-off window from
// From to To, both local date-times in LocalDateTimeLayout.
type WindowSpec struct {
	Yearly      *Yearly
	Monthly     *Monthly
	WorkingDays *WorkingDaysWindow
	From, To    string
}

// Yearly is a window that recurs every year, from MM-DD 00:00 to MM-DD 00:00
// local time, end exclusive. When To is not after From it crosses the new year.
type Yearly struct {
	From, To string
}

// monthDay is a parsed MM-DD.
type monthDay struct {
	month time.Month
	day   int
}

func (a monthDay) before(b monthDay) bool {
	return a.month < b.month || a.month == b.month && a.day < b.day
}

// Compile validates s and returns the season it describes. Every problem is
// reported, each naming its field, e.g. windows[1].yearly.from.
func Compile(s Spec) (*Season, error) {
	var errs []error
	loc, err := loadZone(s.TimeZone)
	if err != nil {
		errs = append(errs, err)
		loc = time.UTC // keep validating the windows; the season is discarded anyway
	}
	if s.RampUp < 0 {
		errs = append(errs, fmt.Errorf("rampUp: must not be negative, got %s", s.RampUp))
	}
	if s.RampDown < 0 {
		errs = append(errs, fmt.Errorf("rampDown: must not be negative, got %s", s.RampDown))
	}

	days, holidayErrs := compileHolidays(s.Holidays)
	errs = append(errs, holidayErrs...)
	season := &Season{loc: loc, rampUp: s.RampUp, rampDown: s.RampDown, days: days}
	for i, w := range s.Windows {
		if err := season.addWindow(fmt.Sprintf("windows[%d]", i), w); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return season, nil
}

// LoadZone loads an IANA zone ("" is DefaultTimeZone) from the embedded database,
// refusing "Local": a calendar must not depend on where the operator runs.
func LoadZone(name string) (*time.Location, error) { return loadZone(name) }

func loadZone(name string) (*time.Location, error) {
	switch name {
	case "":
		name = DefaultTimeZone
	case "Local":
		// The host's zone would make the calendar depend on where the operator runs.
		return nil, errors.New(`timeZone: "Local" is not allowed, name an IANA zone such as "Europe/London"`)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("timeZone: %q is not a known IANA time zone", name)
	}
	return loc, nil
}

func (s *Season) addWindow(path string, w WindowSpec) error {
	kinds := 0
	for _, set := range []bool{w.Yearly != nil, w.Monthly != nil, w.WorkingDays != nil, w.From != "" || w.To != ""} {
		if set {
			kinds++
		}
	}
	switch {
	case kinds > 1:
		return fmt.Errorf("%s: set one of yearly, monthly, workingDays, or from and to", path)
	case w.Yearly != nil:
		return s.addYearly(path, *w.Yearly)
	case w.Monthly != nil:
		return s.addMonthly(path, *w.Monthly)
	case w.WorkingDays != nil:
		return s.addWorkingDays(path, *w.WorkingDays)
	case kinds == 1:
		return s.addOneOff(path, w.From, w.To)
	default:
		return fmt.Errorf("%s: set one of yearly, monthly, workingDays, or from and to", path)
	}
}

func (s *Season) addYearly(path string, y Yearly) error {
	from, errFrom := parseMonthDay(path+".yearly.from", y.From)
	to, errTo := parseMonthDay(path+".yearly.to", y.To)
	if err := errors.Join(errFrom, errTo); err != nil {
		return err
	}
	if from == to {
		return fmt.Errorf("%s.yearly.to: %q must differ from from, a window cannot be empty or the whole year", path, y.To)
	}
	s.windows = append(s.windows, window{rule: fmt.Sprintf("%s: every year %s to %s", path, y.From, y.To), yearly: &yearlyWindow{from: from, to: to}})
	return nil
}

func (s *Season) addMonthly(path string, m Monthly) error {
	var errs []error
	for _, f := range []struct {
		field string
		day   int
	}{{"from", m.From}, {"to", m.To}} {
		if f.day < 1 || f.day > 31 {
			errs = append(errs, fmt.Errorf("%s.monthly.%s: %d is not a day of the month (1 to 31)", path, f.field, f.day))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	if m.From == m.To {
		return fmt.Errorf("%s.monthly.to: %d must differ from from, a window cannot be empty or the whole month", path, m.To)
	}
	s.windows = append(s.windows, window{rule: fmt.Sprintf("%s: every month, day %d to day %d", path, m.From, m.To), monthly: &monthlyWindow{from: m.From, to: m.To}})
	return nil
}

func (s *Season) addWorkingDays(path string, w WorkingDaysWindow) error {
	var errs []error
	if w.Count < 1 || w.Count > maxWorkingDays {
		errs = append(errs, fmt.Errorf("%s.workingDays.count: %d is not between 1 and %d", path, w.Count, maxWorkingDays))
	}
	win := workingWindow{count: w.Count, ofMonth: w.OfMonth}
	switch {
	case w.Before != "" && w.OfMonth != 0:
		errs = append(errs, fmt.Errorf("%s.workingDays: set either before or ofMonth, not both", path))
	case w.Before != "":
		md, err := parseMonthDay(path+".workingDays.before", w.Before)
		errs = append(errs, err)
		win.before = &md
	case w.OfMonth < -maxWorkingDays || w.OfMonth > maxWorkingDays || w.OfMonth == 0:
		errs = append(errs, fmt.Errorf("%s.workingDays: set before (MM-DD), or ofMonth between 1 and %d or -%d and -1", path, maxWorkingDays, maxWorkingDays))
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	s.windows = append(s.windows, window{rule: path + ": " + win.describe(s.days), working: &win})
	return nil
}

func (s *Season) addOneOff(path, fromText, toText string) error {
	from, errFrom := parseLocal(path+".from", fromText, s.loc)
	to, errTo := parseLocal(path+".to", toText, s.loc)
	if err := errors.Join(errFrom, errTo); err != nil {
		return err
	}
	if !to.After(from) {
		if toText > fromText { // the layout sorts as text, so this means a DST gap swallowed it
			return fmt.Errorf("%s.to: %q is not after from %q once the daylight-saving gap in %s is skipped", path, toText, fromText, s.loc)
		}
		return fmt.Errorf("%s.to: %q must be after from %q", path, toText, fromText)
	}
	s.windows = append(s.windows, window{rule: fmt.Sprintf("%s: %s to %s", path, fromText, toText), oneOff: &Interval{Start: from, End: to}})
	return nil
}

// parseMonthDay accepts exactly MM-DD with a day that exists in a leap year,
// so 02-29 is valid and 02-30 is not.
func parseMonthDay(path, text string) (monthDay, error) {
	t, err := time.Parse("01-02-2006", text+"-2000")
	if err != nil || len(text) != len("01-02") {
		return monthDay{}, fmt.Errorf("%s: %q is not a valid MM-DD date", path, text)
	}
	return monthDay{month: t.Month(), day: t.Day()}, nil
}

func parseLocal(path, text string, loc *time.Location) (time.Time, error) {
	if text == "" {
		return time.Time{}, fmt.Errorf("%s: required for a one-off window", path)
	}
	t, err := time.Parse(LocalDateTimeLayout, text)
	if err != nil {
		return time.Time{}, fmt.Errorf("%s: %q is not a valid local date-time of the form %s", path, text, LocalDateTimeLayout)
	}
	return wallClock(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), loc), nil
}
