package testenvironment

import (
	"context"
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"

	"k8s.io/apimachinery/pkg/api/equality"

	kerrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"

	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/whitehall-cloud/whitehall-operator/controllers/access"
	"github.com/whitehall-cloud/whitehall-operator/controllers/frame"
	"github.com/whitehall-cloud/whitehall-operator/internal/openstack"
)

// An environment records, before its first server is booted, the project and the
// identity it boots with (status.projectID and status.identity). Its servers are looked
// for there, so deletion finds them whatever became of the Tenant: gone, recreated, or
// pointing at another project.

// identityOf is how the Tenant reaches its project now.
func identityOf(t *whv1.Tenant) whv1.EnvironmentIdentity {
	return whv1.EnvironmentIdentity{
		TenantUID: string(t.UID), ServiceUserID: t.Status.ServiceUserID,
		CloudRef: t.Spec.CloudRef, CloudCredentialsRef: t.Spec.CloudCredentialsRef,
	}
}

// recordIdentity makes status name the Tenant's project and identity (once the
// operator could log in with it), written at once, before any boot, when they change. When the Tenant now has another project (it was
// recreated), the servers left in the recorded one are deleted first; it reports false
// while they are going.
func (r *Reconciler) recordIdentity(ctx context.Context, env *whv1.TestEnvironment, tenant *whv1.Tenant) (bool, error) {
	orig := env.DeepCopy()
	want := identityOf(tenant)
	sameProject := env.Status.ProjectID == tenant.Status.ProjectID
	if sameProject && env.Status.Identity != nil && equality.Semantic.DeepEqual(*env.Status.Identity, want) {
		return true, nil
	}
	if !sameProject && env.Status.Identity != nil {
		done, err := r.removeServers(ctx, env)
		if err != nil || !done {
			return false, err
		}
		frame.Notify(ctx, r.Recorder, env, corev1.EventTypeNormal, "ProjectChanged", "DeleteServers",
			"Tenant %q now has project %s: the servers left in project %s are gone", tenant.Name, tenant.Status.ProjectID, env.Status.ProjectID)
	}
	if !sameProject {
		env.Status.ServerGroupID, env.Status.Servers, env.Status.Failures = "", nil, nil
	}
	env.Status.ProjectID, env.Status.Identity = tenant.Status.ProjectID, &want
	// Patch a copy: the answer carries the stored status, without what this pass worked
	// out so far (desired replicas, seasons).
	stored := env.DeepCopy()
	return true, r.Status().Patch(ctx, stored, client.MergeFrom(orig))
}

// noCredentialError: nothing can log in to the recorded project any more.
type noCredentialError struct{ cause string }

func (e *noCredentialError) Error() string { return e.cause }

// recordedTenant is the Tenant as it was when the environment recorded its identity:
// enough to resolve its cloud and its identity store. Nil when no server was ever booted.
// An environment from before identities were recorded falls back to its Tenant, if that
// still has the recorded project.
func (r *Reconciler) recordedTenant(ctx context.Context, env *whv1.TestEnvironment) (*whv1.Tenant, error) {
	if env.Status.ProjectID == "" {
		return nil, nil // recorded before any boot: none happened
	}
	id := env.Status.Identity
	if id == nil {
		tenant := &whv1.Tenant{}
		err := r.Get(ctx, client.ObjectKey{Namespace: env.Namespace, Name: env.Spec.TenantRef.Name}, tenant)
		if kerrors.IsNotFound(err) || (err == nil && tenant.Status.ProjectID != env.Status.ProjectID) {
			return nil, &noCredentialError{cause: fmt.Sprintf("no identity was recorded for project %s and Tenant %q no longer has it", env.Status.ProjectID, env.Spec.TenantRef.Name)}
		}
		if err != nil {
			return nil, err
		}
		want := identityOf(tenant)
		id = &want
	}
	if id.ServiceUserID == "" {
		return nil, nil // without the project's identity no server could have been booted
	}
	return &whv1.Tenant{
		ObjectMeta: metav1.ObjectMeta{Namespace: env.Namespace, Name: env.Spec.TenantRef.Name, UID: types.UID(id.TenantUID)},
		Spec:       whv1.TenantSpec{CloudRef: id.CloudRef, CloudCredentialsRef: id.CloudCredentialsRef},
		Status:     whv1.TenantStatus{ProjectID: env.Status.ProjectID, ServiceUserID: id.ServiceUserID},
	}, nil
}

