package tenant

import (
	"context"
	"errors"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	ctrl "sigs.k8s.io/controller-runtime"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"

	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	"github.com/whitehall-cloud/whitehall-operator/controllers/access"
	"github.com/whitehall-cloud/whitehall-operator/controllers/frame"
	"github.com/whitehall-cloud/whitehall-operator/controllers/lookups"
	"github.com/whitehall-cloud/whitehall-operator/internal/openstack"
)

// reconcileDelete deletes or releases the project and then lets the Tenant go. It
// reports done once the finalizer is removed. Whatever the policy, the project's
// identity (its service user, and with it every application credential) goes.
func (r *Reconciler) reconcileDelete(ctx context.Context, t *whv1.Tenant) (bool, error) {
	if !controllerutil.ContainsFinalizer(t, whv1.TenantFinalizer) {
		return true, nil
	}
	// Servers of TestEnvironments are the operator's own: their environments go first,
	// whatever the deletion policy, so no server is left without an owner.
	if err := r.deleteEnvironments(ctx, t); err != nil {
		return false, err
	}
	acc, cloud, err := r.cleanupCloud(ctx, t)
	if err != nil {
		if t.Status.ProjectID == "" {
			// No project was ever recorded and OpenStack cannot be reached with these
			// credentials (a typo in the auth URL, a wrong password, a Cloud that never
			// admitted the namespace): waiting would keep the Tenant forever for nothing.
			// The one case this lets slip — a crash right after creating the project,
			// then an unreachable cloud — is logged.
			ctrl.LoggerFrom(ctx).Info("releasing a Tenant that never recorded a project without reaching OpenStack", "error", openstack.Message(err))
			return r.release(ctx, t)
		}
		return false, err
	}
	if err := r.deleteIdentity(ctx, cloud, t); err != nil {
		return false, err
	}
	if err := r.deleteCredentialSecret(ctx, t, ""); err != nil {
		return false, err
	}
	// Under Observe the project is left as it is, whatever the deletion policy; only what
	// the operator made for itself (its service user, if it managed the project before)
	// goes.
	if t.EffectiveDeletionPolicy() == whv1.DeletionPolicyRetain || t.Observes() {
		if t.Status.ProjectID != "" {
			frame.Notify(ctx, r.Recorder, t, corev1.EventTypeNormal, "Retained", "ReleaseProject",
				"Left project %s in OpenStack (deletionPolicy Retain)", t.Status.ProjectID)
		}
		return r.release(ctx, t)
	}

	project, err := r.ownProject(ctx, cloud, acc, t)
	if err != nil {
		return false, err
	}
	if project != nil {
		contents, err := cloud.ProjectContents(ctx, project.ID, networkOwnership(t))
		if err != nil {
			return false, err
		}
		if !contents.IsEmpty() {
			msg := fmt.Sprintf("project %s still holds %s; delete them, or set deletionPolicy: Retain to keep the project",
				project.ID, describeContents(contents))
			frame.Notify(ctx, r.Recorder, t, corev1.EventTypeWarning, whv1.ReasonDeletionBlocked, "DeleteProject", "%s", msg)
			return false, &frame.BlockedError{Message: msg}
		}
		// Only the pieces the Tenant made: none adopted from the department is left, or
		// the project would not be empty.
		if err := cloud.DeleteNetworkBundle(ctx, project.ID, networkOwnership(t)); err != nil {
			return false, err
		}
		if err := cloud.DeleteSecurityGroups(ctx, project.ID); err != nil {
			return false, err
		}
		if err := cloud.DeleteProject(ctx, project.ID); err != nil {
			return false, err
		}
		frame.Notify(ctx, r.Recorder, t, corev1.EventTypeNormal, "Deleted", "DeleteProject", "Deleted project %s", project.ID)
	}
	return r.release(ctx, t)
}

// cleanupCloud is the admin cloud for removing what the Tenant made: a Cloud that no
// longer admits the namespace still lets it clean up, and a department Secret already
// deleted with its namespace falls back to the last login made with it.
func (r *Reconciler) cleanupCloud(ctx context.Context, t *whv1.Tenant) (access.CloudAccess, Cloud, error) {
	acc, err := r.Access.ForTenant(ctx, t, true)
	if err != nil {
		return acc, nil, err
	}
	cloud, err := r.Clouds.CloudForCleanup(ctx, acc.Ref)
	return acc, cloud, err
}

