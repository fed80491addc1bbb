package controllers

import (
	"errors"
	"math/rand/v2"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"
	"github.com/whitehall-cloud/whitehall-operator/internal/openstack"
)

// Intervals says how soon objects are looked at again when no watch can tell.
type Intervals struct {
	// Resync: an unchanged object is compared with OpenStack for drift this often.
	Resync time.Duration
	// Dependency: a domain, role, group or user the spec names may be created later.
	Dependency time.Duration
	// Blocked: a department may still be emptying a project that waits for deletion.
	Blocked time.Duration
}

// DefaultIntervals returns the intervals for a resync period.
func DefaultIntervals(resync time.Duration) Intervals {
	return Intervals{Resync: resync, Dependency: time.Minute, Blocked: 30 * time.Second}
}

// specError is a problem with the spec or with the cloud's state that retrying cannot
// fix: it is reported with its reason and the object waits for a change.
type specError struct {
	reason  string
	message string
}

func (e *specError) Error() string { return e.message }

func newSpecError(reason, message string) error {
	return &specError{reason: reason, message: message}
}

// blockedError means deletion waits for something outside the operator's hands.
type blockedError struct{ message string }

func (e *blockedError) Error() string { return e.message }

// outcome turns the error of a reconcile into the Ready and Progressing conditions and
// the result. It is the one place that decides what is retried, how soon, and what a
// person reads in the conditions.
type outcome struct {
	reason      string
	message     string
	progressing bool
	// requeueAfter is the fixed retry interval; zero with retry set means the
	// controller's exponential back-off.
	requeueAfter time.Duration
	retry        bool
}

func classify(err error, readyMessage string, iv Intervals) outcome {
	var spec *specError
	var blocked *blockedError
	switch {
	case err == nil:
		return outcome{reason: whv1.ReasonReady, message: readyMessage, requeueAfter: jitter(iv.Resync)}
	case errors.As(err, &spec):
		// A spec problem is re-checked at the resync period, never hammered.
		return outcome{reason: spec.reason, message: spec.message, requeueAfter: jitter(iv.Resync)}
	case errors.As(err, &blocked):
		return outcome{reason: whv1.ReasonDeletionBlocked, message: blocked.message, progressing: true, requeueAfter: iv.Blocked}
	case openstack.IsCredentialsError(err):
		// The Secret watch brings the object back when the credentials change.
		return outcome{reason: whv1.ReasonCredentialsError, message: openstack.Message(err), requeueAfter: jitter(iv.Resync)}
	case openstack.IsNotFound(err):
		return outcome{reason: whv1.ReasonDependencyNotFound, message: openstack.Message(err), progressing: true, requeueAfter: iv.Dependency}
	case openstack.Classify(err) == openstack.QuotaExceeded:
		// Retried; a change to the project's ComputeQuota brings it back at once.
		return outcome{reason: whv1.ReasonQuotaRefused, message: openstack.Message(err), progressing: true, requeueAfter: iv.Blocked}
	case isKubernetesError(err):
		// An update conflict or an API server hiccup: back off and try again.
		return outcome{reason: whv1.ReasonTransientError, message: err.Error(), progressing: true, retry: true}
	case openstack.IsRetryable(err):
		o := outcome{reason: whv1.ReasonTransientError, message: openstack.Message(err), progressing: true, retry: true}
		if after, ok := openstack.RetryAfter(err); ok {
			o.requeueAfter = after
		}
		return o
	default:
		return outcome{reason: whv1.ReasonCloudRefused, message: openstack.Message(err), requeueAfter: jitter(iv.Resync)}
	}
}

// isKubernetesError reports whether err came from the Kubernetes API server.
func isKubernetesError(err error) bool {
	var status apierrors.APIStatus
	return errors.As(err, &status)
}

// apply writes the outcome into conditions for the given generation.
func (o outcome) apply(conditions *[]metav1.Condition, generation int64) {
	ready := metav1.ConditionFalse
	if o.reason == whv1.ReasonReady {
		ready = metav1.ConditionTrue
	}
	progressing, progressingReason := metav1.ConditionFalse, o.reason
	if o.progressing {
		progressing = metav1.ConditionTrue
	}
	meta.SetStatusCondition(conditions, metav1.Condition{
		Type: whv1.ConditionReady, Status: ready, Reason: o.reason, Message: o.message, ObservedGeneration: generation,
	})
	meta.SetStatusCondition(conditions, metav1.Condition{
		Type: whv1.ConditionProgressing, Status: progressing, Reason: progressingReason, Message: o.message, ObservedGeneration: generation,
	})
}

// Bounds of every requeue. Zero or less would mean "never again" to controller-runtime:
// an object whose wait came out that way (a boundary just passed) is looked at again
// after minRequeue; and whatever a wait says (a season years away, a resync period set
// to a year), an object is looked at again within maxRequeue.
const (
	minRequeue = time.Second
	maxRequeue = 24 * time.Hour
)

// result is what the reconcile returns: an error only for retryable failures without a
// known wait, so controller-runtime backs off exponentially; else a requeue within
// [minRequeue, maxRequeue].
func (o outcome) result(err error) (ctrl.Result, error) {
	if o.retry && o.requeueAfter <= 0 && err != nil {
		return ctrl.Result{}, err
	}
	return ctrl.Result{RequeueAfter: boundRequeue(o.requeueAfter)}, nil
}

// boundRequeue keeps a wait within [minRequeue, maxRequeue]; a short positive wait (a
// season boundary in 300 ms) is kept as it is, to wake exactly on time.
func boundRequeue(d time.Duration) time.Duration {
	if d <= 0 {
		return minRequeue
	}
	return min(d, maxRequeue)
}

// jitter spreads periodic resyncs by up to +10% so objects created together do not
// resync together. A period of zero or less (no resync asked for) is maxRequeue.
func jitter(d time.Duration) time.Duration {
	if d <= 0 || d > maxRequeue {
		d = maxRequeue // also keeps d + d/10 from overflowing
	}
	return d + time.Duration(rand.Int64N(int64(d)/10+1))
}
