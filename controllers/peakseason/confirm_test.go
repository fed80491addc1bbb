package peakseason

import (
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"
	"github.com/whitehall-cloud/whitehall-operator/internal/capacity"
	"github.com/whitehall-cloud/whitehall-operator/internal/openstack"
	"github.com/whitehall-cloud/whitehall-operator/internal/season"
)

func TestPriorityOf(t *testing.T) {
	pol := func(name string, priority *int32) whv1.DepartmentPolicy {
		p := whv1.DepartmentPolicy{ObjectMeta: metav1.ObjectMeta{Name: name}}
		if priority != nil {
			p.Spec.Peaks = &whv1.PeakRules{Priority: priority}
		}
		return p
	}
	cases := []struct {
		reason    string
		overrides []whv1.SeasonPriority
		policies  []whv1.DepartmentPolicy
		want      int32
	}{
		{"no policy: 0", nil, nil, 0},
		{"a policy without peaks: 0", nil, []whv1.DepartmentPolicy{pol("hmrc", nil)}, 0},
		{"the policy's priority", nil, []whv1.DepartmentPolicy{pol("hmrc", ptr.To[int32](10))}, 10},
		{"the highest of several policies", nil, []whv1.DepartmentPolicy{pol("a", ptr.To[int32](-5)), pol("b", ptr.To[int32](3))}, 3},
		{"the season overrides the policy", []whv1.SeasonPriority{{DepartmentPolicy: "hmrc", Priority: -1}},
			[]whv1.DepartmentPolicy{pol("hmrc", ptr.To[int32](10))}, -1},
		{"the season ranks a policy that sets none", []whv1.SeasonPriority{{DepartmentPolicy: "test", Priority: 7}},
			[]whv1.DepartmentPolicy{pol("test", nil)}, 7},
		{"an override of a policy that does not govern the department counts for nothing",
			[]whv1.SeasonPriority{{DepartmentPolicy: "other", Priority: 100}}, []whv1.DepartmentPolicy{pol("hmrc", ptr.To[int32](2))}, 2},
		{"negative priorities only: the highest of them, not 0", nil, []whv1.DepartmentPolicy{pol("a", ptr.To[int32](-5)), pol("b", ptr.To[int32](-3))}, -3},
	}
	for _, tc := range cases {
		t.Run(tc.reason, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, priorityOf(tc.overrides, tc.policies)); diff != "" {
				t.Errorf("priorityOf (-want +got):\n%s", diff)
			}
		})
	}
}

func TestJudgeListsGrants(t *testing.T) {
	dept := func(key string, priority int32, peak int64) capacity.Department {
		return capacity.Department{Key: key, Priority: priority, Baseline: capacity.Amounts{capacity.Cores: 8},
			InUse: capacity.Amounts{capacity.Cores: 4}, Peak: capacity.Amounts{capacity.Cores: peak}}
	}
	depts := []capacity.Department{dept("test/ci", 0, 64), dept("hmrc/sa", 10, 64), {Key: "dwp/pending", Baseline: capacity.Amounts{capacity.Cores: 20}}}
	listed := map[string]bool{"test/ci": true, "hmrc/sa": true}
	// 128 cores, 28 allocated of which 12 are the departments' own: 16 outside, 112 to share.
	got := judge(openstack.Capacity{Cores: 128, RAMMiB: 1024}, openstack.Capacity{Cores: 28}, append(depts,
		capacity.Department{Key: "x/y", InUse: capacity.Amounts{capacity.Cores: 4}}), listed)
	want := &whv1.CapacityConfirmation{
		Available:    &whv1.CapacityAmounts{Cores: ptr.To[int64](112), RAMMiB: ptr.To[int64](1024)},
		InUseOutside: &whv1.CapacityAmounts{Cores: ptr.To[int64](16), RAMMiB: ptr.To[int64](0)},
		Confirmed:    1, AtRisk: 1,
		Grants: []whv1.PeakGrant{
			// At risk first. 112 − 64 − 20 (the pending department's baseline) − 4 (x/y in use) = 24.
			{Namespace: "test", Name: "ci", Priority: 0, Cores: ptr.To[int64](24), Reason: whv1.GrantShared},
			{Namespace: "hmrc", Name: "sa", Priority: 10, Cores: ptr.To[int64](64), Confirmed: true, Reason: whv1.GrantWholePeak},
		},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("judge (-want +got):\n%s", diff)
	}
}

