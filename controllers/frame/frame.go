package frame

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"

	"k8s.io/apimachinery/pkg/api/meta"

	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/whitehall-cloud/whitehall-operator/internal/openstack"
)

// The reconcile frame: every kind is read, given its finalizer, reconciled or deleted,
// and has its status written once, here. A kind's reconcile or delete reports one step
// and an error; settle turns them into the conditions and the requeue. This file answers
// what is retried, how soon, and what status says.
//
// A kind's status is written here and nowhere else, with one exception: the usage
// reader (controllers/usage) writes Tenant.status.usage, Cloud.status.usage and
// PeakSeason.status.lastWindow with server-side apply under its own field manager, so
// it owns those fields alone and never races the kinds' own status writes.

// Step is what one reconcile or delete of an object reports besides its error.
type Step struct {
	// Reason, without an error, is why the object is not Ready yet (servers building,
	// deleting): Ready is False and Progressing True with it. Empty: Ready.
	Reason string
	// Message is the Ready condition's Message when there is no error.
	Message string
	// Busy: work is under way that no watch reports (servers building or going): the
	// object is looked at again after the kind's poll interval.
	Busy bool
	// Wake is how long until a known moment (a season boundary, a TTL, a credential
	// rotation); the object is looked at again then at the latest. Zero: none.
	Wake time.Duration
	// Released: deletion is finished and the finalizer gone; nothing more is written.
	Released bool
	// Degraded is a problem a step met and stepped round, doing the rest (a season that
	// is missing costs only its own peak; a role a policy withholds, only that role).
	// Once the rest is done (the step is not Busy) the object is reported as with that
	// error; set it with Degrade.
	Degraded error
}

// Degrade records a problem the step stepped round; the first one is reported.
func (s *Step) Degrade(err error) {
	if s.Degraded == nil {
		s.Degraded = err
	}
}

// Deletion is the step of a delete that either finished or is still under way.
func Deletion(done bool, message string) Step {
	if done {
		return Step{Released: true}
	}
	return Step{Reason: whv1.ReasonDeleting, Message: message, Busy: true}
}

// Object is an object of a kind the frame reconciles: its status offers its conditions
// (whv1.StatusObject).
type Object interface {
	client.Object
	whv1.StatusObject
}

// Kind is what the frame needs to know of one kind of object.
type Kind[T Object] struct {
	Client client.Client
	// Reader reads the object when a stale read from the cache would do harm; nil: client.
	Reader    client.Reader
	Intervals Intervals
	// Finalizer stays on the object while it may have something in OpenStack; "" for none.
	Finalizer string
	// NoProgressing: the kind has no Progressing condition (a season progresses toward
	// nothing).
	NoProgressing bool
	Reconcile     func(context.Context, T) (Step, error)
	// Delete runs once the object is being deleted; nil: it is reconciled as usual.
	Delete func(context.Context, T) (Step, error)
	// Poll is how soon a busy object is looked at again; nil: minRequeue.
	Poll func(T) time.Duration
	// Forget drops the metrics of an object that is gone; published publishes them once
	// its status is written.
	Forget    func(client.ObjectKey)
	Published func(T)
	// Gate, when set, is asked before anything else whether this process may work in
	// the object's namespace now (controllers/shard); nil: always.
	Gate Gate
}

// Gate admits work in a namespace (controllers/shard.Shard). Not ok: the request is
// dropped, or looked at again after retry when that is not zero; ok: leave is called
// once the reconcile is over.
type Gate interface {
	Enter(ctx context.Context, namespace string) (leave func(), retry time.Duration, ok bool)
}