// ownProject is the project to delete: the one status records, or one this Tenant made
// just before a crash lost its ID. It is deleted only if Keystone records this Tenant as
// its owner and it is not protected: a Tenant never deletes a project it does not own.
func (r *Reconciler) ownProject(ctx context.Context, cloud Cloud, acc access.CloudAccess, t *whv1.Tenant) (*openstack.Project, error) {
	var (
		p   *openstack.Project
		err error
	)
	switch {
	case t.Status.ProjectID != "":
		p, err = cloud.GetProject(ctx, t.Status.ProjectID)
	case t.Spec.Import != nil:
		return nil, nil // never adopted: nothing of ours to delete
	default:
		p, err = r.unrecordedProject(ctx, cloud, acc, t)
	}
	var spec *frame.SpecError
	switch {
	case openstack.IsNotFound(err):
		return nil, nil
	case errors.As(err, &spec):
		// A project by this name that this Tenant never made: not ours to delete.
	case err != nil:
		return nil, err
	default:
		err = ownedBy(acc, t, p)
	}
	if err != nil {
		// The Tenant goes; the project it does not own stays, whatever its policy.
		frame.Notify(ctx, r.Recorder, t, corev1.EventTypeWarning, frame.Reason(err, r.Intervals), "DeleteProject", "Not deleted: %s", err)
		return nil, nil
	}
	return p, nil
}

// unrecordedProject is the project this Tenant made but never recorded: by its name, or
// by the old default name (legacyProject).
// One this Tenant would take back (its cluster lost) is not its own yet: it is left
// alone, never deleted.
func (r *Reconciler) unrecordedProject(ctx context.Context, cloud Cloud, acc access.CloudAccess, t *whv1.Tenant) (*openstack.Project, error) {
	domainID, err := cloud.DomainID(ctx, t.Spec.Project.Domain)
	if err != nil {
		return nil, err
	}
	p, back, err := r.existingProject(ctx, cloud, acc, t, domainID)
	if !openstack.IsNotFound(err) {
		return notTakenBack(p, back, err)
	}
	if p, back, err = r.legacyProject(ctx, cloud, acc, t, domainID); err == nil && p == nil {
		return nil, fmt.Errorf("%w: no project of Tenant %s", openstack.ErrNotFound, t.Name)
	}
	return notTakenBack(p, back, err)
}

// notTakenBack refuses a project found that the Tenant has not taken back yet.
func notTakenBack(p *openstack.Project, back bool, err error) (*openstack.Project, error) {
	if back {
		return nil, frame.NewSpecError(whv1.ReasonAlreadyOwned, fmt.Sprintf(
			"project %s records this Tenant's namespace and name but was never taken back by it; it is left alone", p.ID))
	}
	return p, err
}

// deleteEnvironments deletes the Tenant's TestEnvironments and reports, as a blocked
// deletion, those still removing their servers, naming those kept by finalizers the
// operator does not own (a department's own): it cannot remove them, so it says so
// rather than wait silently.
func (r *Reconciler) deleteEnvironments(ctx context.Context, t *whv1.Tenant) error {
	var list whv1.TestEnvironmentList
	if err := r.List(ctx, &list, client.InNamespace(t.Namespace), client.MatchingFields{lookups.TenantRefIndex: t.Name}); err != nil {
		return err
	}
	if len(list.Items) == 0 {
		return nil
	}
	names := make([]string, 0, len(list.Items))
	var foreign []string
	for i := range list.Items {
		env := &list.Items[i]
		names = append(names, env.Name)
		if others := foreignFinalizers(env, whv1.TestEnvironmentFinalizer); len(others) > 0 {
			foreign = append(foreign, fmt.Sprintf("%s (%s)", env.Name, strings.Join(others, ", ")))
		}
		if env.DeletionTimestamp.IsZero() {
			if err := r.Delete(ctx, env); client.IgnoreNotFound(err) != nil {
				return err
			}
		}
	}
	msg := fmt.Sprintf("waiting for %d TestEnvironment(s) to delete their servers: %s", len(names), strings.Join(names, ", "))
	if len(foreign) > 0 {
		msg += fmt.Sprintf("; held by finalizers the operator does not own, which whoever added them must remove: %s", strings.Join(foreign, "; "))
	}
	return &frame.BlockedError{Message: msg}
}

// foreignFinalizers are obj's finalizers other than the operator's own.
func foreignFinalizers(obj client.Object, own string) []string {
	var out []string
	for _, f := range obj.GetFinalizers() {
		if f != own {
			out = append(out, f)
		}
	}
	return out
}

// release removes the finalizer, letting the Tenant go.
func (r *Reconciler) release(ctx context.Context, t *whv1.Tenant) (bool, error) {
	if _, err := frame.SetFinalizer(ctx, r.Client, t, whv1.TenantFinalizer, false); err != nil {
		return false, err
	}
	return true, nil
}

// describeContents names what is left, a few of each kind.
func describeContents(c openstack.Contents) string {
	var parts []string
	for _, group := range c.Kinds() {
		n := len(group.Items)
		shown := group.Items[:min(n, frame.MaxListed)]
		more := ""
		if n > frame.MaxListed {
			more = fmt.Sprintf(" and %d more", n-frame.MaxListed)
		}
		parts = append(parts, fmt.Sprintf("%d %s(s): %s%s", n, group.Kind, strings.Join(shown, ", "), more))
	}
	return strings.Join(parts, "; ")
}
