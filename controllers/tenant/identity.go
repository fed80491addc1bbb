package tenant

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"

	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/whitehall-cloud/whitehall-operator/controllers/access"
	"github.com/whitehall-cloud/whitehall-operator/controllers/lookups"
	"github.com/whitehall-cloud/whitehall-operator/internal/openstack"
)

// A project's identity: the Keystone user the operator acts as inside the project (and
// whose application credentials the department gets). Its password, and the current
// application credential's secret, live in a Secret of the operator's own namespace,
// the identity store: never in a department's namespace, never in status.

// needsIdentity reports whether the project needs its service user: for the
// department's application credential, or for TestEnvironments to boot servers with. A
// project that needs neither gets no Keystone user (and costs no call for one).
func (r *Reconciler) needsIdentity(ctx context.Context, t *whv1.Tenant) (bool, error) {
	if t.Spec.ApplicationCredential != nil || t.Status.ServiceUserID != "" {
		return true, nil
	}
	var envs whv1.TestEnvironmentList
	if err := r.List(ctx, &envs, client.InNamespace(t.Namespace), client.MatchingFields{lookups.TenantRefIndex: t.Name}); err != nil {
		return false, err
	}
	return len(envs.Items) > 0, nil
}

// reconcileServiceUser makes sure the project has its service user when it needs one.
// It is looked for only while status does not name it: an unchanged Tenant costs no
// OpenStack call here.
func (r *Reconciler) reconcileServiceUser(ctx context.Context, cloud Cloud, t *whv1.Tenant) error {
	if needed, err := r.needsIdentity(ctx, t); err != nil || !needed {
		return err
	}
	if t.Status.ServiceUserID != "" {
		_, err := r.Access.IdentityStore(ctx, r.APIReader, t)
		if !apierrors.IsNotFound(err) {
			return err
		}
		// The store was deleted by hand: a new password, set on the same user below.
		ctrl.LoggerFrom(ctx).Info("identity store missing; giving the service user a new password", "user", t.Status.ServiceUserID)
	}
	store, err := r.Access.EnsureIdentityStore(ctx, r.APIReader, r.Client, t)
	if err != nil {
		return err
	}
	id, err := cloud.EnsureServiceUser(ctx, openstack.ServiceUser{
		ID:          t.Status.ServiceUserID,
		Name:        access.ServiceUserName(t.Status.ProjectID),
		DomainID:    t.Status.DomainID,
		ProjectID:   t.Status.ProjectID,
		Password:    string(store.Data[access.StorePasswordKey]),
		Description: fmt.Sprintf("whitehall-operator: acts inside project %s for Tenant %s/%s", t.Status.ProjectID, t.Namespace, t.Name),
	})
	if err != nil {
		return err
	}
	t.Status.ServiceUserID = id
	return nil
}

// serviceUserRoles are the roles the service user is granted on the project: what the
// operator needs, and what the department's application credential may carry.
func serviceUserRoles(t *whv1.Tenant) []string {
	roles := []string{access.ProjectUserRole}
	if ac := t.Spec.ApplicationCredential; ac != nil {
		roles = append(roles, ac.Roles...)
	}
	return roles
}

// deleteIdentity deletes the service user (Keystone deletes its application
// credentials with it) and the identity store.
func (r *Reconciler) deleteIdentity(ctx context.Context, cloud Cloud, t *whv1.Tenant) error {
	if t.Status.ServiceUserID != "" {
		if err := cloud.DeleteUser(ctx, t.Status.ServiceUserID); err != nil {
			return err
		}
	}
	store := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: r.Access.OperatorNamespace, Name: access.IdentityStoreName(t)}}
	return client.IgnoreNotFound(r.Delete(ctx, store))
}