// Reconcile is the frame: the gate (shards), get, finalizer, snapshot, reconcile or
// delete, settle, one status patch when status changed, result. An object whose deletion
// is finished is left alone: its finalizer is gone and it may be gone too.
func Reconcile[T Object](ctx context.Context, req ctrl.Request, obj T, k Kind[T]) (ctrl.Result, error) {
	if k.Gate != nil {
		leave, retry, ok := k.Gate.Enter(ctx, req.Namespace)
		if !ok {
			return ctrl.Result{RequeueAfter: retry}, nil
		}
		defer leave()
	}
	reader := k.Reader
	if reader == nil {
		reader = k.Client
	}
	if err := reader.Get(ctx, req.NamespacedName, obj); err != nil {
		if apierrors.IsNotFound(err) && k.Forget != nil {
			k.Forget(req.NamespacedName)
		}
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	deleting := !obj.GetDeletionTimestamp().IsZero()
	if !deleting && k.Finalizer != "" {
		// Before anything exists in OpenStack, so nothing can be created that the
		// operator would not clean up.
		if _, err := SetFinalizer(ctx, k.Client, obj, k.Finalizer, true); err != nil {
			return ctrl.Result{}, err
		}
	}
	orig, _ := obj.DeepCopyObject().(T)

	run := k.Reconcile
	if deleting && k.Delete != nil {
		run = k.Delete
	}
	s, err := run(ctx, obj)
	if err == nil && !s.Busy {
		err = s.Degraded // done, degraded: reported as the problem it met
	}
	if s.Released {
		return ctrl.Result{}, nil
	}
	if synced, ok := any(obj).(whv1.SyncedObject); ok && err == nil && s.Reason == "" && !deleting {
		// Read in full and as the spec asks: when a restart may look again (start.go).
		synced.SetLastSync(metav1.Now())
	}
	result, err := k.settle(obj, s, err)
	if !equality.Semantic.DeepEqual(orig.StatusValue(), obj.StatusValue()) {
		if perr := k.Client.Status().Patch(ctx, obj, client.MergeFrom(orig)); perr != nil {
			return ctrl.Result{}, client.IgnoreNotFound(perr) // gone while we worked
		}
	}
	if k.Published != nil {
		k.Published(obj)
	}
	return result, err
}

// settle turns a step and its error into status and the result. An error is classified
// (classify); a step with a reason is progress, a busy one polled; otherwise the object
// is Ready and resyncs. A known moment sooner than that is kept, unless the error backs
// off. Conditions and observedGeneration are written for the object's generation.
func (k Kind[T]) settle(obj T, s Step, err error) (ctrl.Result, error) {
	o := classify(err, s.Message, k.Intervals)
	if later := (*retryLater)(nil); errors.As(err, &later) {
		o.requeueAfter = later.After
	}
	if err == nil && s.Reason != "" {
		o = outcome{reason: s.Reason, message: s.Message, progressing: true}
		if s.Busy && k.Poll != nil {
			o.requeueAfter = k.Poll(obj)
		}
	}
	if !o.retry {
		o.requeueAfter = Earliest(o.requeueAfter, s.Wake)
	}
	o.apply(obj.StatusConditions(), obj.GetGeneration(), !k.NoProgressing)
	obj.SetObservedGeneration(obj.GetGeneration())
	return o.result(err)
}

// Earliest is the sooner of two waits, where zero or less means none.
func Earliest(a, b time.Duration) time.Duration {
	switch {
	case a <= 0:
		return b
	case b <= 0:
		return a
	default:
		return min(a, b)
	}
}

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

// SpecError is a problem with the spec or with the cloud's state that retrying cannot
// fix: it is reported with its reason and the object waits for a change.
type SpecError struct {
	Reason  string
	Message string
}

func (e *SpecError) Error() string { return e.Message }

func NewSpecError(reason, message string) error {
	return &SpecError{Reason: reason, Message: message}
}

// WaitingError is a dependency that is not there yet but is expected: a Tenant applied in
// the same commit as its ComputeQuota, a project still being made. It is reported with
// its reason as progress (Reconciling, not Stalled), so GitOps tools wait rather than
// fail; the watch on the dependency brings the object back, the resync in any case.
type WaitingError struct {
	Reason  string
	Message string
}

func (e *WaitingError) Error() string { return e.Message }

// NewWaitingError returns a WaitingError.
func NewWaitingError(reason, message string) error {
	return &WaitingError{Reason: reason, Message: message}
}

// BlockedError means deletion waits for something outside the operator's hands.
type BlockedError struct{ Message string }

func (e *BlockedError) Error() string { return e.Message }

// outcome is what settle decided: the Ready, Progressing, Reconciling and Stalled
// conditions and the requeue.
type outcome struct {
	reason      string
	message     string
	progressing bool
	// requeueAfter is the fixed retry interval; zero with retry set means the
	// controller's exponential back-off.
	requeueAfter time.Duration
	// retry is set for errors only (by classify): the error goes back to controller-runtime.
	retry bool
}

func classify(err error, readyMessage string, iv Intervals) outcome {
	var spec *SpecError
	var waiting *WaitingError
	var blocked *BlockedError
	var name *openstack.NameError
	switch {
	case err == nil:
		return outcome{reason: whv1.ReasonReady, message: readyMessage, requeueAfter: jitter(iv.Resync)}
	case errors.As(err, &spec):
		// A spec problem is re-checked at the resync period, never hammered.
		return outcome{reason: spec.Reason, message: spec.Message, requeueAfter: jitter(iv.Resync)}
	case errors.As(err, &waiting):
		return outcome{reason: waiting.Reason, message: waiting.Message, progressing: true, requeueAfter: jitter(iv.Resync)}
	case errors.As(err, &blocked):
		return outcome{reason: whv1.ReasonDeletionBlocked, message: blocked.Message, progressing: true, requeueAfter: iv.Blocked}
	case openstack.IsCredentialsError(err):
		// The Secret watch brings the object back when the credentials change.
		return outcome{reason: whv1.ReasonCredentialsError, message: openstack.Message(err), requeueAfter: jitter(iv.Resync)}
	case errors.As(err, &name):
		// A name that matches several things, or one the project may not use: the spec
		// must change (or the cloud be tidied); re-checked at the resync period.
		return outcome{reason: whv1.ReasonNameNotUsable, message: name.Error(), requeueAfter: jitter(iv.Resync)}
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

// apply writes the outcome into conditions for the given generation: Ready, and
// Progressing for kinds that have it; and for every kind the conditions kstatus reads
// (Flux's health checks): Reconciling while progressing, Stalled while failed and
// waiting for a change. Those two are abnormal-true, so they are removed rather than
// written False, as cluster-api and Flux's own controllers do; kstatus reads their
// absence, with status.observedGeneration current, as Current.
func (o outcome) apply(conditions *[]metav1.Condition, generation int64, withProgressing bool) {
	ready := metav1.ConditionFalse
	if o.reason == whv1.ReasonReady {
		ready = metav1.ConditionTrue
	}
	message := BoundedMessage(o.message)
	meta.SetStatusCondition(conditions, metav1.Condition{
		Type: whv1.ConditionReady, Status: ready, Reason: o.reason, Message: message, ObservedGeneration: generation,
	})
	if withProgressing {
		progressing := metav1.ConditionFalse
		if o.progressing {
			progressing = metav1.ConditionTrue
		}
		meta.SetStatusCondition(conditions, metav1.Condition{
			Type: whv1.ConditionProgressing, Status: progressing, Reason: o.reason, Message: message, ObservedGeneration: generation,
		})
	}
	setWhile(conditions, whv1.ConditionReconciling, o.progressing, o.reason, message, generation)
	setWhile(conditions, whv1.ConditionStalled, ready == metav1.ConditionFalse && !o.progressing, o.reason, message, generation)
}

// setWhile writes the condition True while on holds and removes it otherwise.
func setWhile(conditions *[]metav1.Condition, conditionType string, on bool, reason, message string, generation int64) {
	if !on {
		meta.RemoveStatusCondition(conditions, conditionType)
		return
	}
	meta.SetStatusCondition(conditions, metav1.Condition{
		Type: conditionType, Status: metav1.ConditionTrue, Reason: reason, Message: message, ObservedGeneration: generation,
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

// retryLater is an error retried after a wait of its own rather than its kind's.
type retryLater struct {
	error
	After time.Duration
}

func (e *retryLater) Unwrap() error { return e.error }

// RetryAfter returns err, to be retried after the given wait rather than the kind's own.
func RetryAfter(err error, after time.Duration) error { return &retryLater{error: err, After: after} }

// Reason is the condition reason err is reported with.
func Reason(err error, iv Intervals) string { return classify(err, "", iv).reason }
