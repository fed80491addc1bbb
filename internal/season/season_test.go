package season

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// selfAssessment is the season of DESIGN.md: January, with a 48h ramp-up and
// a 24h ramp-down, in London.
var selfAssessment = Spec{
	Windows:  []WindowSpec{yearly("01-02", "02-01")},
	RampUp:   48 * time.Hour,
	RampDown: 24 * time.Hour,
}

func TestActiveAtAndNextTransition(t *testing.T) {
	christmas := Spec{Windows: []WindowSpec{yearly("12-20", "01-05")}}
	springForward := Spec{Windows: []WindowSpec{yearly("03-01", "03-28"), yearly("03-28", "04-04")}}
	fallBack := Spec{Windows: []WindowSpec{yearly("10-31", "11-07")}}
	leapStart := Spec{Windows: []WindowSpec{yearly("02-29", "03-10")}}
	leapEnd := Spec{Windows: []WindowSpec{yearly("02-20", "02-29")}}
	leapOnly := Spec{Windows: []WindowSpec{yearly("02-29", "03-01")}}
	oneOffs := Spec{
		Windows: []WindowSpec{
			oneOff("2027-04-01T00:00:00", "2027-04-10T00:00:00"),
			oneOff("2027-04-08T00:00:00", "2027-04-20T00:00:00"),
			oneOff("2027-06-01T09:00:00", "2027-06-01T17:30:00"),
		},
		TimeZone: "UTC",
	}
	cases := []struct {
		reason string
		spec   Spec
		at     string
		want   answer
	}{
		// Ordinary boundaries, ramps applied: 2 Jan − 48h and 1 Feb + 24h.
		{"the second before the ramp-up", selfAssessment, "2026-12-30T23:59:59Z",
			answer{Next: "2026-12-31T00:00:00Z"}},
		{"the ramp-up starts 48h before 2 January", selfAssessment, "2026-12-31T00:00:00Z",
			answer{true, "2026-12-31T00:00:00Z", "2027-02-02T00:00:00Z", "2027-02-02T00:00:00Z"}},
		{"inside the window proper", selfAssessment, "2027-01-15T12:00:00Z",
			answer{true, "2026-12-31T00:00:00Z", "2027-02-02T00:00:00Z", "2027-02-02T00:00:00Z"}},
		{"the last second of the ramp-down", selfAssessment, "2027-02-01T23:59:59Z",
			answer{true, "2026-12-31T00:00:00Z", "2027-02-02T00:00:00Z", "2027-02-02T00:00:00Z"}},
		{"the ramp-down ends 24h after 1 February", selfAssessment, "2027-02-02T00:00:00Z",
			answer{Next: "2027-12-31T00:00:00Z"}},
		{"summer waits for next winter", selfAssessment, "2027-07-01T00:00:00Z",
			answer{Next: "2027-12-31T00:00:00Z"}},
		{"without ramps the window starts at midnight", Spec{Windows: selfAssessment.Windows}, "2027-01-02T00:00:00Z",
			answer{true, "2027-01-02T00:00:00Z", "2027-02-01T00:00:00Z", "2027-02-01T00:00:00Z"}},
		{"without ramps the day before is outside", Spec{Windows: selfAssessment.Windows}, "2027-01-01T23:59:59Z",
			answer{Next: "2027-01-02T00:00:00Z"}},

		// A yearly window across the new year.
		{"new year inside a window that crosses it", christmas, "2027-01-01T00:00:00Z",
			answer{true, "2026-12-20T00:00:00Z", "2027-01-05T00:00:00Z", "2027-01-05T00:00:00Z"}},
		{"new year's eve", christmas, "2026-12-31T23:59:59Z",
			answer{true, "2026-12-20T00:00:00Z", "2027-01-05T00:00:00Z", "2027-01-05T00:00:00Z"}},
		{"early January belongs to last December's window", christmas, "2026-01-03T00:00:00Z",
			answer{true, "2025-12-20T00:00:00Z", "2026-01-05T00:00:00Z", "2026-01-05T00:00:00Z"}},
		{"the crossing window ends on 5 January", christmas, "2027-01-05T00:00:00Z",
			answer{Next: "2027-12-20T00:00:00Z"}},

		// Daylight saving in London; 2027 changes on 28 March and 31 October.
		{"midnight of the spring-forward day is GMT", springForward, "2027-03-27T23:59:59Z",
			answer{true, "2027-03-01T00:00:00Z", "2027-04-03T23:00:00Z", "2027-04-03T23:00:00Z"}},
		{"a window that starts on the spring-forward day ends in BST", springForward, "2027-04-03T23:00:00Z",
			answer{Next: "2028-03-01T00:00:00Z"}},
		{"midnight of the fall-back day is BST", fallBack, "2027-10-30T22:59:59Z",
			answer{Next: "2027-10-30T23:00:00Z"}},
		{"a window that starts on the fall-back day ends in GMT", fallBack, "2027-10-30T23:00:00Z",
			answer{true, "2027-10-30T23:00:00Z", "2027-11-07T00:00:00Z", "2027-11-07T00:00:00Z"}},
		{"a 48h ramp-up across spring-forward starts at 23:00 local",
			Spec{Windows: []WindowSpec{yearly("03-29", "04-05")}, RampUp: 48 * time.Hour}, "2027-03-26T22:59:59Z",
			answer{Next: "2027-03-26T23:00:00Z"}},
		{"a one-off in London's gap starts at the jump",
			Spec{Windows: []WindowSpec{oneOff("2027-03-28T01:30:00", "2027-03-28T03:00:00")}}, "2027-03-28T00:59:59Z",
			answer{Next: "2027-03-28T01:00:00Z"}},
		{"a one-off in London's repeated hour takes its first occurrence",
			Spec{Windows: []WindowSpec{oneOff("2027-10-31T01:30:00", "2027-10-31T02:00:00")}}, "2027-10-31T00:30:00Z",
			answer{true, "2027-10-31T00:30:00Z", "2027-10-31T02:00:00Z", "2027-10-31T02:00:00Z"}},

		// 29 February.
		{"02-29 starts on 29 February in a leap year", leapStart, "2028-02-28T23:59:59Z",
			answer{Next: "2028-02-29T00:00:00Z"}},
		{"02-29 starts on 1 March in other years", leapStart, "2027-02-28T23:59:59Z",
			answer{Next: "2027-03-01T00:00:00Z"}},
		{"02-29 ends before 29 February in a leap year", leapEnd, "2028-02-28T23:59:59Z",
			answer{true, "2028-02-20T00:00:00Z", "2028-02-29T00:00:00Z", "2028-02-29T00:00:00Z"}},
		{"02-29 ends before 1 March in other years", leapEnd, "2027-02-28T23:59:59Z",
			answer{true, "2027-02-20T00:00:00Z", "2027-03-01T00:00:00Z", "2027-03-01T00:00:00Z"}},
		{"02-29 to 03-01 is 29 February in a leap year", leapOnly, "2028-02-29T12:00:00Z",
			answer{true, "2028-02-29T00:00:00Z", "2028-03-01T00:00:00Z", "2028-03-01T00:00:00Z"}},
		{"02-29 to 03-01 does not happen in other years", leapOnly, "2027-03-01T00:00:00Z",
			answer{Next: "2028-02-29T00:00:00Z"}},
		{"02-29 to 03-01 skips 2100, eight years on", leapOnly, "2096-03-01T00:00:00Z",
			answer{Next: "2104-02-29T00:00:00Z"}},
		{"an empty occurrence gets no ramps",
			Spec{Windows: leapOnly.Windows, RampUp: 24 * time.Hour, RampDown: 24 * time.Hour}, "2027-02-28T12:00:00Z",
			answer{Next: "2028-02-28T00:00:00Z"}},

		// One-off windows, merging.
		{"overlapping one-offs are one interval", oneOffs, "2027-04-09T00:00:00Z",
			answer{true, "2027-04-01T00:00:00Z", "2027-04-20T00:00:00Z", "2027-04-20T00:00:00Z"}},
		{"a short one-off", oneOffs, "2027-06-01T17:29:59Z",
			answer{true, "2027-06-01T09:00:00Z", "2027-06-01T17:30:00Z", "2027-06-01T17:30:00Z"}},
		{"after the last one-off nothing happens again", oneOffs, "2027-06-01T17:30:00Z",
			answer{}},
		{"long before the first one-off", oneOffs, "1990-01-01T00:00:00Z",
			answer{Next: "2027-04-01T00:00:00Z"}},
		{"ramps that make a yearly and a one-off window touch merge them",
			Spec{
				Windows:  []WindowSpec{yearly("01-02", "02-01"), oneOff("2027-02-03T00:00:00", "2027-02-10T00:00:00")},
				RampUp:   24 * time.Hour,
				RampDown: 24 * time.Hour,
			}, "2027-02-02T00:00:00Z",
			answer{true, "2027-01-01T00:00:00Z", "2027-02-11T00:00:00Z", "2027-02-11T00:00:00Z"}},
		{"yearly windows that chain across years merge into one multi-year interval",
			Spec{Windows: []WindowSpec{yearly("03-01", "02-29")}}, "2026-06-01T00:00:00Z",
			answer{true, "2024-03-01T00:00:00Z", "2028-02-29T00:00:00Z", "2028-02-29T00:00:00Z"}},
		{"a merged interval that starts exactly where the first look ends",
			Spec{TimeZone: "UTC", Windows: []WindowSpec{
				oneOff("2020-01-01T00:00:00", "2020-01-11T00:00:00"),
				oneOff("2020-01-11T00:00:00", "2023-01-01T00:00:00"),
			}}, "2021-02-14T00:00:00Z", // 400 days after 11 January 2020
			answer{true, "2020-01-01T00:00:00Z", "2023-01-01T00:00:00Z", "2023-01-01T00:00:00Z"}},
		{"windows that cover every year are always active",
			Spec{Windows: []WindowSpec{yearly("01-01", "12-31")}, RampDown: 24 * time.Hour}, "2027-05-05T00:00:00Z",
			answer{Active: true}},
		{"a season without windows is never active", Spec{}, "2027-05-05T00:00:00Z",
			answer{}},
	}
	for _, c := range cases {
		t.Run(c.reason, func(t *testing.T) {
			s := mustCompile(t, c.spec)
			if diff := cmp.Diff(c.want, ask(s, at(t, c.at))); diff != "" {
				t.Errorf("at %s (-want +got):\n%s", c.at, diff)
			}
		})
	}
}

