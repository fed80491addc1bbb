package season

import (
	"slices"
	"time"
)

// Active returns the sorted names of the seasons active at t. Nil seasons, for
// specs that did not compile, are never active.
func Active(seasons map[string]*Season, t time.Time) []string {
	var names []string
	for name, s := range seasons {
		if s == nil {
			continue
		}
		if active, _ := s.ActiveAt(t); active {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return names
}

// Next returns the earliest NextTransition after t among the seasons, and
// false when none of them has one.
func Next(seasons map[string]*Season, t time.Time) (time.Time, bool) {
	var next time.Time
	found := false
	for _, s := range seasons {
		if s == nil {
			continue
		}
		if at, ok := s.NextTransition(t); ok && (!found || at.Before(next)) {
			next, found = at, true
		}
	}
	return next, found
}
