package season

import (
	"fmt"
	"slices"
	"sort"
	"strings"
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
	windows          []window // in the spec's order
	rampUp, rampDown time.Duration
	days             *workingDays
}

// window is one compiled window of the spec: exactly one kind is set, and rule says
// which it is, for the transitions it makes ("windows[1]: every year 01-01 to 02-01").
type window struct {
	rule    string
	yearly  *yearlyWindow
	oneOff  *Interval // unramped, resolved at Compile
	monthly *monthlyWindow
	working *workingWindow
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
	s.each(lo, hi, func(iv Interval, _ *window) { out = append(out, iv) })
	return merge(out)
}

// each calls fn with the ramped interval of every window occurrence that overlaps
// [lo, hi), unmerged, and the window it is of.
func (s *Season) each(lo, hi time.Time, fn func(Interval, *window)) {
	// An occurrence starts in its own year (or month) and ends in that year or the
	// next (that month or the next): look from the one before lo.
	from, to := lo.Add(-s.rampDown).In(s.loc), hi.Add(s.rampUp).In(s.loc)
	for i := range s.windows {
		w := &s.windows[i]
		add := func(raw Interval, ok bool) {
			iv := Interval{Start: raw.Start.Add(-s.rampUp), End: raw.End.Add(s.rampDown)}
			if ok && iv.Start.Before(hi) && iv.End.After(lo) {
				fn(iv, w)
			}
		}
		switch {
		case w.oneOff != nil:
			add(*w.oneOff, true)
		case w.yearly != nil || (w.working != nil && w.working.before != nil):
			for year := from.Year() - 1; year <= to.Year()+1; year++ {
				if w.yearly != nil {
					add(w.yearly.occurrence(year, s.loc))
				} else {
					add(w.working.yearOccurrence(year, s))
				}
			}
		default:
			for m := monthIndex(from) - 1; m <= monthIndex(to); m++ {
				year, month := m/12, time.Month(m%12+1)
				if w.monthly != nil {
					add(w.monthly.occurrence(year, month, s))
				} else {
					add(w.working.monthOccurrence(year, month, s))
				}
			}
		}
	}
}

// monthIndex numbers months from year 0, so ranges of months are ranges of ints.
func monthIndex(t time.Time) int { return t.Year()*12 + int(t.Month()) - 1 }

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

// Transition is an instant the season turns on or off, and the windows that make it.
type Transition struct {
	At time.Time
	// Active is the state from At on.
	Active bool
	// Rules are the windows (their rule, "windows[1]: every year 01-01 to 02-01") whose
	// occurrence, ramps included, starts (Active) or ends (not Active) at At.
	Rules []string
}

// Upcoming returns the first n transitions strictly after t, each with the windows
// that make it.
func (s *Season) Upcoming(t time.Time, n int) []Transition {
	return s.transitions(t, func(_ Transition, count int) bool { return count < n })
}

// Between returns the transitions strictly after from and before to, each with the
// windows that make it.
func (s *Season) Between(from, to time.Time) []Transition {
	return s.transitions(from, func(next Transition, _ int) bool { return next.At.Before(to) })
}

// transitions walks the transitions after t while more says to take the next one (given
// how many are taken already).
func (s *Season) transitions(t time.Time, more func(next Transition, count int) bool) []Transition {
	var out []Transition
	for at := t; ; {
		next, ok := s.NextTransition(at)
		if !ok {
			return out
		}
		active, _ := s.ActiveAt(next)
		tr := Transition{At: next, Active: active}
		if !more(tr, len(out)) {
			return out
		}
		tr.Rules = s.rulesAt(next, active)
		out = append(out, tr)
		at = next
	}
}

// rulesAt are the windows with an occurrence starting (starting) or ending at at.
func (s *Season) rulesAt(at time.Time, starting bool) []string {
	var rules []string
	s.each(at.Add(-time.Nanosecond), at.Add(time.Nanosecond), func(iv Interval, w *window) {
		edge := iv.End
		if starting {
			edge = iv.Start
		}
		rule := w.rule + s.rampNote(starting)
		if edge.Equal(at) && !slices.Contains(rules, rule) {
			rules = append(rules, rule)
		}
	})
	return rules
}

// rampNote says, in a rule, that a ramp moved the transition: ", 48h early (rampUp)".
func (s *Season) rampNote(starting bool) string {
	switch {
	case starting && s.rampUp > 0:
		return fmt.Sprintf(", %s early (rampUp)", shortDuration(s.rampUp))
	case !starting && s.rampDown > 0:
		return fmt.Sprintf(", %s late (rampDown)", shortDuration(s.rampDown))
	}
	return ""
}

// shortDuration writes 48h rather than 48h0m0s.
func shortDuration(d time.Duration) string {
	text := d.String()
	if strings.HasSuffix(text, "m0s") {
		text = strings.TrimSuffix(text, "0s")
	}
	if strings.HasSuffix(text, "h0m") {
		text = strings.TrimSuffix(text, "0m")
	}
	return text
}