// recordedCloud logs in to the recorded project with the recorded identity. The
// identity store must belong to the environment's namespace: status names it, and
// status is no proof of anything.
func (r *Reconciler) recordedCloud(ctx context.Context, t *whv1.Tenant) (Cloud, access.CloudAccess, error) {
	acc, err := r.Access.ForTenant(ctx, t, true)
	if err != nil {
		var spec *frame.SpecError
		if errors.As(err, &spec) {
			return nil, acc, &noCredentialError{cause: spec.Message}
		}
		return nil, acc, err
	}
	store, err := r.Access.IdentityStore(ctx, r.Client, t)
	switch {
	case kerrors.IsNotFound(err):
		return nil, acc, &noCredentialError{cause: fmt.Sprintf("the identity of project %s is gone", t.Status.ProjectID)}
	case err != nil:
		return nil, acc, err
	case store.Labels[access.TenantNamespaceLabel] != t.Namespace:
		return nil, acc, &noCredentialError{cause: fmt.Sprintf("the recorded identity of project %s is not this namespace's", t.Status.ProjectID)}
	}
	user := openstack.ProjectUser{UserID: t.Status.ServiceUserID, Password: string(store.Data[access.StorePasswordKey]), ProjectID: t.Status.ProjectID}
	cloud, err := r.Clouds.ProjectCloud(ctx, acc.Ref, user)
	if errors.Is(err, openstack.ErrCredentials) {
		return nil, acc, &noCredentialError{cause: fmt.Sprintf("the service user of project %s cannot log in: %s", t.Status.ProjectID, openstack.Message(err))}
	}
	return cloud, acc, err
}

// removeServers deletes the environment's servers and server group from the recorded
// project, and reports done once none is left. Without any credential for the project
// it is done only when the project itself is gone.
func (r *Reconciler) removeServers(ctx context.Context, env *whv1.TestEnvironment) (bool, error) {
	t, err := r.recordedTenant(ctx, env)
	var noCred *noCredentialError
	if errors.As(err, &noCred) {
		return r.withoutCredential(ctx, env, nil, noCred)
	}
	if err != nil || t == nil {
		return t == nil && err == nil, err
	}
	cloud, acc, err := r.recordedCloud(ctx, t)
	if errors.As(err, &noCred) {
		return r.withoutCredential(ctx, env, &acc, noCred)
	}
	if err != nil {
		return false, err
	}
	servers, err := ownServers(ctx, cloud, env)
	if err != nil {
		return false, err
	}
	for _, s := range servers {
		if err := cloud.DeleteServer(ctx, s.ID); err != nil {
			return false, err
		}
	}
	r.recordServers(env, nil, len(servers))
	if len(servers) > 0 {
		return false, nil // look again once Nova has removed them
	}
	if env.Status.ServerGroupID != "" {
		if err := cloud.DeleteServerGroup(ctx, env.Status.ServerGroupID); err != nil {
			return false, err
		}
	}
	return true, nil
}

// withoutCredential decides when no credential for the recorded project is left: done
// if the admin's credentials show the project is gone; otherwise the servers may still
// run, so the environment stays (CredentialsGone) and an event names them.
func (r *Reconciler) withoutCredential(ctx context.Context, env *whv1.TestEnvironment, acc *access.CloudAccess, cause *noCredentialError) (bool, error) {
	project := env.Status.ProjectID
	why := cause.cause
	if acc != nil && acc.Ref.SecretName != "" {
		admin, err := r.Clouds.CloudForCleanup(ctx, acc.Ref)
		if err == nil {
			_, err = admin.GetProject(ctx, project)
			if openstack.IsNotFound(err) {
				frame.Notify(ctx, r.Recorder, env, corev1.EventTypeNormal, "ProjectGone", "DeleteServers",
					"Project %s is gone and no credential for it is left: nothing more to delete", project)
				return true, nil
			}
			if err != nil && !errors.Is(err, openstack.ErrCredentials) {
				return false, err // a transient failure: look again
			}
		}
		if err != nil {
			why += "; the project cannot be checked either: " + openstack.Message(err)
		}
	}
	names := make([]string, 0, len(env.Status.Servers))
	for _, s := range env.Status.Servers {
		names = append(names, s.Name)
	}
	listed := "its servers"
	if len(names) > 0 {
		listed = fmt.Sprintf("servers %s", joinNames(names))
	}
	msg := fmt.Sprintf("%s; %s in project %s cannot be deleted, so the environment stays until the project is gone (or its finalizer %s is removed by hand after deleting them)",
		why, listed, project, whv1.TestEnvironmentFinalizer)
	if c := meta.FindStatusCondition(env.Status.Conditions, whv1.ConditionReady); c == nil || c.Reason != whv1.ReasonCredentialsGone {
		frame.Notify(ctx, r.Recorder, env, corev1.EventTypeWarning, whv1.ReasonCredentialsGone, "DeleteServers", "%s", msg)
	}
	return false, frame.NewSpecError(whv1.ReasonCredentialsGone, msg)
}
