package access

import (
	"context"
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"

	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/whitehall-cloud/whitehall-operator/controllers/frame"
	"github.com/whitehall-cloud/whitehall-operator/internal/openstack"
)

// Access decides which credentials an object may use, and is the one place that does.
// A namespaced object reaches OpenStack only through its Tenant: either a Cloud whose
// namespaceSelector admits the Tenant's namespace (admin credentials in the operator's
// own namespace), or a Secret in the Tenant's own namespace. No reference can name
// another namespace.
type Access struct {
	// Reader reads Clouds, Namespaces and the operator's own Secrets.
	Reader client.Reader
	// OperatorNamespace has every Cloud's credentials and the project identities'
	// passwords.
	OperatorNamespace string
}

// CloudAccess is how one Tenant reaches OpenStack.
type CloudAccess struct {
	// Ref names the admin credentials.
	Ref openstack.CredentialsRef
	// Protected projects no Tenant may import, change or delete (names or IDs).
	Protected []string
	// CloudName is the cloud's name in the clouds.yaml a department gets.
	CloudName string
}

func (a CloudAccess) IsProtected(p *openstack.Project) bool {
	return slices.Contains(a.Protected, p.Name) || slices.Contains(a.Protected, p.ID)
}

// ForTenant resolves the credentials of a Tenant. With cleanup set, a Cloud that no longer
// admits the namespace still lets the Tenant remove what it created itself.
func (a Access) ForTenant(ctx context.Context, t *whv1.Tenant, cleanup bool) (CloudAccess, error) {
	if ref := t.Spec.CloudCredentialsRef; ref != nil {
		return CloudAccess{
			Ref:       openstack.CredentialsRef{Namespace: t.Namespace, SecretName: ref.SecretName, CloudName: ref.CloudName},
			Protected: whv1.DefaultProtectedProjects,
			CloudName: ref.CloudName,
		}, nil
	}
	if t.Spec.CloudRef == nil {
		return CloudAccess{}, frame.NewSpecError(whv1.ReasonInvalidConfiguration, "neither spec.cloudRef nor spec.cloudCredentialsRef is set")
	}
	cloud, err := a.Cloud(ctx, t.Spec.CloudRef.Name)
	if err != nil {
		return CloudAccess{}, err
	}
	if !cleanup {
		if err := a.Admits(ctx, cloud, t.Namespace); err != nil {
			return CloudAccess{}, err
		}
	}
	protected := cloud.Spec.ProtectedProjects
	if protected == nil {
		protected = whv1.DefaultProtectedProjects
	}
	return CloudAccess{Ref: a.CloudRef(cloud), Protected: protected, CloudName: cloud.Name}, nil
}

// Cloud returns the named Cloud, or a CloudNotFound error.
func (a Access) Cloud(ctx context.Context, name string) (*whv1.Cloud, error) {
	cloud := &whv1.Cloud{}
	if err := a.Reader.Get(ctx, client.ObjectKey{Name: name}, cloud); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, frame.NewSpecError(whv1.ReasonCloudNotFound, fmt.Sprintf("Cloud %q does not exist", name))
		}
		return nil, err
	}
	return cloud, nil
}

// CloudRef is where a Cloud's admin credentials are: always the operator's namespace.
func (a Access) CloudRef(cloud *whv1.Cloud) openstack.CredentialsRef {
	return openstack.CredentialsRef{
		Namespace:  a.OperatorNamespace,
		SecretName: cloud.Spec.CredentialsSecretRef.Name,
		CloudName:  cloud.Spec.CredentialsSecretRef.CloudName,
	}
}

// Admits reports, as a NamespaceNotAllowed error, a namespace the Cloud does not select.
func (a Access) Admits(ctx context.Context, cloud *whv1.Cloud, namespace string) error {
	selector, err := metav1.LabelSelectorAsSelector(&cloud.Spec.NamespaceSelector)
	if err != nil {
		return frame.NewSpecError(whv1.ReasonNamespaceNotAllowed, fmt.Sprintf("Cloud %q has an invalid namespaceSelector: %v", cloud.Name, err))
	}
	ns := &corev1.Namespace{}
	if err := a.Reader.Get(ctx, client.ObjectKey{Name: namespace}, ns); err != nil {
		return err
	}
	if !selector.Matches(labels.Set(ns.Labels)) {
		return frame.NewSpecError(whv1.ReasonNamespaceNotAllowed, fmt.Sprintf(
			"Cloud %q does not admit namespace %s: its namespaceSelector (%s) does not select it; ask the platform team", cloud.Name, namespace, selector))
	}
	return nil
}
