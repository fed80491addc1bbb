package lookups

import (
	"sigs.k8s.io/controller-runtime/pkg/predicate"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"
	"github.com/whitehall-cloud/whitehall-operator/controllers/frame"
)

// CloudForTenants: a Tenant reads its Cloud's spec and whether it is Ready, never its
// usage.
func CloudForTenants() predicate.Predicate {
	return frame.ChangedIn(func(c *whv1.Cloud) any {
		return []any{frame.ObjectStateOf(c), frame.ConditionStates(c.Status.Conditions)}
	})
}

// TenantForQuotas: a ComputeQuota reads its Tenant's spec, project and readiness.
func TenantForQuotas() predicate.Predicate {
	return frame.ChangedIn(func(t *whv1.Tenant) any {
		return []any{frame.ObjectStateOf(t), t.Status.ProjectID, frame.ConditionStates(t.Status.Conditions)}
	})
}

// TenantForEnvironments: a TestEnvironment also reads the Tenant's service user and
// network.
func TenantForEnvironments() predicate.Predicate {
	return frame.ChangedIn(func(t *whv1.Tenant) any {
		return []any{frame.ObjectStateOf(t), t.Status.ProjectID, t.Status.ServiceUserID, t.Status.Network, frame.ConditionStates(t.Status.Conditions)}
	})
}

// QuotaForEnvironments: a refused burst waits for its ComputeQuota's limits (effective)
// and readiness, not the usage each of its resyncs reads.
func QuotaForEnvironments() predicate.Predicate {
	return frame.ChangedIn(func(cq *whv1.ComputeQuota) any {
		return []any{frame.ObjectStateOf(cq), cq.Status.Effective, frame.ConditionStates(cq.Status.Conditions)}
	})
}

// TenantForPolicies: a policy weighs the Tenant's spec, labels and allocated network.
func TenantForPolicies() predicate.Predicate {
	return frame.ChangedIn(func(t *whv1.Tenant) any {
		return []any{frame.ObjectStateOf(t), t.Status.Network}
	})
}
