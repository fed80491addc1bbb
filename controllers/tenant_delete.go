package controllers

import (
	"context"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"
	"github.com/whitehall-cloud/whitehall-operator/internal/openstack"
)

// maxListed bounds how many leftovers a DeletionBlocked message names.
const maxListed = 5

// reconcileDelete deletes or releases the project and then lets the Tenant go. It
// reports done once the finalizer is removed.
func (r *TenantReconciler) reconcileDelete(ctx context.Context, t *whv1.Tenant) (bool, error) {
	if !controllerutil.ContainsFinalizer(t, whv1.TenantFinalizer) {
		return true, nil
	}
	// Servers of TestEnvironments are the operator's own: their environments go first,
	// whatever the deletion policy, so no server is left without an owner.
	if err := r.deleteEnvironments(ctx, t); err != nil {
		return false, err
	}
	if t.Spec.DeletionPolicy == whv1.DeletionPolicyRetain {
		if t.Status.ProjectID != "" {
			notify(ctx, r.Recorder, t, corev1.EventTypeNormal, "Retained", "ReleaseProject",
				"Left project %s in OpenStack (deletionPolicy Retain)", t.Status.ProjectID)
		}
		return r.release(ctx, t)
	}

	cloud, err := r.Clouds.CloudForCleanup(ctx, credentialsRef(t.Namespace, t.Spec.CloudCredentialsRef))
	if err != nil {
		if t.Status.ProjectID == "" {
			// No project was ever recorded and OpenStack cannot be reached with these
			// credentials (a typo in the auth URL, a wrong password): waiting would keep
			// the Tenant forever for nothing. The one case this lets slip — a crash right
			// after creating the project, then an unreachable cloud — is logged.
			ctrl.LoggerFrom(ctx).Info("releasing a Tenant that never recorded a project without reaching OpenStack", "error", openstack.Message(err))
			return r.release(ctx, t)
		}
		return false, err
	}

	projectID := t.Status.ProjectID
	if projectID == "" && t.Spec.Import == nil {
		// A crash may have come between creating the project and recording its ID.
		domainID, err := cloud.DomainID(ctx, t.Spec.Project.Domain)
		if err != nil && !openstack.IsNotFound(err) {
			return false, err
		}
		if err == nil {
			p, err := cloud.FindProject(ctx, domainID, t.ProjectName())
			switch {
			case err == nil && p.Owner == string(t.UID):
				projectID = p.ID
			case err != nil && !openstack.IsNotFound(err):
				return false, err
			}
		}
	}

	if projectID != "" {
		contents, err := cloud.ProjectContents(ctx, projectID, ownDevices(t))
		if err != nil {
			return false, err
		}
		if !contents.IsEmpty() {
			msg := fmt.Sprintf("project %s still holds %s; delete them, or set deletionPolicy: Retain to keep the project",
				projectID, describeContents(contents))
			notify(ctx, r.Recorder, t, corev1.EventTypeWarning, whv1.ReasonDeletionBlocked, "DeleteProject", "%s", msg)
			return false, &blockedError{message: msg}
		}
		if t.Status.Network != nil {
			if err := cloud.DeleteNetworkBundle(ctx, knownBundle(t)); err != nil {
				return false, err
			}
		}
		if err := cloud.DeleteSecurityGroups(ctx, projectID); err != nil {
			return false, err
		}
		if err := cloud.DeleteProject(ctx, projectID); err != nil {
			return false, err
		}
		notify(ctx, r.Recorder, t, corev1.EventTypeNormal, "Deleted", "DeleteProject", "Deleted project %s", projectID)
	}
	return r.release(ctx, t)
}

// deleteEnvironments deletes the Tenant's TestEnvironments and reports, as a blocked
// deletion, those still removing their servers.
func (r *TenantReconciler) deleteEnvironments(ctx context.Context, t *whv1.Tenant) error {
	var list whv1.TestEnvironmentList
	if err := r.List(ctx, &list, client.InNamespace(t.Namespace), client.MatchingFields{tenantRefIndex: t.Name}); err != nil {
		return err
	}
	if len(list.Items) == 0 {
		return nil
	}
	names := make([]string, 0, len(list.Items))
	for i := range list.Items {
		env := &list.Items[i]
		names = append(names, env.Name)
		if env.DeletionTimestamp.IsZero() {
			if err := r.Delete(ctx, env); client.IgnoreNotFound(err) != nil {
				return err
			}
		}
	}
	return &blockedError{message: fmt.Sprintf("waiting for %d TestEnvironment(s) to delete their servers: %s", len(names), strings.Join(names, ", "))}
}

// release removes the finalizer, letting the Tenant go.
func (r *TenantReconciler) release(ctx context.Context, t *whv1.Tenant) (bool, error) {
	controllerutil.RemoveFinalizer(t, whv1.TenantFinalizer)
	if err := r.Update(ctx, t); err != nil {
		return false, err
	}
	return true, nil
}

// describeContents names what is left, a few of each kind.
func describeContents(c openstack.Contents) string {
	var parts []string
	for _, group := range []struct {
		kind  string
		items []string
	}{{"server", c.Servers}, {"volume", c.Volumes}, {"port", c.Ports}} {
		if n := len(group.items); n > 0 {
			shown := group.items[:min(n, maxListed)]
			more := ""
			if n > maxListed {
				more = fmt.Sprintf(" and %d more", n-maxListed)
			}
			parts = append(parts, fmt.Sprintf("%d %s(s): %s%s", n, group.kind, strings.Join(shown, ", "), more))
		}
	}
	return strings.Join(parts, "; ")
}
