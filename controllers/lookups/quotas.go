package lookups

import (
	"context"

	"sigs.k8s.io/controller-runtime/pkg/client"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"
	"github.com/whitehall-cloud/whitehall-operator/internal/policy"
)

// QuotaWriter returns the one ComputeQuota that writes the quota of cq's Tenant: of
// those in cq's namespace (and only there) naming that Tenant, the oldest by
// creationTimestamp, then name. cq itself counts even if the cache does not have it yet.
func QuotaWriter(ctx context.Context, c client.Reader, cq *whv1.ComputeQuota) (*whv1.ComputeQuota, error) {
	var list whv1.ComputeQuotaList
	if err := c.List(ctx, &list, client.InNamespace(cq.Namespace), client.MatchingFields{TenantRefIndex: cq.Spec.TenantRef.Name}); err != nil {
		return nil, err
	}
	return OldestQuota(append(list.Items, *cq)), nil
}

// OldestQuota returns the earliest created of items (by name when created in the same
// second), skipping those being deleted.
func OldestQuota(items []whv1.ComputeQuota) *whv1.ComputeQuota {
	var oldest *whv1.ComputeQuota
	for i := range items {
		q := &items[i]
		if !q.DeletionTimestamp.IsZero() {
			continue
		}
		if oldest == nil || policy.OlderQuota(q, oldest) {
			oldest = q
		}
	}
	return oldest
}
