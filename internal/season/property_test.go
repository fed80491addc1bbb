package season

import (
	"fmt"
	"sort"
	"testing"
	"time"
)

// propertySeasons are representative calendars: the design's example, a
// window across the new year in another zone, 29 February at either end,
// boundaries on clock-change days (including a zone that skips midnight), and
// yearly windows that chain into multi-year intervals, and one-off windows that
// overlap, touch through their ramps, and sit in DST gaps and repeated hours.
var propertySeasons = []struct {
	name string
	spec Spec
}{
	{"self-assessment", selfAssessment},
	{"christmas in New York", Spec{
		TimeZone: "America/New_York",
		Windows:  []WindowSpec{yearly("12-20", "01-05")},
		RampUp:   6 * time.Hour,
		RampDown: 90 * time.Minute,
	}},
	{"29 February on its own", Spec{
		Windows: []WindowSpec{yearly("12-01", "02-28"), yearly("02-29", "03-01")},
		RampUp:  6 * time.Hour,
	}},
	{"29 February as an end", Spec{
		Windows:  []WindowSpec{yearly("09-01", "02-29")},
		RampDown: 12 * time.Hour,
	}},
	{"clock-change days in London", Spec{
		Windows: []WindowSpec{yearly("03-26", "03-29"), yearly("03-30", "10-25"), yearly("10-27", "11-01")},
	}},
	{"clock-change days in Santiago", Spec{
		TimeZone: "America/Santiago",
		Windows:  []WindowSpec{yearly("09-02", "09-07"), yearly("04-04", "04-06")},
		RampUp:   time.Hour,
	}},
	{"yearly windows chained for years", Spec{
		// Only leap days are outside, and the one-off fills 2032's.
		Windows: []WindowSpec{yearly("03-01", "02-29"), oneOff("2032-02-29T00:00:00", "2032-03-01T00:00:00")},
	}},
	{"one-offs", Spec{
		Windows: []WindowSpec{
			oneOff("2027-04-01T00:00:00", "2027-04-15T00:00:00"),
			oneOff("2027-04-10T00:00:00", "2027-05-01T00:00:00"),
			oneOff("2027-05-01T02:30:00", "2027-05-02T00:00:00"), // touches the previous through the ramps
			oneOff("2028-03-26T01:15:00", "2028-03-26T04:00:00"), // starts in London's gap
			oneOff("2029-10-28T01:20:00", "2029-10-28T01:40:00"), // inside London's repeated hour
			oneOff("2031-06-30T22:00:00", "2031-07-01T02:00:00"),
			oneOff("2035-12-31T12:00:00", "2036-01-01T12:00:00"),
		},
		RampUp:   2 * time.Hour,
		RampDown: 30 * time.Minute,
	}},
	{"one-offs with a yearly window", Spec{
		TimeZone: "Australia/Sydney",
		Windows: []WindowSpec{
			yearly("04-01", "04-08"), // Sydney's clocks go back on the first Sunday of April
			oneOff("2030-04-07T02:30:00", "2030-04-20T00:00:00"),
			oneOff("2032-10-03T02:30:00", "2032-10-04T00:00:00"), // in Sydney's gap
		},
		RampUp:   48 * time.Hour,
		RampDown: 24 * time.Hour,
	}},
}

