package plugin

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"
)

// The calendar's fixture: two seasons of Europe/London with ramps, one either side of
// the spring clock change, and three departments' quotas.
var (
	calendarNow = time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	london      = mustZone("Europe/London")
)

func mustZone(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

func peakSeason(name, from, to string, rampUp, rampDown time.Duration, status whv1.PeakSeasonStatus) whv1.PeakSeason {
	return whv1.PeakSeason{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: whv1.PeakSeasonSpec{
			TimeZone: "Europe/London",
			Windows:  []whv1.SeasonWindow{{Yearly: &whv1.YearlyWindow{From: from, To: to}}},
			RampUp:   &metav1.Duration{Duration: rampUp}, RampDown: &metav1.Duration{Duration: rampDown},
		},
		Status: status,
	}
}

func calendarSeasons() []whv1.PeakSeason {
	return []whv1.PeakSeason{
		peakSeason("year-end", "04-01", "04-10", 72*time.Hour, 0, whv1.PeakSeasonStatus{}),
		peakSeason("self-assessment", "01-20", "02-01", 48*time.Hour, 24*time.Hour, whv1.PeakSeasonStatus{
			Committed: &whv1.CapacityAmounts{Cores: ptr.To[int64](200), RAMMiB: ptr.To[int64](409600)},
			Capacity:  &whv1.CapacityAmounts{Cores: ptr.To[int64](160), RAMMiB: ptr.To[int64](1048576)},
			Conditions: []metav1.Condition{condition(whv1.ConditionCapacityAtRisk, metav1.ConditionTrue, whv1.ReasonOvercommitted,
				"cores: 200 committed, 160 available")},
		}),
	}
}

func cores(n int64) *whv1.ComputeLimits { return &whv1.ComputeLimits{Cores: ptr.To(n)} }

func calendarQuotas() []whv1.ComputeQuota {
	quota := func(ns, name string, baseline whv1.QuotaSet, peaks ...whv1.QuotaPeak) whv1.ComputeQuota {
		return whv1.ComputeQuota{ObjectMeta: objectMeta(ns, name), Spec: whv1.ComputeQuotaSpec{
			TenantRef: whv1.LocalObjectReference{Name: name}, Baseline: baseline, Peaks: peaks,
		}}
	}
	return []whv1.ComputeQuota{
		quota("hmrc", "tax", whv1.QuotaSet{Compute: cores(8)},
			whv1.QuotaPeak{Season: "self-assessment", QuotaSet: whv1.QuotaSet{Compute: cores(-1)}}),
		quota("dwp", "benefits",
			whv1.QuotaSet{Compute: &whv1.ComputeLimits{Cores: ptr.To[int64](20), RAMMiB: ptr.To[int64](40960)}},
			whv1.QuotaPeak{Season: "self-assessment", QuotaSet: whv1.QuotaSet{Compute: cores(40)}},
			whv1.QuotaPeak{Season: "year-end", QuotaSet: whv1.QuotaSet{Compute: &whv1.ComputeLimits{Cores: ptr.To[int64](30), Instances: ptr.To[int64](10)}}}),
		quota("cabinet", "office", whv1.QuotaSet{Compute: cores(4)}),
	}
}

func TestComputeCalendar(t *testing.T) {
	to := calendarNow.AddDate(0, 0, 120)
	got := ComputeCalendar(calendarSeasons(), calendarQuotas(), calendarNow, to)
	dwp := func(c *whv1.ComputeLimits) QuotaAt {
		return QuotaAt{Namespace: "dwp", Name: "benefits", Effective: whv1.QuotaSet{Compute: c}}
	}
	hmrc := func(n int64) QuotaAt {
		return QuotaAt{Namespace: "hmrc", Name: "tax", Effective: whv1.QuotaSet{Compute: cores(n)}}
	}
	want := Calendar{
		From: calendarNow, To: to,
		Seasons: []SeasonSummary{
			{
				Name: "self-assessment", TimeZone: "Europe/London", Fits: ptr.To(false),
				Committed:      calendarSeasons()[1].Status.Committed,
				Capacity:       calendarSeasons()[1].Status.Capacity,
				CapacityAtRisk: &calendarSeasons()[1].Status.Conditions[0],
			},
			{Name: "year-end", TimeZone: "Europe/London"},
		},
		Transitions: []Transition{
			{
				// 48h before 20 January, local midnight (GMT).
				At: time.Date(2027, 1, 18, 0, 0, 0, 0, london), Season: "self-assessment", Active: true,
				Rules:         []string{"windows[0]: every year 01-20 to 02-01, 48h early (rampUp)"},
				ActiveSeasons: []string{"self-assessment"},
				Quotas: []QuotaAt{
					dwp(&whv1.ComputeLimits{Cores: ptr.To[int64](40), RAMMiB: ptr.To[int64](40960)}),
					hmrc(-1),
				},
			},
			{
				// 24h after the window's end (1 February, exclusive).
				At: time.Date(2027, 2, 2, 0, 0, 0, 0, london), Season: "self-assessment", Active: false,
				Rules:         []string{"windows[0]: every year 01-20 to 02-01, 24h late (rampDown)"},
				ActiveSeasons: []string{},
				Quotas: []QuotaAt{
					dwp(&whv1.ComputeLimits{Cores: ptr.To[int64](20), RAMMiB: ptr.To[int64](40960)}),
					hmrc(8),
				},
			},
			{
				// 72h before 1 April midnight BST: 29 March, after the clocks went forward.
				At: time.Date(2027, 3, 29, 0, 0, 0, 0, london), Season: "year-end", Active: true,
				Rules:         []string{"windows[0]: every year 04-01 to 04-10, 72h early (rampUp)"},
				ActiveSeasons: []string{"year-end"},
				Quotas: []QuotaAt{
					dwp(&whv1.ComputeLimits{Cores: ptr.To[int64](30), Instances: ptr.To[int64](10), RAMMiB: ptr.To[int64](40960)}),
				},
			},
		},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("calendar (-want +got):\n%s", diff)
	}
	for _, tr := range got.Transitions {
		if tr.At.Location().String() != "Europe/London" {
			t.Errorf("transition %s of %s is in %s, want the season's zone", tr.At, tr.Season, tr.At.Location())
		}
	}
}

func TestRenderCalendar(t *testing.T) {
	cases := []struct {
		reason string
		cal    Calendar
		want   string
	}{
		{
			reason: "no seasons",
			cal:    ComputeCalendar(nil, calendarQuotas(), calendarNow, calendarNow.AddDate(0, 0, 90)),
			want:   "\nNo PeakSeasons found.\n",
		},
		{
			reason: "transitions in the season's zone, quotas under each, capacity at the opening",
			cal:    ComputeCalendar(calendarSeasons(), calendarQuotas(), calendarNow, calendarNow.AddDate(0, 0, 120)),
			want: `
SEASON           ZONE           NOW       COMMITTED                CAPACITY                  FITS     CAPACITY AT RISK
self-assessment  Europe/London  inactive  cores=200 ramMiB=409600  cores=160 ramMiB=1048576  NO       True Overcommitted
year-end         Europe/London  inactive  -                        -                         unknown  -

Transitions from 2026-12-07 12:00 UTC to 2027-04-06 12:00 UTC, each in its season's zone:
2027-01-18 00:00 GMT  self-assessment turns on (active: self-assessment); committed peaks EXCEED the capacity (cores)
  by windows[0]: every year 01-20 to 02-01, 48h early (rampUp)
  dwp/benefits: compute.cores=40 compute.ramMiB=40960
  hmrc/tax: compute.cores=unlimited
2027-02-02 00:00 GMT  self-assessment turns off (active: none)
  by windows[0]: every year 01-20 to 02-01, 24h late (rampDown)
  dwp/benefits: compute.cores=20 compute.ramMiB=40960
  hmrc/tax: compute.cores=8
2027-03-29 00:00 BST  year-end turns on (active: year-end); committed peaks against a capacity not known
  by windows[0]: every year 04-01 to 04-10, 72h early (rampUp)
  dwp/benefits: compute.cores=30 compute.instances=10 compute.ramMiB=40960
`,
		},
		{
			reason: "a season that does not compile is listed and has no transitions",
			cal: ComputeCalendar([]whv1.PeakSeason{peakSeason("broken", "13-01", "01-02", 0, 0, whv1.PeakSeasonStatus{})},
				nil, calendarNow, calendarNow.AddDate(0, 0, 90)),
			want: `
SEASON  ZONE           NOW                                                                 COMMITTED  CAPACITY  FITS     CAPACITY AT RISK
broken  Europe/London  invalid: windows[0].yearly.from: "13-01" is not a valid MM-DD date  -          -         unknown  -

Transitions from 2026-12-07 12:00 UTC to 2027-03-07 12:00 UTC, each in its season's zone:
  none
`,
		},
	}
	for _, tc := range cases {
		t.Run(tc.reason, func(t *testing.T) {
			var out bytes.Buffer
			if err := RenderCalendar(&out, tc.cal); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(strings.TrimPrefix(tc.want, "\n"), out.String()); diff != "" {
				t.Errorf("%s: calendar (-want +got):\n%s", tc.reason, diff)
			}
		})
	}
}