func TestJudgeBoundsTheList(t *testing.T) {
	var depts []capacity.Department
	listed := map[string]bool{}
	for i := range whv1.MaxGrants + 3 {
		key := fmt.Sprintf("ns%04d/q", i)
		depts = append(depts, capacity.Department{Key: key, Priority: int32(i % 2), Peak: capacity.Amounts{capacity.Cores: 1}})
		listed[key] = true
	}
	got := judge(openstack.Capacity{Cores: 1 << 20}, openstack.Capacity{}, depts, listed)
	if len(got.Grants) != whv1.MaxGrants || got.Unlisted != 3 || got.Confirmed != whv1.MaxGrants+3 || !got.UnlistedConfirmed {
		t.Fatalf("grants %d, unlisted %d (all confirmed: %v), confirmed %d; want %d, 3 (true), %d",
			len(got.Grants), got.Unlisted, got.UnlistedConfirmed, got.Confirmed, whv1.MaxGrants, whv1.MaxGrants+3)
	}
	if got.Grants[0].Priority != 1 || got.Grants[len(got.Grants)-1].Priority != 0 {
		t.Errorf("the list keeps the highest priorities first")
	}
}

// Short of capacity, the peaks at risk are listed first, whatever their priority: the
// whole ones left out are known without a list.
func TestJudgeListsTheAtRiskFirst(t *testing.T) {
	var depts []capacity.Department
	listed := map[string]bool{}
	for i := range whv1.MaxGrants + 10 {
		key := fmt.Sprintf("ns%04d/q", i)
		prio, cores := int32(1), int64(1) // first come the ones that fit
		if i >= whv1.MaxGrants {
			prio, cores = 0, 2 // ten at the lowest priority want 20 and share the 5 cores left
		}
		depts = append(depts, capacity.Department{Key: key, Priority: prio, Peak: capacity.Amounts{capacity.Cores: cores}})
		listed[key] = true
	}
	got := judge(openstack.Capacity{Cores: whv1.MaxGrants + 5}, openstack.Capacity{}, depts, listed)
	if got.AtRisk != 10 || got.Unlisted != 10 || !got.UnlistedConfirmed {
		t.Fatalf("at risk %d, unlisted %d (all confirmed: %v); want 10, 10, true", got.AtRisk, got.Unlisted, got.UnlistedConfirmed)
	}
	for i, g := range got.Grants[:10] {
		if g.Confirmed || g.Priority != 0 {
			t.Errorf("grant %d: %+v, want the lowest priority's, at risk", i, g)
		}
	}
	// More at risk than the list holds: the ones left out are not confirmed.
	got = judge(openstack.Capacity{Cores: 5}, openstack.Capacity{}, depts, listed)
	if got.UnlistedConfirmed || got.Unlisted != 10 {
		t.Errorf("unlisted %d (all confirmed: %v), want 10, false", got.Unlisted, got.UnlistedConfirmed)
	}
}

func TestJudgedWindow(t *testing.T) {
	s, err := season.Compile(season.Spec{TimeZone: "UTC", Windows: []season.WindowSpec{{From: "2027-01-21T00:00:00", To: "2027-02-01T00:00:00"}}})
	if err != nil {
		t.Fatal(err)
	}
	at := func(v string) time.Time { tm, _ := time.Parse(time.RFC3339, v); return tm }
	window := &whv1.TimeWindow{Start: metav1.NewTime(at("2027-01-21T00:00:00Z")), End: metav1.NewTime(at("2027-02-01T00:00:00Z"))}
	cases := []struct {
		reason string
		now    string
		ahead  time.Duration
		window *whv1.TimeWindow
		starts time.Time
		ok     bool
	}{
		{"20 days ahead, confirmAhead 30 days: judged now", "2027-01-01T00:00:00Z", 720 * time.Hour, window, time.Time{}, true},
		{"40 days ahead: not yet, the judgement starts 30 days before", "2026-12-12T00:00:00Z", 720 * time.Hour, nil, at("2026-12-22T00:00:00Z"), false},
		{"open: the open window", "2027-01-25T00:00:00Z", time.Hour, window, time.Time{}, true},
		{"closed for good: never again", "2027-03-01T00:00:00Z", 720 * time.Hour, nil, time.Time{}, false},
	}
	for _, tc := range cases {
		t.Run(tc.reason, func(t *testing.T) {
			w, starts, ok := judgedWindow(s, at(tc.now), tc.ahead)
			if diff := cmp.Diff([]any{tc.window, tc.starts, tc.ok}, []any{w, starts, ok}); diff != "" {
				t.Errorf("judgedWindow (-want +got):\n%s", diff)
			}
		})
	}
}
