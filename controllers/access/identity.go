package access

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"

	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/whitehall-cloud/whitehall-operator/controllers/frame"
	"github.com/whitehall-cloud/whitehall-operator/internal/openstack"
)

// ProjectUserRole is the role the service user is granted so the operator can boot servers.
const ProjectUserRole = "member"

// Keys of the identity store.
const (
	StorePasswordKey  = "password"
	StoreAppCredIDKey = "applicationCredentialID"
	StoreAppCredKey   = "applicationCredentialSecret"
)

// Labels on the Secrets the operator writes; the cache has only Secrets of the
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
	notYet := frame.NewWaitingError(whv1.ReasonTenantNotReady, fmt.Sprintf("Tenant %q has no project identity yet", t.Name))
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

func RandomPassword() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}