func TestTimesAreInTheSeasonsZone(t *testing.T) {
	s := mustCompile(t, Spec{TimeZone: "America/New_York", Windows: []WindowSpec{yearly("12-20", "01-05")}})
	_, cur := s.ActiveAt(at(t, "2027-01-01T00:00:00Z"))
	next, _ := s.NextTransition(at(t, "2027-01-01T00:00:00Z"))
	for _, ts := range []time.Time{cur.Start, cur.End, next} {
		if ts.Location() != s.Location() {
			t.Errorf("%s is in %s, want %s", ts, ts.Location(), s.Location())
		}
	}
	if got, want := cur.Start.Format(LocalDateTimeLayout), "2026-12-20T00:00:00"; got != want {
		t.Errorf("current window starts at %s local, want %s", got, want)
	}
}

func TestIntervalContains(t *testing.T) {
	iv := Interval{Start: at(t, "2027-01-01T00:00:00Z"), End: at(t, "2027-02-01T00:00:00Z")}
	cases := []struct {
		iv   Interval
		at   string
		want bool
	}{
		{iv, "2026-12-31T23:59:59Z", false},
		{iv, "2027-01-01T00:00:00Z", true},
		{iv, "2027-01-31T23:59:59Z", true},
		{iv, "2027-02-01T00:00:00Z", false},
		{Interval{End: iv.End}, "1900-01-01T00:00:00Z", true},
		{Interval{Start: iv.Start}, "2999-01-01T00:00:00Z", true},
	}
	for _, c := range cases {
		if got := c.iv.Contains(at(t, c.at)); got != c.want {
			t.Errorf("%v.Contains(%s) = %v, want %v", c.iv, c.at, got, c.want)
		}
	}
}

