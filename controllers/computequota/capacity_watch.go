package computequota

import (
	"context"

	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"
)

// judgementChanged is the watch through which a ComputeQuota learns its season's
// judgement: on a PeakSeason's status change it enqueues only the ComputeQuotas whose
// grant changed, and every ComputeQuota using the season when the judgement starts,
// ends, or moves to another window. A season re-judged to the same grants (its usage
// read again at a resync) costs no reconcile.
func judgementChanged(using func(context.Context, client.Object) []reconcile.Request) handler.EventHandler {
	return handler.Funcs{
		UpdateFunc: func(ctx context.Context, e event.UpdateEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			before, ok1 := e.ObjectOld.(*whv1.PeakSeason)
			after, ok2 := e.ObjectNew.(*whv1.PeakSeason)
			if !ok1 || !ok2 {
				return
			}
			all, changed := changedGrants(before.Status.Confirmation, after.Status.Confirmation)
			if all {
				for _, req := range using(ctx, after) {
					q.Add(req)
				}
				return
			}
			for _, key := range changed {
				q.Add(reconcile.Request{NamespacedName: key})
			}
		},
	}
}

// changedGrants compares two judgements: all when one starts, ends or judges another
// window, or what the unlisted get changes (the list starts or stops overflowing, or
// they stop or start being granted in full); else the ComputeQuotas whose grant
// differs, or that appear in or leave the list (one that stays unlisted keeps what it
// had: a season of thousands re-judged does not wake them all).
func changedGrants(before, after *whv1.CapacityConfirmation) (all bool, changed []types.NamespacedName) {
	switch {
	case before == nil && after == nil:
		return false, nil
	case before == nil || after == nil, !equality.Semantic.DeepEqual(before.Window, after.Window),
		(before.Unlisted > 0) != (after.Unlisted > 0), before.UnlistedConfirmed != after.UnlistedConfirmed:
		return true, nil
	}
	old := make(map[types.NamespacedName]whv1.PeakGrant, len(before.Grants))
	for _, g := range before.Grants {
		old[types.NamespacedName{Namespace: g.Namespace, Name: g.Name}] = g
	}
	for _, g := range after.Grants {
		key := types.NamespacedName{Namespace: g.Namespace, Name: g.Name}
		if was, ok := old[key]; !ok || !equality.Semantic.DeepEqual(was, g) {
			changed = append(changed, key)
		}
		delete(old, key)
	}
	for key := range old {
		changed = append(changed, key)
	}
	return false, changed
}