// TestTransitionsProperty walks eleven years, minute by minute for three hours
// either side of every boundary and every three hours elsewhere, and checks
// that ActiveAt changes exactly at the instants NextTransition predicts: no
// transition is missed, none is doubled, and none appears away from a window
// boundary.
func TestTransitionsProperty(t *testing.T) {
	walkFrom := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	walkTo := time.Date(2037, 1, 1, 0, 0, 0, 0, time.UTC)
	const band, coarse = 3 * time.Hour, 3 * time.Hour
	for _, c := range propertySeasons {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			s := mustCompile(t, c.spec)
			// Predictions start a year before the walk and run past its end, so
			// that the intervals the walk sees have their ends predicted.
			from := walkFrom.AddDate(-1, 0, 0)
			wasActive, _ := s.ActiveAt(from)
			predicted := predictTransitions(t, s, from, walkTo)
			boundaries := naiveBoundaries(t, c.spec, s.Location(), 2020, 2045)

			for _, p := range predicted {
				if !nearAny(p, boundaries, band) {
					t.Errorf("predicted transition at %s is not within %s of any window boundary", text(p), band)
				}
			}

			checked := 0
			check := func(x time.Time) {
				if x.Before(walkFrom) || !x.Before(walkTo) {
					return
				}
				checked++
				checkInstant(t, s, x, wasActive, predicted)
			}
			for x := walkFrom; x.Before(walkTo); x = x.Add(coarse) {
				check(x)
			}
			for _, b := range boundaries {
				for x := b.Add(-band); !x.After(b.Add(band)); x = x.Add(time.Minute) {
					check(x)
				}
			}
			for _, p := range predicted {
				check(p.Add(-time.Nanosecond))
				check(p)
			}
			t.Logf("%d predicted transitions, %d boundaries, %d instants checked", len(predicted), len(boundaries), checked)
			if t.Failed() {
				t.FailNow()
			}
		})
	}
}

// predictTransitions follows NextTransition from from up to and including
// the first transition after to.
func predictTransitions(t *testing.T, s *Season, from, to time.Time) []time.Time {
	var out []time.Time
	for x := from; !x.After(to); {
		next, ok := s.NextTransition(x)
		if !ok {
			break
		}
		if !next.After(x) {
			t.Fatalf("NextTransition(%s) = %s, not after it", text(x), text(next))
		}
		out = append(out, next)
		x = next
	}
	return out
}

// checkInstant compares what the season says at x with what the predicted
// transitions imply: the state flips at each one, the next one is the first
// after x, and an active x lies in the interval between the two around it.
func checkInstant(t *testing.T, s *Season, x time.Time, initial bool, predicted []time.Time) {
	t.Helper()
	k := sort.Search(len(predicted), func(i int) bool { return predicted[i].After(x) }) // transitions at or before x
	want := answer{Active: initial != (k%2 == 1)}
	if k < len(predicted) {
		want.Next = text(predicted[k])
	}
	if want.Active && k > 0 && k < len(predicted) {
		want.Start, want.End = text(predicted[k-1]), text(predicted[k])
	}
	got := ask(s, x)
	if !want.Active || k == 0 || k == len(predicted) {
		got.Start, got.End = want.Start, want.End // the interval runs outside the predictions
	}
	if got != want {
		t.Errorf("at %s: got %+v, want %+v", x.UTC().Format(time.RFC3339Nano), got, want)
	}
}

// naiveBoundaries computes where transitions may happen without the package's
// code: each window end with its ramp, through time.Date and
// time.ParseInLocation. Go's normalisation of 29 February and of DST gaps
// differs from the package's rule by at most the gap, well inside the band.
func naiveBoundaries(t *testing.T, spec Spec, loc *time.Location, firstYear, lastYear int) []time.Time {
	var out []time.Time
	add := func(start, end time.Time) {
		out = append(out, start.Add(-spec.RampUp), end.Add(spec.RampDown))
	}
	for _, w := range spec.Windows {
		if w.Yearly == nil {
			start, err1 := time.ParseInLocation(LocalDateTimeLayout, w.From, loc)
			end, err2 := time.ParseInLocation(LocalDateTimeLayout, w.To, loc)
			if err1 != nil || err2 != nil {
				t.Fatal(err1, err2)
			}
			add(start, end)
			continue
		}
		var fm, fd, tm, td int
		if _, err := fmt.Sscanf(w.Yearly.From+" "+w.Yearly.To, "%d-%d %d-%d", &fm, &fd, &tm, &td); err != nil {
			t.Fatal(err)
		}
		for y := firstYear; y <= lastYear; y++ {
			add(time.Date(y, time.Month(fm), fd, 0, 0, 0, 0, loc), time.Date(y, time.Month(tm), td, 0, 0, 0, 0, loc))
		}
	}
	return out
}

func nearAny(x time.Time, ts []time.Time, d time.Duration) bool {
	for _, y := range ts {
		if diff := x.Sub(y); diff >= -d && diff <= d {
			return true
		}
	}
	return false
}
