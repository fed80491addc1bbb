package usage

import (
	"math/big"
	"testing"
	"time"

	"github.com/whitehall-cloud/whitehall-operator/internal/quota"
)

func zone(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func dec(t *testing.T, s string) *big.Rat {
	t.Helper()
	r, err := ParseDecimal(s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestMonthBoundariesInTheTimeZone(t *testing.T) {
	london := zone(t, "Europe/London")
	for _, c := range []struct {
		name       string
		at         string
		loc        *time.Location
		month      string
		start, end string
		hours      string
	}{
		{"January in London is GMT", "2027-01-15T12:00:00Z", london, "2027-01", "2027-01-01T00:00:00Z", "2027-02-01T00:00:00Z", "744"},
		{"March loses the hour the clocks spring forward", "2027-03-10T00:00:00Z", london, "2027-03", "2027-03-01T00:00:00Z", "2027-03-31T23:00:00Z", "743"},
		{"the last UTC hour of March is April in London", "2027-03-31T23:30:00Z", london, "2027-04", "2027-03-31T23:00:00Z", "2027-04-30T23:00:00Z", "720"},
		{"October gains the hour the clocks fall back", "2027-10-31T23:59:59Z", london, "2027-10", "2027-09-30T23:00:00Z", "2027-11-01T00:00:00Z", "745"},
		{"December crosses into the new year", "2026-12-31T23:59:59Z", london, "2026-12", "2026-12-01T00:00:00Z", "2027-01-01T00:00:00Z", "744"},
		{"Tokyo's month ends nine hours before UTC's", "2027-01-31T15:00:00Z", zone(t, "Asia/Tokyo"), "2027-02", "2027-01-31T15:00:00Z", "2027-02-28T15:00:00Z", "672"},
		{"a leap February", "2028-02-29T12:00:00Z", time.UTC, "2028-02", "2028-02-01T00:00:00Z", "2028-03-01T00:00:00Z", "696"},
	} {
		t.Run(c.name, func(t *testing.T) {
			m := MonthOf(utc(c.at), c.loc)
			if m.String() != c.month {
				t.Fatalf("MonthOf = %s, want %s", m, c.month)
			}
			if !m.Start().Equal(utc(c.start)) || !m.End().Equal(utc(c.end)) {
				t.Errorf("[%s, %s), want [%s, %s)", m.Start().UTC(), m.End().UTC(), c.start, c.end)
			}
			if m.Hours().Cmp(dec(t, c.hours)) != 0 {
				t.Errorf("Hours = %s, want %s", m.Hours().FloatString(3), c.hours)
			}
		})
	}
}

func TestMonthsTileAcrossYears(t *testing.T) {
	for _, name := range []string{"Europe/London", "America/Santiago", "Asia/Beirut", "Pacific/Apia", "Australia/Lord_Howe"} {
		loc := zone(t, name)
		m := Month{Year: 2010, Month: time.January, Loc: loc}
		for range 12 * 20 {
			n := m.Next()
			if !m.End().Equal(n.Start()) || !m.Start().Before(m.End()) {
				t.Fatalf("%s: %s ends %s, %s starts %s", name, m, m.End(), n, n.Start())
			}
			if got := MonthOf(m.Start(), loc); got != m {
				t.Fatalf("%s: MonthOf(start of %s) = %s", name, m, got)
			}
			if got := MonthOf(m.End().Add(-time.Nanosecond), loc); got != m {
				t.Fatalf("%s: MonthOf(last instant of %s) = %s", name, m, got)
			}
			if n.Prev() != m {
				t.Fatalf("%s: Prev(Next(%s)) = %s", name, m, n.Prev())
			}
			m = n
		}
	}
}

func TestParseMonth(t *testing.T) {
	m, err := ParseMonth("2027-04", time.UTC)
	if err != nil || m.String() != "2027-04" {
		t.Fatalf("ParseMonth = %v, %v", m, err)
	}
	for _, bad := range []string{"2027-13", "27-04", "2027-4", ""} {
		if _, err := ParseMonth(bad, time.UTC); err == nil {
			t.Errorf("ParseMonth(%q) succeeded", bad)
		}
	}
}

func TestTenantCreatedOrDeletedMidMonth(t *testing.T) {
	m := Month{Year: 2027, Month: time.April, Loc: zone(t, "Europe/London")}
	for _, c := range []struct {
		name       string
		from, to   string
		start, end string
		ok         bool
	}{
		{"there all month", "", "", "2027-03-31T23:00:00Z", "2027-04-30T23:00:00Z", true},
		{"created mid-month", "2027-04-10T09:00:00Z", "", "2027-04-10T09:00:00Z", "2027-04-30T23:00:00Z", true},
		{"deleted mid-month", "2026-01-01T00:00:00Z", "2027-04-20T17:00:00Z", "2027-03-31T23:00:00Z", "2027-04-20T17:00:00Z", true},
		{"created and deleted within the month", "2027-04-02T00:00:00Z", "2027-04-03T12:00:00Z", "2027-04-02T00:00:00Z", "2027-04-03T12:00:00Z", true},
		{"deleted before the month began", "", "2027-03-31T22:59:59Z", "", "", false},
		{"created after the month closed", "2027-04-30T23:00:00Z", "", "", "", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			var from, to time.Time
			if c.from != "" {
				from = utc(c.from)
			}
			if c.to != "" {
				to = utc(c.to)
			}
			start, end, ok := m.Clip(from, to)
			if ok != c.ok {
				t.Fatalf("ok = %v, want %v", ok, c.ok)
			}
			if ok && (!start.Equal(utc(c.start)) || !end.Equal(utc(c.end))) {
				t.Errorf("[%s, %s), want [%s, %s)", start.UTC(), end.UTC(), c.start, c.end)
			}
		})
	}
}

func TestCostRoundsToTheCurrencysMinorUnit(t *testing.T) {
	p := func(s string) *string { return &s }
	for _, c := range []struct {
		name     string
		currency string
		vcpu     string
		q        Quantities
		want     string
	}{
		{"pence, rounded half up", "GBP", "0.021", Quantities{VCPUHours: big.NewRat(5, 2)}, "0.05"},             // 0.0525
		{"pence, rounded down", "GBP", "0.021", Quantities{VCPUHours: big.NewRat(2, 1)}, "0.04"},                // 0.042
		{"exactly half a penny goes up", "GBP", "0.005", Quantities{VCPUHours: big.NewRat(1, 1)}, "0.01"},       // 0.005
		{"yen have no minor unit", "JPY", "3.5", Quantities{VCPUHours: big.NewRat(3, 1)}, "11"},                 // 10.5
		{"dinars have three places", "KWD", "0.0065", Quantities{VCPUHours: big.NewRat(1, 1)}, "0.007"},         // 0.0065
		{"an unknown currency has two places", "XTS", "1.005", Quantities{VCPUHours: big.NewRat(1, 1)}, "1.01"}, //
		{"no floating-point drift", "GBP", "0.1", Quantities{VCPUHours: big.NewRat(3, 1)}, "0.30"},
		{"a period with no usage costs nothing", "GBP", "0.021", Zero(true), "0.00"},
	} {
		t.Run(c.name, func(t *testing.T) {
			tariff, err := ParseTariff(c.currency, p(c.vcpu), nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			cost, ok := tariff.Cost(c.q)
			if !ok {
				t.Fatal("no cost")
			}
			if got := tariff.FormatCost(cost); got != c.want {
				t.Errorf("cost = %s, want %s", got, c.want)
			}
		})
	}
}

func TestCostSumsEveryPricedResource(t *testing.T) {
	p := func(s string) *string { return &s }
	tariff, err := ParseTariff("GBP", p("0.021"), p("0.0032"), p("0.045"))
	if err != nil {
		t.Fatal(err)
	}
	q := Quantities{VCPUHours: dec(t, "100"), RAMGiBHours: dec(t, "400"), DiskGiBHours: dec(t, "2000"), VolumeGiBMonths: dec(t, "10")}
	cost, _ := tariff.Cost(q)
	// 100 × 0.021 + 400 × 0.0032 + 10 × 0.045 = 2.1 + 1.28 + 0.45; local disk is not priced
	if got := tariff.FormatCost(cost); got != "3.83" {
		t.Errorf("cost = %s, want 3.83", got)
	}
	if _, ok := (Tariff{}).Cost(q); ok {
		t.Error("a Cloud without a tariff reports a cost")
	}
	if _, ok := (Tariff{Currency: "GBP"}).Cost(q); ok {
		t.Error("a currency without prices reports a cost")
	}
}

func TestParseDecimalIsStrict(t *testing.T) {
	for _, bad := range []string{"-1", "1e-3", ".5", "0,5", "", " 1", "NaN", "1/3"} {
		if _, err := ParseDecimal(bad); err == nil {
			t.Errorf("ParseDecimal(%q) succeeded", bad)
		}
	}
	if _, err := ParseTariff("GBP", nil, func() *string { s := "x"; return &s }(), nil); err == nil {
		t.Error("ParseTariff took a bad price")
	}
}

func TestNovaFiguresAreExactDecimals(t *testing.T) {
	q := FromNova(1.0000001, 2048*1.5, 0.1+0.2)
	for name, c := range map[string]struct {
		got  *big.Rat
		want string
	}{"vcpu": {q.VCPUHours, "1.000"}, "ram": {q.RAMGiBHours, "3.000"}, "disk": {q.DiskGiBHours, "0.300"}} {
		if got := c.got.FloatString(QuantityPlaces); got != c.want {
			t.Errorf("%s = %s, want %s", name, got, c.want)
		}
	}
	if q.VolumeGiBMonths != nil {
		t.Error("Nova does not report volumes")
	}
	z := FromNova(-1, 0, 0)
	if z.VCPUHours.Sign() != 0 {
		t.Error("a negative figure is not zero")
	}
	sum := q.Add(Zero(true))
	if sum.VCPUHours.FloatString(3) != "1.000" || sum.VolumeGiBMonths == nil || sum.VolumeGiBMonths.Sign() != 0 {
		t.Errorf("Add = %+v", sum)
	}
	if Zero(false).Add(Zero(false)).VolumeGiBMonths != nil {
		t.Error("no volume service on either side gives a volume figure")
	}
}

func TestBlockStorageIntegratedOverTime(t *testing.T) {
	m := Month{Year: 2027, Month: time.January, Loc: time.UTC} // 744 hours
	since, now := utc("2027-01-01T00:00:00Z"), utc("2027-01-01T10:00:00Z")
	got := IntegrateVolumes(nil, since, now, []Volume{
		{ProjectID: "a", SizeGiB: 100, Created: utc("2026-12-01T00:00:00Z")}, // all 10 hours: 1000
		{ProjectID: "a", SizeGiB: 50, Created: utc("2027-01-01T04:00:00Z")},  // 6 hours: 300
		{ProjectID: "b", SizeGiB: 10, Created: utc("2027-01-01T11:00:00Z")},  // after now: nothing
		{ProjectID: "c", SizeGiB: 0, Created: since},                         // empty
	})
	if got["a"].Cmp(big.NewRat(1300, 1)) != 0 {
		t.Errorf("a = %s GiB-hours, want 1300", got["a"].FloatString(3))
	}
	if got["b"] != nil || got["c"] != nil {
		t.Errorf("b, c = %v, %v: want no usage", got["b"], got["c"])
	}

	// The next read adds on to the first; the earlier map is left alone.
	later := IntegrateVolumes(got, now, utc("2027-01-01T12:00:00Z"), []Volume{{ProjectID: "a", SizeGiB: 100, Created: utc("2026-12-01T00:00:00Z")}})
	if later["a"].Cmp(big.NewRat(1500, 1)) != 0 || got["a"].Cmp(big.NewRat(1300, 1)) != 0 {
		t.Errorf("a = %s then %s", got["a"].FloatString(3), later["a"].FloatString(3))
	}

	// A GiB kept for the whole month is one GiB-month, whatever the month's length.
	if g := GiBMonths(big.NewRat(744*20, 1), m); g.Cmp(big.NewRat(20, 1)) != 0 {
		t.Errorf("GiBMonths = %s, want 20", g.FloatString(3))
	}
	march := Month{Year: 2027, Month: time.March, Loc: zone(t, "Europe/London")}
	if g := GiBMonths(big.NewRat(743, 1), march); g.Cmp(big.NewRat(1, 1)) != 0 {
		t.Errorf("March GiBMonths = %s, want 1", g.FloatString(3))
	}
	if GiBMonths(nil, m).Sign() != 0 {
		t.Error("no volumes is not zero")
	}
}

func TestExtraAboveTheBaseline(t *testing.T) {
	from, to := utc("2027-01-02T00:00:00Z"), utc("2027-01-03T00:00:00Z")
	share := BaselineShare(8, from, to) // 192 vCPU-hours
	if share.Cmp(big.NewRat(192, 1)) != 0 {
		t.Fatalf("share = %s", share.FloatString(3))
	}
	if e := ExtraAbove(big.NewRat(300, 1), share); e.Cmp(big.NewRat(108, 1)) != 0 {
		t.Errorf("extra = %s, want 108", e.FloatString(3))
	}
	if e := ExtraAbove(big.NewRat(100, 1), share); e.Sign() != 0 {
		t.Errorf("below the baseline: extra = %s, want 0", e.FloatString(3))
	}
	if e := ExtraAbove(big.NewRat(100, 1), BaselineShare(quota.Unlimited, from, to)); e.Sign() != 0 {
		t.Errorf("unlimited baseline: extra = %s, want 0", e.FloatString(3))
	}
}
