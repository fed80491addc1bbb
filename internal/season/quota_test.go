package season

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestMax(t *testing.T) {
	cases := []struct{ a, b, want int64 }{
		{1, 2, 2},
		{2, 1, 2},
		{0, 0, 0},
		{Unlimited, 5, Unlimited},
		{1 << 40, Unlimited, Unlimited},
		{Unlimited, Unlimited, Unlimited},
		{Unlimited, 0, Unlimited},
	}
	for _, c := range cases {
		if got := Max(c.a, c.b); got != c.want {
			t.Errorf("Max(%d, %d) = %d, want %d", c.a, c.b, got, c.want)
		}
	}
}

// Quota is a quota keyed by field name, as a caller's field type would key it.
type Quota map[string]int64

func TestOverlay(t *testing.T) {
	baseline := Quota{"cores": 64, "instances": 32, "ramMiB": 131072, "gigabytes": 2000}
	cases := []struct {
		reason   string
		baseline Quota
		peaks    []Quota
		want     Quota
	}{
		{"no active peak: the baseline", baseline, nil, baseline},
		{"one peak replaces the fields it sets",
			baseline, []Quota{{"cores": 256, "ramMiB": 524288}},
			Quota{"cores": 256, "instances": 32, "ramMiB": 524288, "gigabytes": 2000}},
		{"a peak below the baseline still replaces it",
			baseline, []Quota{{"instances": 16}},
			Quota{"cores": 64, "instances": 16, "ramMiB": 131072, "gigabytes": 2000}},
		{"two peaks: the larger value per field",
			baseline, []Quota{{"cores": 256, "instances": 40}, {"cores": 128, "instances": 100, "gigabytes": 8000}},
			Quota{"cores": 256, "instances": 100, "ramMiB": 131072, "gigabytes": 8000}},
		{"unlimited in a peak beats a larger number in another",
			baseline, []Quota{{"cores": 1 << 20}, {"cores": Unlimited}},
			Quota{"cores": Unlimited, "instances": 32, "ramMiB": 131072, "gigabytes": 2000}},
		{"a number in a peak replaces an unlimited baseline",
			Quota{"cores": Unlimited}, []Quota{{"cores": 512}},
			Quota{"cores": 512}},
		{"a field only a peak sets is added",
			Quota{"cores": 64}, []Quota{{"floatingIPs": 20}},
			Quota{"cores": 64, "floatingIPs": 20}},
		{"a field absent everywhere stays absent",
			Quota{"cores": 64}, []Quota{{"cores": 128}, {}},
			Quota{"cores": 128}},
		{"zero is a value, not an absence",
			Quota{"backups": 10}, []Quota{{"backups": 0}},
			Quota{"backups": 0}},
		{"no baseline and no peaks is an empty quota, not nil", nil, nil, Quota{}},
		{"no baseline, one peak", nil, []Quota{{"cores": 8}}, Quota{"cores": 8}},
	}
	for _, c := range cases {
		t.Run(c.reason, func(t *testing.T) {
			got := Overlay(c.baseline, c.peaks...)
			if diff := cmp.Diff(c.want, got); diff != "" {
				t.Errorf("Overlay (-want +got):\n%s", diff)
			}
		})
	}
}

func TestOverlayLeavesItsInputsAlone(t *testing.T) {
	baseline := Quota{"cores": 64}
	peak := Quota{"cores": 128}
	got := Overlay(baseline, peak)
	got["cores"] = 1
	if diff := cmp.Diff(Quota{"cores": 64}, baseline); diff != "" {
		t.Errorf("baseline changed (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(Quota{"cores": 128}, peak); diff != "" {
		t.Errorf("peak changed (-want +got):\n%s", diff)
	}
}
