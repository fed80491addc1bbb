package season

import (
	"testing"
	"time"
)

func TestWallClock(t *testing.T) {
	cases := []struct {
		reason string
		zone   string
		local  string // 2006-01-02T15:04:05
		want   string // RFC 3339 UTC
	}{
		{"winter in London is UTC", "Europe/London", "2027-01-02T00:00:00", "2027-01-02T00:00:00Z"},
		{"summer in London is an hour ahead", "Europe/London", "2027-07-01T00:00:00", "2027-06-30T23:00:00Z"},
		{"midnight before London springs forward is still GMT", "Europe/London", "2027-03-28T00:00:00", "2027-03-28T00:00:00Z"},
		{"a time London skips is the instant of the jump", "Europe/London", "2027-03-28T01:30:00", "2027-03-28T01:00:00Z"},
		{"the start of London's gap is the jump too", "Europe/London", "2027-03-28T01:00:00", "2027-03-28T01:00:00Z"},
		{"the first time after London's gap", "Europe/London", "2027-03-28T02:00:00", "2027-03-28T01:00:00Z"},
		{"midnight before London falls back is still BST", "Europe/London", "2027-10-31T00:00:00", "2027-10-30T23:00:00Z"},
		{"a time London sees twice is the first occurrence", "Europe/London", "2027-10-31T01:30:00", "2027-10-31T00:30:00Z"},
		{"the first time after London's repeated hour", "Europe/London", "2027-10-31T02:00:00", "2027-10-31T02:00:00Z"},
		{"Santiago skips midnight: the day starts at 01:00", "America/Santiago", "2026-09-06T00:00:00", "2026-09-06T04:00:00Z"},
		{"Santiago sees 23:00 twice: the first one", "America/Santiago", "2026-04-04T23:30:00", "2026-04-05T02:30:00Z"},
		{"Samoa skipped 30 December 2011 entirely", "Pacific/Apia", "2011-12-30T12:00:00", "2011-12-30T10:00:00Z"},
		{"a zone with a half-hour offset", "Asia/Kolkata", "2027-01-02T00:00:00", "2027-01-01T18:30:00Z"},
	}
	for _, c := range cases {
		t.Run(c.reason, func(t *testing.T) {
			loc, err := time.LoadLocation(c.zone)
			if err != nil {
				t.Fatal(err)
			}
			l, err := time.Parse(LocalDateTimeLayout, c.local)
			if err != nil {
				t.Fatal(err)
			}
			got := wallClock(l.Year(), l.Month(), l.Day(), l.Hour(), l.Minute(), l.Second(), loc)
			if text(got) != c.want {
				t.Errorf("wallClock(%s in %s) = %s, want %s", c.local, c.zone, text(got), c.want)
			}
			if got.Location() != loc {
				t.Errorf("wallClock returned a time in %s, want %s", got.Location(), loc)
			}
		})
	}
}
