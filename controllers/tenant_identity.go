package controllers

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"
	"github.com/whitehall-cloud/whitehall-operator/internal/openstack"
)

// A project's identity: the Keystone user the operator acts as inside the project (and
// whose application credentials the department gets). Its password, and the current
// application credential's secret, live in a Secret of the operator's own namespace,
// the identity store: never in a department's namespace, never in status.

// ProjectUserRole is the role the service user holds so the operator can boot servers.
const ProjectUserRole = "member"

// Keys of the identity store.
const (
	StorePasswordKey  = "password"
	StoreAppCredIDKey = "applicationCredentialID"
	StoreAppCredKey   = "applicationCredentialSecret"
)

// Labels on the Secrets the operator writes; the cache holds only Secrets of the
// operator's namespace and, elsewhere, those carrying ManagedByLabel.
const (
	ManagedByLabel       = "app.kubernetes.io/managed-by"
	ManagedByValue       = "whitehall-operator"
	TenantNamespaceLabel = "whitehall.cloud/tenant-namespace"
	TenantNameLabel      = "whitehall.cloud/tenant"
)

// IdentityStoreName is the identity store of a Tenant, by UID: a Tenant recreated with
// the same name never inherits another's identity.
func IdentityStoreName(t *whv1.Tenant) string { return "whitehall-tenant-" + string(t.UID) }

// ServiceUserName is the project's service user in Keystone.
func ServiceUserName(projectID string) string { return "whitehall-project-" + projectID }

// IdentityStore reads the Tenant's identity store with r.
func (a Access) IdentityStore(ctx context.Context, r client.Reader, t *whv1.Tenant) (*corev1.Secret, error) {
	store := &corev1.Secret{}
	return store, r.Get(ctx, client.ObjectKey{Namespace: a.OperatorNamespace, Name: IdentityStoreName(t)}, store)
}

// EnsureIdentityStore reads the identity store, making it (with a new password) when it
// does not exist. It is written before the user is made, so a crash between the two
// never loses the password.
func (a Access) EnsureIdentityStore(ctx context.Context, r client.Reader, w client.Writer, t *whv1.Tenant) (*corev1.Secret, error) {
	store, err := a.IdentityStore(ctx, r, t)
	if !apierrors.IsNotFound(err) {
		return store, err
	}
	password, err := RandomPassword()
	if err != nil {
		return nil, err
	}
	store = &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: a.OperatorNamespace, Name: IdentityStoreName(t),
			Labels: map[string]string{ManagedByLabel: ManagedByValue, TenantNamespaceLabel: t.Namespace, TenantNameLabel: t.Name},
		},
		Data: map[string][]byte{StorePasswordKey: []byte(password)},
	}
	if err := w.Create(ctx, store); err != nil {
		return nil, err
	}
	return store, nil
}

// ProjectUser is how the operator logs in to the Tenant's project as its service user,
// with the identity store (read with r) it comes from.
func (a Access) ProjectUser(ctx context.Context, r client.Reader, t *whv1.Tenant) (openstack.ProjectUser, *corev1.Secret, error) {
	notYet := NewSpecError(whv1.ReasonTenantNotReady, fmt.Sprintf("Tenant %q has no project identity yet", t.Name))
	if t.Status.ProjectID == "" || t.Status.ServiceUserID == "" {
		return openstack.ProjectUser{}, nil, notYet
	}
	store, err := a.IdentityStore(ctx, r, t)
	if apierrors.IsNotFound(err) {
		return openstack.ProjectUser{}, nil, notYet
	}
	if err != nil {
		return openstack.ProjectUser{}, nil, err
	}
	return openstack.ProjectUser{UserID: t.Status.ServiceUserID, Password: string(store.Data[StorePasswordKey]), ProjectID: t.Status.ProjectID}, store, nil
}

// needsIdentity reports whether the project needs its service user: for the
// department's application credential, or for TestEnvironments to boot servers with. A
// project that needs neither gets no Keystone user (and costs no call for one).
func (r *TenantReconciler) needsIdentity(ctx context.Context, t *whv1.Tenant) (bool, error) {
	if t.Spec.ApplicationCredential != nil || t.Status.ServiceUserID != "" {
		return true, nil
	}
	var envs whv1.TestEnvironmentList
	if err := r.List(ctx, &envs, client.InNamespace(t.Namespace), client.MatchingFields{TenantRefIndex: t.Name}); err != nil {
		return false, err
	}
	return len(envs.Items) > 0, nil
}

// reconcileServiceUser makes sure the project has its service user when it needs one.
// It is looked for only while status does not name it: an unchanged Tenant costs no
// OpenStack call here.
func (r *TenantReconciler) reconcileServiceUser(ctx context.Context, cloud TenantCloud, t *whv1.Tenant) error {
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
		Name:        ServiceUserName(t.Status.ProjectID),
		DomainID:    t.Status.DomainID,
		ProjectID:   t.Status.ProjectID,
		Password:    string(store.Data[StorePasswordKey]),
		Description: fmt.Sprintf("whitehall-operator: acts inside project %s for Tenant %s/%s", t.Status.ProjectID, t.Namespace, t.Name),
	})
	if err != nil {
		return err
	}
	t.Status.ServiceUserID = id
	return nil
}

// serviceUserRoles are the roles the service user holds on the project: what the
// operator needs, and what the department's application credential may carry.
func serviceUserRoles(t *whv1.Tenant) []string {
	roles := []string{ProjectUserRole}
	if ac := t.Spec.ApplicationCredential; ac != nil {
		roles = append(roles, ac.Roles...)
	}
	return roles
}

// deleteIdentity deletes the service user (Keystone deletes its application
// credentials with it) and the identity store.
func (r *TenantReconciler) deleteIdentity(ctx context.Context, cloud TenantCloud, t *whv1.Tenant) error {
	if t.Status.ServiceUserID != "" {
		if err := cloud.DeleteUser(ctx, t.Status.ServiceUserID); err != nil {
			return err
		}
	}
	store := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: r.Access.OperatorNamespace, Name: IdentityStoreName(t)}}
	return client.IgnoreNotFound(r.Delete(ctx, store))
}

func RandomPassword() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}
