package season

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestCompileErrors(t *testing.T) {
	valid := yearly("01-02", "02-01")
	cases := []struct {
		reason string
		spec   Spec
		want   string
	}{
		{"month 13 does not exist",
			Spec{Windows: []WindowSpec{valid, yearly("13-01", "02-01")}},
			`windows[1].yearly.from: "13-01" is not a valid MM-DD date`},
		{"30 February does not exist even in a leap year",
			Spec{Windows: []WindowSpec{yearly("02-01", "02-30")}},
			`windows[0].yearly.to: "02-30" is not a valid MM-DD date`},
		{"MM-DD needs two digits each",
			Spec{Windows: []WindowSpec{yearly("1-02", "02-01")}},
			`windows[0].yearly.from: "1-02" is not a valid MM-DD date`},
		{"a date with a year is not MM-DD",
			Spec{Windows: []WindowSpec{yearly("2027-01-02", "02-01")}},
			`windows[0].yearly.from: "2027-01-02" is not a valid MM-DD date`},
		{"both ends bad are both reported",
			Spec{Windows: []WindowSpec{yearly("00-10", "04-31")}},
			`windows[0].yearly.from: "00-10" is not a valid MM-DD date` + "\n" +
				`windows[0].yearly.to: "04-31" is not a valid MM-DD date`},
		{"a yearly window from a day to itself",
			Spec{Windows: []WindowSpec{yearly("04-06", "04-06")}},
			`windows[0].yearly.to: "04-06" must differ from from, a window cannot be empty or the whole year`},
		{"unknown time zone",
			Spec{TimeZone: "Mars/Olympus_Mons", Windows: []WindowSpec{valid}},
			`timeZone: "Mars/Olympus_Mons" is not a known IANA time zone`},
		{"the host's zone is refused",
			Spec{TimeZone: "Local", Windows: []WindowSpec{valid}},
			`timeZone: "Local" is not allowed, name an IANA zone such as "Europe/London"`},
		{"one-off that ends before it starts",
			Spec{Windows: []WindowSpec{oneOff("2027-04-15T00:00:00", "2027-04-01T00:00:00")}},
			`windows[0].to: "2027-04-01T00:00:00" must be after from "2027-04-15T00:00:00"`},
		{"one-off that ends as it starts",
			Spec{Windows: []WindowSpec{valid, valid, oneOff("2027-04-01T00:00:00", "2027-04-01T00:00:00")}},
			`windows[2].to: "2027-04-01T00:00:00" must be after from "2027-04-01T00:00:00"`},
		{"one-off inside the hour London skips",
			Spec{Windows: []WindowSpec{oneOff("2027-03-28T01:10:00", "2027-03-28T01:50:00")}},
			`windows[0].to: "2027-03-28T01:50:00" is not after from "2027-03-28T01:10:00" once the daylight-saving gap in Europe/London is skipped`},
		{"one-off on a day that does not exist",
			Spec{Windows: []WindowSpec{oneOff("2027-02-29T00:00:00", "2027-03-02T00:00:00")}},
			`windows[0].from: "2027-02-29T00:00:00" is not a valid local date-time of the form 2006-01-02T15:04:05`},
		{"one-off with a date but no time",
			Spec{Windows: []WindowSpec{oneOff("2027-04-01T00:00:00", "2027-04-15")}},
			`windows[0].to: "2027-04-15" is not a valid local date-time of the form 2006-01-02T15:04:05`},
		{"one-off with an offset is not local time",
			Spec{Windows: []WindowSpec{oneOff("2027-04-01T00:00:00Z", "2027-04-15T00:00:00")}},
			`windows[0].from: "2027-04-01T00:00:00Z" is not a valid local date-time of the form 2006-01-02T15:04:05`},
		{"one-off without an end",
			Spec{Windows: []WindowSpec{oneOff("2027-04-01T00:00:00", "")}},
			`windows[0].to: required for a one-off window`},
		{"a window that is both yearly and one-off",
			Spec{Windows: []WindowSpec{{Yearly: &Yearly{From: "01-02", To: "02-01"}, From: "2027-04-01T00:00:00"}}},
			`windows[0]: set one of yearly, monthly, workingDays, or from and to`},
		{"an empty window",
			Spec{Windows: []WindowSpec{{}}},
			`windows[0]: set one of yearly, monthly, workingDays, or from and to`},
		{"negative ramps",
			Spec{Windows: []WindowSpec{valid}, RampUp: -time.Hour, RampDown: -90 * time.Minute},
			"rampUp: must not be negative, got -1h0m0s\nrampDown: must not be negative, got -1h30m0s"},
		{"a monthly window with a day no month has, and one empty",
			Spec{Windows: []WindowSpec{{Monthly: &Monthly{From: 0, To: 32}}, {Monthly: &Monthly{From: 5, To: 5}}}},
			"windows[0].monthly.from: 0 is not a day of the month (1 to 31)\n" +
				"windows[0].monthly.to: 32 is not a day of the month (1 to 31)\n" +
				"windows[1].monthly.to: 5 must differ from from, a window cannot be empty or the whole month"},
		{"working days: no count, both anchors, neither, a day that does not exist",
			Spec{Windows: []WindowSpec{
				{WorkingDays: &WorkingDaysWindow{Count: 0, OfMonth: 1}},
				{WorkingDays: &WorkingDaysWindow{Count: 1, OfMonth: 1, Before: "01-31"}},
				{WorkingDays: &WorkingDaysWindow{Count: 1}},
				{WorkingDays: &WorkingDaysWindow{Count: 24, Before: "02-30"}},
			}},
			"windows[0].workingDays.count: 0 is not between 1 and 23\n" +
				"windows[1].workingDays: set either before or ofMonth, not both\n" +
				"windows[2].workingDays: set before (MM-DD), or ofMonth between 1 and 23 or -23 and -1\n" +
				"windows[3].workingDays.count: 24 is not between 1 and 23\n" +
				`windows[3].workingDays.before: "02-30" is not a valid MM-DD date`},
		{"holidays: an unknown calendar and dates that are not dates",
			Spec{Holidays: &HolidaySpec{Calendar: "Wales", Add: []string{"2027-02-30"}, Remove: []string{"27-01-01"}}},
			`holidays.calendar: "Wales" is not one of [EnglandAndWales Scotland NorthernIreland None]` + "\n" +
				`holidays.add[0]: "2027-02-30" is not a date of the form YYYY-MM-DD` + "\n" +
				`holidays.remove[0]: "27-01-01" is not a date of the form YYYY-MM-DD`},
		{"every problem at once, in field order",
			Spec{TimeZone: "Nowhere", RampUp: -time.Hour, Windows: []WindowSpec{yearly("01-02", "01-32"), {}}},
			`timeZone: "Nowhere" is not a known IANA time zone` + "\n" +
				"rampUp: must not be negative, got -1h0m0s\n" +
				`windows[0].yearly.to: "01-32" is not a valid MM-DD date` + "\n" +
				`windows[1]: set one of yearly, monthly, workingDays, or from and to`},
	}
	for _, c := range cases {
		t.Run(c.reason, func(t *testing.T) {
			s, err := Compile(c.spec)
			if err == nil {
				t.Fatalf("Compile(%+v) = %v, want error %q", c.spec, s, c.want)
			}
			if diff := cmp.Diff(c.want, err.Error()); diff != "" {
				t.Errorf("Compile(...) error (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCompileAccepts(t *testing.T) {
	cases := []struct {
		reason   string
		spec     Spec
		wantZone string
	}{
		{"no zone means Europe/London", Spec{Windows: []WindowSpec{yearly("01-02", "02-01")}}, "Europe/London"},
		{"UTC is a zone", Spec{TimeZone: "UTC"}, "UTC"},
		{"no windows is a season that never starts", Spec{TimeZone: "Asia/Kolkata"}, "Asia/Kolkata"},
		{"29 February is a valid yearly boundary", Spec{Windows: []WindowSpec{yearly("02-29", "03-01")}}, "Europe/London"},
		{"a one-off from the second occurrence of an hour into the next",
			Spec{Windows: []WindowSpec{oneOff("2027-10-31T01:30:00", "2027-10-31T02:00:00")}}, "Europe/London"},
		{"a one-off that ends as the clocks jump is not empty",
			Spec{Windows: []WindowSpec{oneOff("2027-03-28T00:30:00", "2027-03-28T01:30:00")}}, "Europe/London"},
		{"zero ramps", Spec{Windows: []WindowSpec{yearly("12-20", "01-05")}, RampUp: 0, RampDown: 0}, "Europe/London"},
	}
	for _, c := range cases {
		t.Run(c.reason, func(t *testing.T) {
			s := mustCompile(t, c.spec)
			if got := s.Location().String(); got != c.wantZone {
				t.Errorf("Location() = %q, want %q", got, c.wantZone)
			}
		})
	}
}
