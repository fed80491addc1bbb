package computequota

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"

	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	"github.com/whitehall-cloud/whitehall-operator/controllers/frame"
	"github.com/whitehall-cloud/whitehall-operator/controllers/lookups"
	"github.com/whitehall-cloud/whitehall-operator/internal/policy"
	"github.com/whitehall-cloud/whitehall-operator/internal/quota"
)

// reconcileDelete returns the project to its baseline before the ComputeQuota goes, so a
// peak never outlives the object that raised it, then lets it go. Deleting a
// ComputeQuota otherwise stops managing the quota: the baseline limits stay as they are.
// One under managementPolicy Observe goes without writing anything.
func (r *Reconciler) reconcileDelete(ctx context.Context, cq *whv1.ComputeQuota) (frame.Step, error) {
	if controllerutil.ContainsFinalizer(cq, whv1.ComputeQuotaFinalizer) {
		if err := r.restoreBaseline(ctx, cq); err != nil {
			return frame.Step{}, err
		}
		if _, err := frame.SetFinalizer(ctx, r.Client, cq, whv1.ComputeQuotaFinalizer, false); err != nil {
			return frame.Step{}, client.IgnoreNotFound(err)
		}
	}
	r.lastApplied.Delete(cq.UID)
	forgetQuotaMetrics(client.ObjectKeyFromObject(cq))
	return frame.Step{Released: true}, nil
}

// restoreBaseline lowers every limit the baseline manages that OpenStack has higher (a
// peak still active, or one the last reconcile did not see end); it never raises one.
// A field only a peak sets is not managed by the baseline and stays, as when a season
// ends. Nothing is written when cq does not write its Tenant's quota (another
// ComputeQuota does, or takes over), or when the project is gone or going.
func (r *Reconciler) restoreBaseline(ctx context.Context, cq *whv1.ComputeQuota) error {
	baseline := quota.FromAPI(cq.Spec.Baseline)
	if len(baseline) == 0 || cq.Observes() {
		return nil // under Observe nothing is written, not even on the way out
	}
	if last, err := r.lastWriter(ctx, cq); err != nil || !last {
		return err
	}
	tenant := &whv1.Tenant{}
	err := r.Get(ctx, client.ObjectKey{Namespace: cq.Namespace, Name: cq.Spec.TenantRef.Name}, tenant)
	switch {
	case apierrors.IsNotFound(err):
		return nil // no Tenant, no project to return to its baseline
	case err != nil:
		return err
	case tenant.Status.ProjectID == "" || tenant.Observes():
		return nil // no project, or one only observed
	case !tenant.DeletionTimestamp.IsZero() && tenant.EffectiveDeletionPolicy() == whv1.DeletionPolicyDelete:
		return nil // the project goes with its Tenant
	}
	acc, err := r.Access.ForTenant(ctx, tenant, true)
	if err != nil {
		return err
	}
	cloud, err := r.Clouds.CloudForCleanup(ctx, acc.Ref)
	if err != nil {
		return err
	}
	applied, err := quotaWrite{cloud: cloud, project: tenant.Status.ProjectID}.lower(ctx, baseline)
	if err != nil {
		return err
	}
	if len(applied.changes) > 0 {
		frame.Notify(ctx, r.Recorder, cq, corev1.EventTypeNormal, "QuotaRestored", "LowerQuota",
			"Set %s on project %s: back to the baseline before the ComputeQuota goes", joinChanges(applied.changes), tenant.Status.ProjectID)
	}
	return nil
}

// lastWriter reports whether cq, being deleted, wrote its Tenant's quota and no other
// ComputeQuota takes over: every other one naming the Tenant is being deleted too, and
// younger.
func (r *Reconciler) lastWriter(ctx context.Context, cq *whv1.ComputeQuota) (bool, error) {
	var list whv1.ComputeQuotaList
	if err := r.List(ctx, &list, client.InNamespace(cq.Namespace), client.MatchingFields{lookups.TenantRefIndex: cq.Spec.TenantRef.Name}); err != nil {
		return false, err
	}
	for i := range list.Items {
		q := &list.Items[i]
		if q.UID == cq.UID {
			continue
		}
		if q.DeletionTimestamp.IsZero() || policy.OlderQuota(q, cq) {
			return false, nil
		}
	}
	return true, nil
}
