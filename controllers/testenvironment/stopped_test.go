package testenvironment

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"

	"github.com/whitehall-cloud/whitehall-operator/controllers/frame"
	"github.com/whitehall-cloud/whitehall-operator/internal/openstack"
)

// A server the department stopped itself is not "still building": the environment is
// not polled every few seconds for it, only on the resync.
func TestSettledStepLeavesStoppedServersToTheResync(t *testing.T) {
	env := &whv1.TestEnvironment{ObjectMeta: metav1.ObjectMeta{Name: "web"}}
	type want struct {
		busy   bool
		reason string // the step's, or the spec error's
	}
	for _, tc := range []struct {
		reason   string
		statuses []string
		want     want
	}{
		{reason: "all ACTIVE: ready", statuses: []string{"ACTIVE", "ACTIVE"}, want: want{}},
		{reason: "one booting: polled", statuses: []string{"ACTIVE", "BUILD"}, want: want{busy: true, reason: whv1.ReasonServersBuilding}},
		{reason: "one SHUTOFF: not polled", statuses: []string{"ACTIVE", "SHUTOFF"}, want: want{reason: whv1.ReasonServersStopped}},
		{reason: "SHELVED_OFFLOADED and PAUSED", statuses: []string{"SHELVED_OFFLOADED", "PAUSED"}, want: want{reason: whv1.ReasonServersStopped}},
		{reason: "SUSPENDED, SHELVED", statuses: []string{"SUSPENDED", "SHELVED"}, want: want{reason: whv1.ReasonServersStopped}},
		{reason: "stopped and booting: booting wins", statuses: []string{"SHUTOFF", "BUILD"}, want: want{busy: true, reason: whv1.ReasonServersBuilding}},
	} {
		var servers []openstack.Server
		ready := int32(0)
		for i, s := range tc.statuses {
			servers = append(servers, openstack.Server{Name: "web-" + string(rune('0'+i)), Status: s})
			if s == "ACTIVE" {
				ready++
			}
		}
		e := env.DeepCopy()
		e.Status.DesiredReplicas, e.Status.ReadyReplicas = int32(len(servers)), ready
		s, err := settledStep(e, time.Now(), serverPlan{keep: servers}, servers, 0, 0, 0)
		got := want{busy: s.Busy, reason: s.Reason}
		var spec *frame.SpecError
		if errors.As(err, &spec) {
			got.reason = spec.Reason
		} else if err != nil {
			t.Errorf("%s: unexpected error %v", tc.reason, err)
		}
		if diff := cmp.Diff(tc.want, got, cmp.AllowUnexported(want{})); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.reason, diff)
		}
	}
}

func TestQuotaRetryDoublesWhileRefusalsLast(t *testing.T) {
	start := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	refusedSince := func(since time.Time) *whv1.TestEnvironment {
		env := &whv1.TestEnvironment{}
		env.Status.Conditions = []metav1.Condition{{
			Type: whv1.ConditionQuotaExceeded, Status: metav1.ConditionTrue, LastTransitionTime: metav1.Time{Time: since},
		}}
		return env
	}
	base := 30 * time.Second
	for _, tc := range []struct {
		reason string
		env    *whv1.TestEnvironment
		now    time.Time
		want   time.Duration
	}{
		{reason: "no refusal before", env: &whv1.TestEnvironment{}, now: start, want: base},
		{reason: "first refusal", env: refusedSince(start), now: start, want: base},
		{reason: "refused for 30 s", env: refusedSince(start), now: start.Add(30 * time.Second), want: 30 * time.Second},
		{reason: "refused for 1 min: 1 min", env: refusedSince(start), now: start.Add(time.Minute), want: time.Minute},
		{reason: "refused for 2 min: 2 min", env: refusedSince(start), now: start.Add(2 * time.Minute), want: 2 * time.Minute},
		{reason: "refused for an hour: the cap", env: refusedSince(start), now: start.Add(time.Hour), want: 5 * time.Minute},
		{reason: "a clock behind the condition", env: refusedSince(start), now: start.Add(-time.Minute), want: base},
	} {
		if diff := cmp.Diff(tc.want, quotaRetry(tc.env, base, tc.now)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.reason, diff)
		}
	}
}
