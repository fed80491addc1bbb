package tenant

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"

	"github.com/whitehall-cloud/whitehall-operator/controllers/access"
	"github.com/whitehall-cloud/whitehall-operator/controllers/frame"
	"github.com/whitehall-cloud/whitehall-operator/internal/openstack"
)

// A cluster lost, or moved. A project records its owner: the Tenant's UID, namespace,
// name and cluster. When the cluster is lost and the same manifests are applied to a
// new one, the Tenant there has the same namespace and name and a new UID: it takes the
// project back once the recorded owner is gone — a Tenant of this cluster that no longer
// exists, or any Tenant of a cluster whose record in the cloud has not been renewed for
// a lease (openstack.ClusterRecords; the Cloud controller renews this cluster's). While
// the recorded cluster renews its record its Tenant may be alive, and the project is
// left alone (OwnedByAnotherCluster): two clusters never both manage one project. A
// project recording another namespace or name is never taken back; that is an import.

// lease is the cluster lease in force.
func (r *Reconciler) lease() time.Duration { return access.ClusterLease(r.ClusterLease) }

// ownerRecord is t as a project's owner.
func (r *Reconciler) ownerRecord(t *whv1.Tenant) openstack.ProjectOwner {
	return openstack.ProjectOwner{UID: string(t.UID), Namespace: t.Namespace, Name: t.Name, Cluster: r.ClusterID}
}

// mayTakeBack reports whether t takes p back: p records t's namespace and name under
// another UID, is not protected, and its recorded owner is gone (ownerGone).
func (r *Reconciler) mayTakeBack(ctx context.Context, cloud Cloud, acc access.CloudAccess, t *whv1.Tenant, p *openstack.Project) (bool, error) {
	if p.Owner == "" || p.Owner == string(t.UID) || p.OwnerNamespace != t.Namespace || p.OwnerName != t.Name || acc.IsProtected(p) {
		return false, nil
	}
	return r.ownerGone(ctx, cloud, t, p)
}

// ownerGone reports whether the Tenant p records as its owner is gone. One of this
// cluster (or of a record that names no cluster) is looked up here. One of another
// cluster is gone when that cluster's record says so (expired, or left); while the
// record is renewed, the error says whose it is and when it may be taken, and the
// reconcile comes back then. A cluster with no record is gone only when the Tenant's
// take-over annotation names it.
func (r *Reconciler) ownerGone(ctx context.Context, cloud Cloud, t *whv1.Tenant, p *openstack.Project) (bool, error) {
	if p.OwnerCluster == "" || p.OwnerCluster == r.ClusterID {
		live, err := r.liveOwner(ctx, p)
		return !live, err
	}
	rec, ok, err := cloud.ClusterRecord(ctx, p.OwnerCluster)
	switch {
	case err != nil:
		return false, err
	case !ok && t.Annotations[whv1.TakeOverAnnotation] == p.OwnerCluster:
		return true, nil
	case !ok:
		return false, frame.NewSpecError(whv1.ReasonOwnedByAnotherCluster, fmt.Sprintf(
			"project %s is recorded as managed from another cluster (%s), which keeps no record where this operator looks (the project its Cloud signs in to); it is left alone. If that cluster is gone for good, annotate this Tenant %s=%s to take the project back",
			p.ID, p.OwnerCluster, whv1.TakeOverAnnotation, p.OwnerCluster))
	case rec.Left:
		return true, nil
	}
	expires := rec.RenewedAt.Add(r.lease())
	if wait := expires.Sub(r.Now()); wait > 0 {
		return false, frame.RetryAfter(frame.NewSpecError(whv1.ReasonOwnedByAnotherCluster, fmt.Sprintf(
			"project %s is managed from another cluster (%s), which renewed its record at %s; it is left alone. If that cluster is gone for good, the project is taken back once its record is older than %s (at %s); to move it sooner, stop the operator there and delete its Cloud",
			p.ID, p.OwnerCluster, rec.RenewedAt.UTC().Format(time.RFC3339), r.lease(), expires.UTC().Format(time.RFC3339))), wait)
	}
	return true, nil
}

// takeBack records t as p's owner, keeping the UID it replaces: the network pieces made
// for that owner carry its mark, and become t's (NetworkBundleSpec.FormerOwner).
func (r *Reconciler) takeBack(ctx context.Context, cloud Cloud, t *whv1.Tenant, p *openstack.Project) (*openstack.Project, error) {
	owner := r.ownerRecord(t)
	owner.Previous = p.Owner
	from := p.OwnerCluster
	if from == "" || from == r.ClusterID {
		from = "this cluster"
	}
	taken, err := cloud.UpdateProject(ctx, p.ID, openstack.ProjectUpdate{Owner: &owner})
	if err != nil {
		return nil, err
	}
	frame.Notify(ctx, r.Recorder, t, corev1.EventTypeNormal, "TakenBack", "TakeBackProject",
		"Took back project %s (%s): it records this Tenant's namespace and name, and its owner there (%s, of %s) is gone",
		taken.Name, taken.ID, p.Owner, from)
	return taken, nil
}

// stampCluster adds this cluster to the owner record of a project t owns whose record
// names none (written before clusters were recorded): from then on another cluster
// cannot take it while this one lives.
func (r *Reconciler) stampCluster(ctx context.Context, cloud Cloud, t *whv1.Tenant, p *openstack.Project) (*openstack.Project, error) {
	if r.ClusterID == "" || p.Owner != string(t.UID) || p.OwnerCluster == r.ClusterID {
		return p, nil
	}
	owner := r.ownerRecord(t)
	owner.Previous = p.PreviousOwner
	return cloud.UpdateProject(ctx, p.ID, openstack.ProjectUpdate{Owner: &owner})
}
