package season

import (
	"slices"
	"sort"
	"time"
)

// Interval is a half-open span of time, [Start, End).
type Interval struct {
	Start, End time.Time
}

// Contains reports whether t is in [Start, End). A zero bound is unbounded.
func (iv Interval) Contains(t time.Time) bool {
	return (iv.Start.IsZero() || !t.Before(iv.Start)) && (iv.End.IsZero() || t.Before(iv.End))
}

// Season is a compiled Spec. It is immutable and safe for concurrent use.
type Season struct {
	loc              *time.Location
	yearly           []yearlyWindow
	oneOffs          []Interval // unramped, resolved at Compile
	rampUp, rampDown time.Duration
}

type yearlyWindow struct {
	from, to monthDay
}

const (
	// firstSpan is how far either side of t the first search looks: a little
	// over a year, so one pass settles any season with a yearly window.
	firstSpan = 400 * 24 * time.Hour
	// horizon is how far either side of t the search may grow before a merged
	// interval that is still going is reported as unbounded.
	horizon = 100 * 366 * 24 * time.Hour
)

// Location returns the season's time zone.
func (s *Season) Location() *time.Location { return s.loc }

// ActiveAt reports whether the season is active at t and, if so, the merged,
// ramped interval that contains t. Times are in the season's zone; a zero
// bound means the interval runs on past the search horizon.
func (s *Season) ActiveAt(t time.Time) (active bool, current Interval) {
	active, run := s.run(t)
	if !active {
		return false, Interval{}
	}
	return true, run
}

// NextTransition returns the first instant strictly after t at which ActiveAt
// changes value, and false when there is none: only past one-off windows, no
// windows, or a season that never ends within the horizon.
func (s *Season) NextTransition(t time.Time) (time.Time, bool) {
	_, run := s.run(t)
	return run.End, !run.End.IsZero()
}

// run returns the state at t and the longest interval around t with that
// state: a merged interval when active, the gap between two when not. It looks
// at the window occurrences near t and widens the look only while the answer
// could still reach beyond it, so the cost does not depend on how far t is from
// any fixed date.
func (s *Season) run(t time.Time) (bool, Interval) {
	for span := firstSpan; ; span *= 2 {
		active, run, settled := s.runWithin(t, t.Add(-span), t.Add(span))
		if settled || span >= horizon {
			return active, run
		}
	}
}

// runWithin answers run from the occurrences overlapping [lo, hi). A bound is
// settled when it lies strictly inside (lo, hi): occurrences left out end by lo
// or start from hi, so none of them can touch it. Unsettled bounds are zero.
func (s *Season) runWithin(t, lo, hi time.Time) (active bool, run Interval, settled bool) {
	ivs := s.occurrences(lo, hi)
	i := sort.Search(len(ivs), func(i int) bool { return ivs[i].End.After(t) })
	if i < len(ivs) && !t.Before(ivs[i].Start) {
		active, run = true, ivs[i]
	} else {
		if i > 0 {
			run.Start = ivs[i-1].End
		}
		if i < len(ivs) {
			run.End = ivs[i].Start
		}
	}
	if !run.Start.After(lo) {
		run.Start = time.Time{}
	}
	if !run.End.Before(hi) {
		run.End = time.Time{}
	}
	return active, run, !run.Start.IsZero() && !run.End.IsZero()
}

// occurrences returns the ramped intervals of every window occurrence that
// overlaps [lo, hi), sorted and merged where they overlap or touch.
func (s *Season) occurrences(lo, hi time.Time) []Interval {
	var out []Interval
	add := func(raw Interval) {
		iv := Interval{Start: raw.Start.Add(-s.rampUp), End: raw.End.Add(s.rampDown)}
		if iv.Start.Before(hi) && iv.End.After(lo) {
			out = append(out, iv)
		}
	}
	for _, raw := range s.oneOffs {
		add(raw)
	}
	if len(s.yearly) > 0 {
		// An occurrence starts in its own year and ends in that year or the next.
		first := lo.Add(-s.rampDown).In(s.loc).Year() - 1
		last := hi.Add(s.rampUp).In(s.loc).Year()
		for year := first; year <= last; year++ {
			for _, w := range s.yearly {
				if raw, ok := w.occurrence(year, s.loc); ok {
					add(raw)
				}
			}
		}
	}
	return merge(out)
}

// occurrence returns the window's occurrence that starts in year, and false
// when that occurrence is empty (02-29 to 03-01 in a non-leap year).
func (w yearlyWindow) occurrence(year int, loc *time.Location) (Interval, bool) {
	endYear := year
	if !w.from.before(w.to) {
		endYear++
	}
	iv := Interval{Start: midnight(year, w.from, loc), End: midnight(endYear, w.to, loc)}
	return iv, iv.Start.Before(iv.End)
}

// midnight is the start of month-day in year, local time. 29 February in a
// non-leap year becomes 1 March, the instant it would have begun, through
// time.Date's normalisation inside wallClock.
func midnight(year int, md monthDay, loc *time.Location) time.Time {
	return wallClock(year, md.month, md.day, 0, 0, 0, loc)
}

// merge sorts intervals and joins those that overlap or touch, so that no
// instant is a transition into and out of the season at once.
func merge(ivs []Interval) []Interval {
	slices.SortFunc(ivs, func(a, b Interval) int { return a.Start.Compare(b.Start) })
	out := ivs[:0]
	for _, iv := range ivs {
		if n := len(out); n > 0 && !iv.Start.After(out[n-1].End) {
			if iv.End.After(out[n-1].End) {
				out[n-1].End = iv.End
			}
			continue
		}
		out = append(out, iv)
	}
	return out
}

// LastClosed returns the last merged, ramped interval that ended at or before t, and
// false when there is none within the search horizon.
func (s *Season) LastClosed(t time.Time) (Interval, bool) {
	active, run := s.run(t)
	if active {
		if run.Start.IsZero() {
			return Interval{}, false
		}
		_, run = s.run(run.Start.Add(-time.Nanosecond)) // the gap before the current one
	}
	if run.Start.IsZero() {
		return Interval{}, false
	}
	ok, last := s.ActiveAt(run.Start.Add(-time.Nanosecond))
	return last, ok && !last.Start.IsZero()
}
