// Package usage is the arithmetic of showback: calendar months in a time zone, usage
// quantities, block storage integrated over time, and cost at a tariff in exact decimal
// arithmetic rounded to the currency's minor unit. It is pure Go: no Kubernetes, no
// OpenStack, no clock of its own.
//
// # Months
//
// A month runs from local midnight on its first day to local midnight on the first day
// of the next, in the Cloud's IANA time zone, half-open: [Start, End). In Europe/London
// March has 743 hours and October 745. Where midnight does not exist (a zone that
// springs forward at midnight) the month starts at the instant of the jump, as season's
// wall-clock rule says; End of one month is always Start of the next, so months tile.
//
// # Quantities and cost
//
// Nova reports vCPU-hours, RAM MiB-hours and local disk GiB-hours as floating point.
// They are turned into exact decimals rounded to QuantityPlaces places once, where they
// arrive; every sum and every cost is worked out from those rounded figures, so a
// statement's cost is exactly its quantities × the tariff, rounded half up to the
// currency's minor unit (GBP 2 places, JPY 0, KWD 3, default 2).
//
// Block storage is not in Nova's report: the volumes Cinder lists are sampled at each
// read and their GiB × hours added up since the previous read (or since the volume was
// created, or the month began, whichever is later). A volume created and deleted between
// two reads is not seen; one deleted since the last read is counted up to it. GiB-months
// are GiB-hours divided by the hours of the whole month, so a month-long GiB is exactly
// one GiB-month whatever the month's length.
package usage

import (
	"fmt"
	"math/big"
	"time"

	"github.com/whitehall-cloud/whitehall-operator/internal/season"
)

// Month is a calendar month in a time zone.
type Month struct {
	Year  int
	Month time.Month
	Loc   *time.Location
}

// MonthOf is the month that t falls in, in loc.
func MonthOf(t time.Time, loc *time.Location) Month {
	m := Month{Year: t.In(loc).Year(), Month: t.In(loc).Month(), Loc: loc}
	// Where the month starts after local midnight (a jump at midnight), an instant
	// before Start belongs to the month before.
	if t.Before(m.Start()) {
		return m.Prev()
	}
	return m
}

// ParseMonth reads YYYY-MM in loc.
func ParseMonth(s string, loc *time.Location) (Month, error) {
	t, err := time.Parse("2006-01", s)
	if err != nil {
		return Month{}, fmt.Errorf("month %q is not YYYY-MM", s)
	}
	return Month{Year: t.Year(), Month: t.Month(), Loc: loc}, nil
}

// String is YYYY-MM.
func (m Month) String() string { return fmt.Sprintf("%04d-%02d", m.Year, int(m.Month)) }

// Start is the month's first instant.
func (m Month) Start() time.Time { return season.WallClock(m.Year, m.Month, 1, 0, 0, 0, m.Loc) }

// End is the next month's first instant (exclusive).
func (m Month) End() time.Time { return m.Next().Start() }

// Next is the month after.
func (m Month) Next() Month {
	if m.Month == time.December {
		return Month{Year: m.Year + 1, Month: time.January, Loc: m.Loc}
	}
	return Month{Year: m.Year, Month: m.Month + 1, Loc: m.Loc}
}

// Prev is the month before.
func (m Month) Prev() Month {
	if m.Month == time.January {
		return Month{Year: m.Year - 1, Month: time.December, Loc: m.Loc}
	}
	return Month{Year: m.Year, Month: m.Month - 1, Loc: m.Loc}
}

// Hours is the month's length in hours, exactly (743 in a March of Europe/London).
func (m Month) Hours() *big.Rat { return hours(m.Start(), m.End()) }

// Clip is the part of [from, to) inside the month; ok is false when they do not meet.
// A zero from means "since before the month", a zero to "still there": a Tenant created
// or deleted mid-month is metered only while it existed.
func (m Month) Clip(from, to time.Time) (start, end time.Time, ok bool) {
	start, end = m.Start(), m.End()
	if !from.IsZero() && from.After(start) {
		start = from
	}
	if !to.IsZero() && to.Before(end) {
		end = to
	}
	return start, end, start.Before(end)
}

// hours is the exact length of [from, to) in hours; zero when to is not after from.
func hours(from, to time.Time) *big.Rat {
	if !to.After(from) {
		return new(big.Rat)
	}
	return new(big.Rat).SetFrac(big.NewInt(int64(to.Sub(from))), big.NewInt(int64(time.Hour)))
}