func BenchmarkNextTransition(b *testing.B) {
	s := mustCompile(b, selfAssessment)
	// Instants spread over a year, so the benchmark sees both states.
	start := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	instants := make([]time.Time, 97)
	for i := range instants {
		instants[i] = start.Add(time.Duration(i) * 90 * time.Hour)
	}
	i := 0
	for b.Loop() {
		if _, ok := s.NextTransition(instants[i%len(instants)]); !ok {
			b.Fatal("no next transition")
		}
		i++
	}
}

func TestLastClosed(t *testing.T) {
	s, err := Compile(Spec{TimeZone: "UTC", Windows: []WindowSpec{{Yearly: &Yearly{From: "01-02", To: "02-01"}}}, RampUp: 48 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	day := func(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }
	want := Interval{Start: day(2026, time.December, 31), End: day(2027, time.February, 1)}
	for _, at := range []time.Time{day(2027, time.February, 1), day(2027, time.June, 1), day(2027, time.December, 31).Add(time.Hour)} {
		got, ok := s.LastClosed(at)
		if !ok || !got.Start.Equal(want.Start) || !got.End.Equal(want.End) {
			t.Errorf("LastClosed(%s) = %v %v, want %v", at, got, ok, want)
		}
	}
	got, ok := s.LastClosed(day(2027, time.January, 15))
	if !ok || !got.End.Equal(day(2026, time.February, 1)) {
		t.Errorf("LastClosed during a window = %v %v, want the one a year before", got, ok)
	}
	oneOff, _ := Compile(Spec{TimeZone: "UTC", Windows: []WindowSpec{{From: "2027-04-01T00:00:00", To: "2027-04-15T00:00:00"}}})
	if _, ok := oneOff.LastClosed(day(2027, time.April, 2)); ok {
		t.Error("a one-off window that has not closed has a last window")
	}
}
