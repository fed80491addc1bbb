package computequota

import (
	"context"

	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"

	"github.com/whitehall-cloud/whitehall-operator/controllers/lookups"
	"github.com/whitehall-cloud/whitehall-operator/internal/policy"
)

// checkPolicies evaluates the quotaCeiling of every DepartmentPolicy governing cq's
// namespace: cq alone, and the namespace's sum over the ComputeQuotas that write a
// Tenant's quota (cq as read now, with its siblings from the cache).
func (r *Reconciler) checkPolicies(ctx context.Context, cq *whv1.ComputeQuota) ([]policy.Breach, error) {
	var quotas []whv1.ComputeQuota
	var listErr error
	listed := false
	breaches, err := lookups.PolicyChecker{Reader: r.Client, Recorder: r.Recorder}.Check(ctx, cq, &cq.Status.Conditions, func(p *whv1.DepartmentPolicy) []policy.Breach {
		out := policy.QuotaBreaches(p, cq)
		if p.Spec.QuotaCeiling == nil {
			return out
		}
		if !listed {
			quotas, listErr = namespaceQuotas(ctx, r.Client, cq)
			listed = true
		}
		return append(out, policy.QuotaSum(p, quotas)[cq.UID]...)
	})
	if listErr != nil {
		return nil, listErr
	}
	return breaches, err
}

// namespaceQuotas lists the ComputeQuotas of cq's namespace, cq as given in place of
// the cache's copy (which may be older, or missing).
func namespaceQuotas(ctx context.Context, c client.Reader, cq *whv1.ComputeQuota) ([]whv1.ComputeQuota, error) {
	var list whv1.ComputeQuotaList
	if err := c.List(ctx, &list, client.InNamespace(cq.Namespace)); err != nil {
		return nil, err
	}
	out := []whv1.ComputeQuota{*cq}
	for _, q := range list.Items {
		if q.UID != cq.UID {
			out = append(out, q)
		}
	}
	return out, nil
}

// siblingQuotas enqueues, for a ComputeQuota that changed, the ComputeQuotas that may
// see it: those naming its Tenant (which one writes), and every one in its namespace
// when a policy there bounds the namespace's sum.
func (r *Reconciler) siblingQuotas(ctx context.Context, o client.Object) []reconcile.Request {
	quotas := lookups.Dependents{Reader: r.Client, NewList: func() client.ObjectList { return &whv1.ComputeQuotaList{} }}
	governing, err := lookups.GoverningPolicies(ctx, r.Client, o.GetNamespace())
	if err == nil {
		for _, p := range governing {
			if p.Spec.QuotaCeiling != nil {
				return lookups.ListRequests(ctx, r.Client, &whv1.ComputeQuotaList{}, client.InNamespace(o.GetNamespace()))
			}
		}
	}
	return quotas.OfQuotaTenant(ctx, o)
}
