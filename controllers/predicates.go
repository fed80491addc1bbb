package controllers

import (
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/predicate"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"
)

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

// What a watch passes on is what the watching kind depends on, never a status field
// another writer keeps: the usage reader writes every Tenant's and Cloud's status.usage
// each hour, and a watch that passed those writes would reconcile every Tenant,
// ComputeQuota, TestEnvironment and DepartmentPolicy of the cloud (each a round of
// OpenStack calls) for nothing. Creates and deletes always pass.

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

// cloudForTenants: a Tenant reads its Cloud's spec and whether it is Ready, never its
// usage.
func cloudForTenants() predicate.Predicate {
	return ChangedIn(func(c *whv1.Cloud) any {
		return []any{ObjectStateOf(c), ConditionStates(c.Status.Conditions)}
	})
}

// tenantForQuotas: a ComputeQuota reads its Tenant's spec, project and readiness.
func tenantForQuotas() predicate.Predicate {
	return ChangedIn(func(t *whv1.Tenant) any {
		return []any{ObjectStateOf(t), t.Status.ProjectID, ConditionStates(t.Status.Conditions)}
	})
}

// tenantForEnvironments: a TestEnvironment also reads the Tenant's service user and
// network.
func tenantForEnvironments() predicate.Predicate {
	return ChangedIn(func(t *whv1.Tenant) any {
		return []any{ObjectStateOf(t), t.Status.ProjectID, t.Status.ServiceUserID, t.Status.Network, ConditionStates(t.Status.Conditions)}
	})
}

// tenantForPolicies: a policy weighs the Tenant's spec, labels and allocated network.
func tenantForPolicies() predicate.Predicate {
	return ChangedIn(func(t *whv1.Tenant) any {
		return []any{ObjectStateOf(t), t.Status.Network}
	})
}

// quotaForEnvironments: a refused burst waits for its ComputeQuota's limits (effective)
// and readiness, not the usage each of its resyncs reads.
func quotaForEnvironments() predicate.Predicate {
	return ChangedIn(func(cq *whv1.ComputeQuota) any {
		return []any{ObjectStateOf(cq), cq.Status.Effective, ConditionStates(cq.Status.Conditions)}
	})
}
