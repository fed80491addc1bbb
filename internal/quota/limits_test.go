package quota

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestMaxAboveAdd(t *testing.T) {
	cases := []struct {
		a, b     int64
		max, sum int64
		above    bool
	}{
		{1, 2, 2, 3, false},
		{2, 1, 2, 3, true},
		{0, 0, 0, 0, false},
		{Unlimited, 5, Unlimited, Unlimited, true},
		{1 << 40, Unlimited, Unlimited, Unlimited, false},
		{Unlimited, Unlimited, Unlimited, Unlimited, false},
		{Unlimited, 0, Unlimited, Unlimited, true},
		{0, Unlimited, Unlimited, Unlimited, false},
	}
	for _, c := range cases {
		if got := Max(c.a, c.b); got != c.max {
			t.Errorf("Max(%d, %d) = %d, want %d", c.a, c.b, got, c.max)
		}
		if got := Add(c.a, c.b); got != c.sum {
			t.Errorf("Add(%d, %d) = %d, want %d", c.a, c.b, got, c.sum)
		}
		if got := Above(c.a, c.b); got != c.above {
			t.Errorf("Above(%d, %d) = %t, want %t", c.a, c.b, got, c.above)
		}
	}
}

func TestOverlay(t *testing.T) {
	baseline := Limits{Cores: 64, Instances: 32, RAMMiB: 131072, Gigabytes: 2000}
	cases := []struct {
		reason   string
		baseline Limits
		peaks    []Limits
		want     Limits
	}{
		{"no active peak: the baseline", baseline, nil, baseline},
		{"one peak replaces the fields it sets",
			baseline, []Limits{{Cores: 256, RAMMiB: 524288}},
			Limits{Cores: 256, Instances: 32, RAMMiB: 524288, Gigabytes: 2000}},
		{"a peak below the baseline still replaces it",
			baseline, []Limits{{Instances: 16}},
			Limits{Cores: 64, Instances: 16, RAMMiB: 131072, Gigabytes: 2000}},
		{"two peaks: the larger value per field",
			baseline, []Limits{{Cores: 256, Instances: 40}, {Cores: 128, Instances: 100, Gigabytes: 8000}},
			Limits{Cores: 256, Instances: 100, RAMMiB: 131072, Gigabytes: 8000}},
		{"unlimited in a peak beats a larger number in another",
			baseline, []Limits{{Cores: 1 << 20}, {Cores: Unlimited}},
			Limits{Cores: Unlimited, Instances: 32, RAMMiB: 131072, Gigabytes: 2000}},
		{"a number in a peak replaces an unlimited baseline",
			Limits{Cores: Unlimited}, []Limits{{Cores: 512}},
			Limits{Cores: 512}},
		{"a field only a peak sets is added",
			Limits{Cores: 64}, []Limits{{FloatingIPs: 20}},
			Limits{Cores: 64, FloatingIPs: 20}},
		{"a field absent everywhere stays absent",
			Limits{Cores: 64}, []Limits{{Cores: 128}, {}},
			Limits{Cores: 128}},
		{"zero is a value, not an absence",
			Limits{Backups: 10}, []Limits{{Backups: 0}},
			Limits{Backups: 0}},
		{"no baseline and no peaks is an empty quota, not nil", nil, nil, Limits{}},
		{"no baseline, one peak", nil, []Limits{{Cores: 8}}, Limits{Cores: 8}},
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
	baseline := Limits{Cores: 64}
	peak := Limits{Cores: 128}
	got := Overlay(baseline, peak)
	got[Cores] = 1
	if diff := cmp.Diff(Limits{Cores: 64}, baseline); diff != "" {
		t.Errorf("baseline changed (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(Limits{Cores: 128}, peak); diff != "" {
		t.Errorf("peak changed (-want +got):\n%s", diff)
	}
}

func TestOf(t *testing.T) {
	l := Limits{Cores: 4, Ports: 10, Gigabytes: Unlimited, Volumes: 0}
	want := map[Service]Limits{
		ComputeService:      {Cores: 4},
		NetworkService:      {Ports: 10},
		BlockStorageService: {Gigabytes: Unlimited, Volumes: 0},
	}
	for _, s := range Services {
		if diff := cmp.Diff(want[s], l.Of(s)); diff != "" {
			t.Errorf("Of(%s) (-want +got):\n%s", s, diff)
		}
	}
}
