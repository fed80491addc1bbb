package frame

import (
	"context"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
)

// What a watch passes on is what the watching kind depends on, never a status field
// another writer keeps: the usage reader writes every Tenant's and Cloud's status.usage
// each hour, and a watch that passed those writes would reconcile every Tenant,
// ComputeQuota, TestEnvironment and DepartmentPolicy of the cloud (each a round of
// OpenStack calls) for nothing. Creates and deletes always pass.

// LaterEvents is the predicate of every watch that passes on another object's events
// (a Namespace, a policy, a season, a Tenant to its dependents): it drops the creates of
// the cache's first list. After a restart each object is looked at once through its own
// watch, spread over the resync period (SpreadStart); a dependent watch passing its
// first list on would look at every department at once, the herd SpreadStart prevents.
// An object created while the operator runs is passed on as before.
func LaterEvents() predicate.Predicate { return LaterEventsOf[client.Object]() }

// LaterEventsOf is LaterEvents for a typed source (metadata only, say).
func LaterEventsOf[T client.Object]() predicate.TypedPredicate[T] {
	return predicate.TypedFuncs[T]{CreateFunc: func(e event.TypedCreateEvent[T]) bool { return !e.IsInInitialList }}
}

// DeletionPredicate passes the update that marks an object for deletion, which changes
// neither its generation nor its annotations.
func DeletionPredicate() predicate.Predicate {
	return predicate.Funcs{
		UpdateFunc: func(e event.UpdateEvent) bool {
			return e.ObjectOld.GetDeletionTimestamp().IsZero() && !e.ObjectNew.GetDeletionTimestamp().IsZero()
		},
		CreateFunc:  func(event.CreateEvent) bool { return true },
		DeleteFunc:  func(event.DeleteEvent) bool { return true },
		GenericFunc: func(event.GenericEvent) bool { return true },
	}
}

// ChangedIn passes an update only when view differs between the old and the new object.
func ChangedIn[T client.Object](view func(T) any) predicate.Predicate {
	return predicate.Funcs{UpdateFunc: func(e event.UpdateEvent) bool {
		old, okOld := e.ObjectOld.(T)
		updated, okNew := e.ObjectNew.(T)
		if !okOld || !okNew {
			return true
		}
		return !equality.Semantic.DeepEqual(view(old), view(updated))
	}}
}

// conditionState is what a dependent reads of a condition: not its time nor message.
type conditionState struct{ Type, Status, Reason string }

func ConditionStates(conditions []metav1.Condition) []conditionState {
	out := make([]conditionState, 0, len(conditions))
	for _, c := range conditions {
		out = append(out, conditionState{c.Type, string(c.Status), c.Reason})
	}
	return out
}

// objectState is what every dependent reads of the object it watches: its spec (by
// generation), whether it is going, its labels (policies and selectors read them).
type objectState struct {
	Generation int64
	Deleting   bool
	Labels     map[string]string
}

func ObjectStateOf(o client.Object) objectState {
	return objectState{o.GetGeneration(), !o.GetDeletionTimestamp().IsZero(), o.GetLabels()}
}

// EnqueueCoalesced is EnqueueRequestsFromMapFunc whose requests wait delay before they
// are handled, so that a burst of events on many objects that all map to one object (a
// thousand ComputeQuotas created at once, each naming the same PeakSeason) becomes one
// reconcile of it rather than hundreds: a request already waiting is not added twice.
// For an object that sums others, where being a moment late costs nothing.
func EnqueueCoalesced(fn handler.MapFunc, delay time.Duration) handler.EventHandler {
	add := func(ctx context.Context, o client.Object, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
		for _, req := range fn(ctx, o) {
			q.AddAfter(req, delay)
		}
	}
	return handler.Funcs{
		CreateFunc: func(ctx context.Context, e event.CreateEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			add(ctx, e.Object, q)
		},
		UpdateFunc: func(ctx context.Context, e event.UpdateEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			add(ctx, e.ObjectOld, q)
			add(ctx, e.ObjectNew, q)
		},
		DeleteFunc: func(ctx context.Context, e event.DeleteEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			add(ctx, e.Object, q)
		},
		GenericFunc: func(ctx context.Context, e event.GenericEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			add(ctx, e.Object, q)
		},
	}
}
