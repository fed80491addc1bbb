// Package season is the calendar logic behind PeakSeason and ComputeQuota: when a
// season is active. It is pure Go: no Kubernetes, no OpenStack, no clock of its own.
// What an active season does to a quota (the overlay of its peaks) is internal/quota's.
//
// # Windows
//
// A season is a set of windows in one IANA time zone (default Europe/London):
//
//   - a yearly window runs from MM-DD to MM-DD, end exclusive, every year. When
//     "to" is not after "from" the window crosses the new year: 12-20 to 01-05 is
//     20 December 00:00 to 5 January 00:00 of the following year.
//   - a one-off window runs between two local date-times, 2006-01-02T15:04:05.
//   - a monthly window runs from day D to day E of every month, end exclusive,
//     crossing the month's end when E is not after D; a day the month does not have
//     (31 in April) is the instant the month ends.
//   - a working-days window covers whole working days: every year the N working days
//     just before MM-DD (up to that date), or every month N working days from the
//     Nth working day (or up to the Nth from the end: -1 is the last working day,
//     payday). A month with too few working days has no occurrence.
//
// # Working days
//
// Working days are Monday to Friday less the bank holidays of a UK calendar (England
// and Wales, the default; Scotland; Northern Ireland; or None), less the dates the
// season adds (a one-off bank holiday for a state occasion), plus the dates it removes.
// BankHolidays computes each calendar for any year: Easter, substitute days for a
// fixed-date holiday at a weekend (the next weekday not already a holiday), and the
// moves and one-off holidays proclaimed so far.
//
// Upcoming lists the next transitions with the windows (rules) that make each.
//
// Every interval is half-open, [Start, End): a season is active at Start and
// inactive again at End.
//
// # Local wall clock and daylight saving
//
// A boundary is local wall-clock time, so "01-02" means midnight on 2 January as
// the clocks in the season's zone show it, whatever the UTC offset is that day.
// Where the wall-clock time does not exist or happens twice, the rule is fixed
// here rather than left to time.Date, whose choice is unspecified:
//
//   - in a gap (clocks jump forward), the boundary is the instant of the jump:
//     01:30 on the day London springs forward is 01:00 UTC, when the clocks
//     show 02:00 BST.
//   - in an overlap (clocks go back), the boundary is the first occurrence:
//     01:30 on the day London falls back is 00:30 UTC (01:30 BST).
//
// Both rules keep wall-clock order, so a window can become empty (both ends in
// one gap, which Compile rejects) but never inside out.
//
// # 29 February
//
// "02-29" is a valid yearly boundary. In a year without 29 February it means
// 1 March 00:00, the instant 29 February would have begun. A yearly window
// that is empty in some year ("02-29" to "03-01" in a non-leap year) does not
// happen that year at all, ramps included.
//
// # Ramps and merging
//
// RampUp moves every window's start earlier and RampDown moves its end later.
// They are exact durations, not calendar days: a 48h ramp-up before a window
// that starts on the day after a clock change begins at 23:00 or 01:00 local.
// Ramped intervals that overlap or touch are merged, so the season's active
// periods are disjoint and separated by real gaps; ActiveAt reports the whole
// merged interval and NextTransition its end (or the start of the next one).
// Windows whose ramped intervals join up for more than a century either way
// make a season that is always active: the far bounds are reported as the zero
// time.Time and NextTransition reports none.
package season
