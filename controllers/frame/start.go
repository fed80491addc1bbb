package frame

import (
	"context"
	"math/rand/v2"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/workqueue"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"

	"k8s.io/apimachinery/pkg/api/meta"

	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
)

// No thundering herd after a restart. A cache's first list hands every object to its
// controller as created: a restarted operator with a thousand departments would read
// them all from OpenStack at once, and keep reading them together each resync after.
// Each object's last full read is kept in its status (status.lastSyncTime, as ORC keeps
// it), so an object that is unchanged since and Ready is first looked at at a random
// moment before its resync would have come (one period after that read): never later
// than if the operator had never stopped, and no longer together with the objects it
// was read with. One whose read is older than a period (the operator was down longer)
// is looked at at a random moment of the next period. Anything else — a new object, a changed spec, one not Ready, one being
// deleted — is looked at at once, and every other event (a spec change, a dependency's)
// is passed on as before: only the first look is deferred.

// StartupSpread is the pair a kind's controller uses for its own objects: Predicate
// goes with For and drops every create; Handler goes with a Watches of the same kind
// and queues each create, at once or after its delay. The handler alone decides, so the
// delay is worked out once per object.
type StartupSpread struct {
	Predicate predicate.Predicate
	Handler   handler.EventHandler
}

// SpreadStart returns the StartupSpread of a kind that resyncs every resync.
func SpreadStart(resync time.Duration) StartupSpread {
	// What For would have done with a create the handler does not defer.
	var atOnce handler.EnqueueRequestForObject
	return StartupSpread{
		Predicate: predicate.Funcs{CreateFunc: func(event.CreateEvent) bool { return false }},
		Handler: handler.Funcs{
			CreateFunc: func(ctx context.Context, e event.CreateEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
				if d, ok := StartDelay(e.Object, resync, time.Now()); ok {
					q.AddAfter(reconcile.Request{NamespacedName: client.ObjectKeyFromObject(e.Object)}, d)
					return
				}
				atOnce.Create(ctx, e, q)
			},
		},
	}
}

// StartDelay is how long the first look at o waits, and whether it waits at all.
func StartDelay(o client.Object, resync time.Duration, now time.Time) (time.Duration, bool) {
	synced, ok := o.(whv1.SyncedObject)
	if !ok || resync <= 0 || !o.GetDeletionTimestamp().IsZero() {
		return 0, false
	}
	last := synced.LastSync()
	ready := meta.FindStatusCondition(*synced.StatusConditions(), whv1.ConditionReady)
	if last == nil || ready == nil || ready.Status != metav1.ConditionTrue || ready.ObservedGeneration != o.GetGeneration() {
		return 0, false
	}
	// At a random moment before it is due: objects read together (created together, or
	// one restart's herd) are read apart from then on.
	due := last.Add(resync).Sub(now)
	if due <= 0 {
		due = resync // overdue: within the next period
	}
	return time.Duration(rand.Int64N(int64(due))), true
}
