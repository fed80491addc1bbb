package season

import "time"

// lookaround is how far either side of a wall-clock time we sample the zone's
// UTC offset. It exceeds any real offset (±14h), so the two samples straddle a
// transition near the wanted instant, and is short enough that no zone has two
// transitions inside it.
const lookaround = 36 * time.Hour

// wallClock returns the instant at which clocks in loc show the given local
// date and time, with the gap and overlap rules of the package documentation.
func wallClock(year int, month time.Month, day, hour, min, sec int, loc *time.Location) time.Time {
	naive := time.Date(year, month, day, hour, min, sec, 0, time.UTC)
	before := offsetAt(naive.Add(-lookaround), loc)
	after := offsetAt(naive.Add(lookaround), loc)

	// A candidate is real when the offset in force at it is the offset used to
	// get it; in an overlap both are, and we keep the earlier.
	var best time.Time
	found := false
	for _, off := range [2]int{before, after} {
		t := naive.Add(-time.Duration(off) * time.Second)
		if offsetAt(t, loc) == off && (!found || t.Before(best)) {
			best, found = t, true
		}
	}
	switch {
	case found:
		return best.In(loc)
	case after > before: // a gap: the wall-clock time was skipped
		return jumpBetween(naive.Add(-time.Duration(after)*time.Second), naive.Add(-time.Duration(before)*time.Second), loc)
	default: // more than one transition within lookaround; no real zone does this
		return time.Date(year, month, day, hour, min, sec, 0, loc)
	}
}

// jumpBetween finds, to the second, the first instant in (lo, hi] whose UTC
// offset differs from lo's. Zone transitions fall on whole seconds.
func jumpBetween(lo, hi time.Time, loc *time.Location) time.Time {
	base := offsetAt(lo, loc)
	for hi.Sub(lo) > time.Second {
		mid := lo.Add(hi.Sub(lo) / 2).Truncate(time.Second)
		if offsetAt(mid, loc) == base {
			lo = mid
		} else {
			hi = mid
		}
	}
	return hi.In(loc)
}

func offsetAt(t time.Time, loc *time.Location) int {
	_, off := t.In(loc).Zone()
	return off
}

// WallClock is the instant clocks in loc show the given local date and time, with the
// package's gap and overlap rules (a skipped time is the instant of the jump, a repeated
// one its first occurrence). Usage months begin at WallClock(y, m, 1, 0, 0, 0, loc).
func WallClock(year int, month time.Month, day, hour, min, sec int, loc *time.Location) time.Time {
	return wallClock(year, month, day, hour, min, sec, loc)
}
