package testenvironment

import (
	"cmp"
	"context"
	"maps"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"

	"k8s.io/apimachinery/pkg/api/meta"

	"github.com/whitehall-cloud/whitehall-operator/controllers/frame"
	"github.com/whitehall-cloud/whitehall-operator/internal/openstack"
)

// A server that goes to ERROR is deleted at once (it uses quota), and its index is
// booted again only after a back-off that doubles with each failure in a row: a flavor
// no host can take costs a few creates an hour per index, not one every few seconds.
// The failures live in status, so a restarted operator keeps to them.

// maxFaultLength bounds Nova's fault message in status and events (whose notes take
// at most 1 KiB).
const maxFaultLength = 512

// retryDelay is the back-off after the count-th failure in a row: base, doubling, at
// most 20 times base.
func retryDelay(base time.Duration, count int32) time.Duration {
	limit := 20 * base
	d := base
	for i := int32(1); i < count && d < limit; i++ {
		d *= 2
	}
	return min(d, limit)
}

// noteFailures records each server newly seen in ERROR (its fault read with a GET: a
// listing leaves it out), with a ServerFailed event, and forgets the failures of
// indexes whose server is ACTIVE or that are no longer wanted.
func (r *Reconciler) noteFailures(ctx context.Context, cloud Cloud, env *whv1.TestEnvironment, servers []openstack.Server, desired int, now time.Time) {
	failures := map[string]whv1.ServerFailure{}
	for _, f := range env.Status.Failures {
		failures[f.Name] = f
	}
	for _, s := range servers {
		f, seen := failures[s.Name]
		switch {
		case s.Status == "ACTIVE":
			delete(failures, s.Name)
		case s.Status != "ERROR" || (seen && f.ServerID == s.ID):
		default:
			fault := s.Fault
			if fault == "" {
				if got, err := cloud.GetServer(ctx, s.ID); err == nil {
					fault = got.Fault
				}
			}
			if fault == "" {
				fault = "Nova gave no fault message"
			}
			if len(fault) > maxFaultLength {
				fault = fault[:maxFaultLength]
			}
			f = whv1.ServerFailure{Name: s.Name, ServerID: s.ID, Count: f.Count + 1, Fault: fault}
			f.RetryAt = &metav1.Time{Time: now.Add(retryDelay(cmp.Or(r.ServerRetry, 30*time.Second), f.Count)).Truncate(time.Second)}
			failures[s.Name] = f
			frame.Notify(ctx, r.Recorder, env, corev1.EventTypeWarning, whv1.ReasonServerFailed, "ReplaceServer",
				"Server %s (%s) went to ERROR (%d in a row): %s; deleting it and booting it again at %s",
				s.Name, s.ID, f.Count, fault, f.RetryAt.UTC().Format(time.RFC3339))
		}
	}
	env.Status.Failures = env.Status.Failures[:0]
	for _, name := range slices.Sorted(maps.Keys(failures)) {
		if i := serverIndex(env, name); i >= 0 && i < desired {
			env.Status.Failures = append(env.Status.Failures, failures[name])
		}
	}
	if len(env.Status.Failures) == 0 {
		env.Status.Failures = nil
	}
}

// backingOff returns the indexes that wait out a back-off at now.
func backingOff(env *whv1.TestEnvironment, now time.Time) map[int]bool {
	out := map[int]bool{}
	for _, f := range env.Status.Failures {
		if f.RetryAt != nil && now.Before(f.RetryAt.Time) {
			out[serverIndex(env, f.Name)] = true
		}
	}
	return out
}

// nextRetry returns the failure whose back-off ends first, and how long until then.
func nextRetry(env *whv1.TestEnvironment, now time.Time) (whv1.ServerFailure, time.Duration) {
	var first whv1.ServerFailure
	for _, f := range env.Status.Failures {
		if f.RetryAt != nil && now.Before(f.RetryAt.Time) && (first.RetryAt == nil || f.RetryAt.Before(first.RetryAt)) {
			first = f
		}
	}
	if first.RetryAt == nil {
		return first, 0
	}
	return first, first.RetryAt.Sub(now)
}

// union returns the indexes in either set.
func union(a, b map[int]bool) map[int]bool {
	out := make(map[int]bool, len(a)+len(b))
	for i := range a {
		out[i] = true
	}
	for i := range b {
		out[i] = true
	}
	return out
}

// An environment refused for quota tries again after a wait that doubles for as long as
// the refusals last (base, 2×, 4×… the time since the first, at most maxQuotaRetry×base),
// so a project at its limit costs Nova a few refused creates an hour, not one every
// half-minute per environment. The wait is measured from the QuotaExceeded condition, so
// it lasts across restarts; a change to the project's ComputeQuota still wakes the
// environment at once.
const maxQuotaRetry = 10

// quotaRetry is how long env waits before booting again after a refusal for quota.
func quotaRetry(env *whv1.TestEnvironment, base time.Duration, now time.Time) time.Duration {
	base = cmp.Or(base, 30*time.Second)
	c := meta.FindStatusCondition(env.Status.Conditions, whv1.ConditionQuotaExceeded)
	if c == nil || c.Status != metav1.ConditionTrue {
		return base
	}
	return min(max(now.Sub(c.LastTransitionTime.Time), base), maxQuotaRetry*base)
}
