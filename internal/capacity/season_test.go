package capacity

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestAvailable(t *testing.T) {
	cases := []struct {
		reason                      string
		capacity, allocated, inside int64
		wantAvailable, wantOutside  int64
	}{
		{"nothing in use", 512, 0, 0, 512, 0},
		{"in use outside the season's departments is taken off", 512, 100, 0, 412, 100},
		{"what the season's departments use is theirs to share", 512, 100, 60, 472, 40},
		{"inside read after Placement and above it: nothing outside", 512, 50, 80, 512, 0},
		{"more in use outside than the cloud holds: nothing to share", 100, 300, 0, 0, 300},
	}
	for _, tc := range cases {
		t.Run(tc.reason, func(t *testing.T) {
			a, o := Available(tc.capacity, tc.allocated, tc.inside)
			if diff := cmp.Diff([2]int64{tc.wantAvailable, tc.wantOutside}, [2]int64{a, o}); diff != "" {
				t.Errorf("Available (-want +got):\n%s", diff)
			}
		})
	}
}

func TestJudge(t *testing.T) {
	dept := func(key string, priority int32, baseline, inUse, peak Amounts) Department {
		return Department{Key: key, Priority: priority, Baseline: baseline, InUse: inUse, Peak: peak}
	}
	cases := []struct {
		reason    string
		available Amounts
		depts     []Department
		want      map[string]Verdict
	}{
		{
			reason:    "every peak fits: each is confirmed with its whole peak",
			available: Amounts{Cores: 200, RAMMiB: 4096},
			depts: []Department{
				dept("hmrc/sa", 10, Amounts{Cores: 16}, nil, Amounts{Cores: 64, RAMMiB: 1024}),
				dept("test/ci", 0, Amounts{Cores: 8}, nil, Amounts{Cores: 32}),
			},
			want: map[string]Verdict{
				"hmrc/sa": {Granted: Amounts{Cores: 64, RAMMiB: 1024}, Confirmed: true, Kind: Whole},
				"test/ci": {Granted: Amounts{Cores: 32}, Confirmed: true, Kind: Whole},
			},
		},
		{
			reason:    "short: the higher priority gets its whole peak, the lower what is left",
			available: Amounts{Cores: 100},
			depts: []Department{
				dept("hmrc/sa", 10, Amounts{Cores: 16}, nil, Amounts{Cores: 64}),
				dept("test/ci", 0, Amounts{Cores: 8}, nil, Amounts{Cores: 64}),
			},
			want: map[string]Verdict{
				"hmrc/sa": {Granted: Amounts{Cores: 64}, Confirmed: true, Kind: Whole},
				"test/ci": {Granted: Amounts{Cores: 36}, Confirmed: false, Kind: Shared, Group: 1},
			},
		},
		{
			reason:    "equal priorities share what is left above their floors in proportion",
			available: Amounts{Cores: 100},
			depts: []Department{
				dept("a/q", 5, Amounts{Cores: 10}, nil, Amounts{Cores: 90}),
				dept("b/q", 5, Amounts{Cores: 10}, nil, Amounts{Cores: 50}),
			},
			want: map[string]Verdict{
				"a/q": {Granted: Amounts{Cores: 64}, Kind: Shared, Group: 2},
				"b/q": {Granted: Amounts{Cores: 36}, Kind: Shared, Group: 2},
			},
		},
		{
			reason:    "nothing below what is in use: a floor above the baseline is kept",
			available: Amounts{Cores: 50},
			depts: []Department{
				dept("hmrc/sa", 10, Amounts{Cores: 16}, nil, Amounts{Cores: 64}),
				dept("test/ci", 0, Amounts{Cores: 8}, Amounts{Cores: 20}, Amounts{Cores: 64}),
			},
			want: map[string]Verdict{
				"hmrc/sa": {Granted: Amounts{Cores: 30}, Kind: Shared, Group: 1},
				"test/ci": {Granted: Amounts{Cores: 20}, Kind: Floor},
			},
		},
		{
			reason:    "a department that raises nothing (a pending peak) still holds its baseline: 100 − 54 of floors leaves 46",
			available: Amounts{Cores: 100},
			depts: []Department{
				dept("hmrc/sa", 10, Amounts{Cores: 16}, nil, Amounts{Cores: 64}),
				dept("dwp/pending", 20, Amounts{Cores: 30}, nil, nil),
				dept("test/ci", 0, Amounts{Cores: 8}, nil, Amounts{Cores: 64}),
			},
			want: map[string]Verdict{
				"hmrc/sa":     {Granted: Amounts{Cores: 62}, Kind: Shared, Group: 1},
				"dwp/pending": {Granted: Amounts{}, Confirmed: true, Kind: Whole},
				"test/ci":     {Granted: Amounts{Cores: 8}, Kind: Floor},
			},
		},
		{
			reason:    "an unlimited baseline keeps what it uses and is never cut",
			available: Amounts{Cores: 100},
			depts: []Department{
				dept("ops/all", 0, Amounts{Cores: -1}, Amounts{Cores: 40}, Amounts{Cores: -1}),
				dept("test/ci", 0, Amounts{Cores: 8}, nil, Amounts{Cores: 64}),
			},
			want: map[string]Verdict{
				"ops/all": {Granted: Amounts{Cores: 40}, Kind: Whole, Confirmed: true},
				"test/ci": {Granted: Amounts{Cores: 60}, Kind: Shared, Group: 1},
			},
		},
		{
			reason:    "a peak above all the cloud holds gets all there is, and is not confirmed",
			available: Amounts{Cores: 64},
			depts:     []Department{dept("a/q", 0, Amounts{Cores: 16}, nil, Amounts{Cores: 128})},
			want:      map[string]Verdict{"a/q": {Granted: Amounts{Cores: 64}, Kind: Shared, Group: 1}},
		},
		{
			reason:    "an unlimited peak alone gets all there is, as asked: confirmed",
			available: Amounts{Cores: 64},
			depts:     []Department{dept("a/q", 0, Amounts{Cores: 16}, nil, Amounts{Cores: -1})},
			want:      map[string]Verdict{"a/q": {Granted: Amounts{Cores: 64}, Confirmed: true, Kind: Whole}},
		},
		{
			reason:    "a peak below its floor wants nothing more: confirmed",
			available: Amounts{Cores: 10},
			depts:     []Department{dept("a/q", 0, Amounts{Cores: 32}, nil, Amounts{Cores: 16})},
			want:      map[string]Verdict{"a/q": {Granted: Amounts{Cores: 32}, Confirmed: true, Kind: Whole}},
		},
	}
	for _, tc := range cases {
		t.Run(tc.reason, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, Judge(tc.available, tc.depts)); diff != "" {
				t.Errorf("Judge (-want +got):\n%s", diff)
			}
		})
	}
}
