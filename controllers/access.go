package controllers

import (
	"context"
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/controller-runtime/pkg/client"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"
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
	// OperatorNamespace holds every Cloud's credentials and the project identities'
	// passwords.
	OperatorNamespace string
}

// cloudAccess is how one Tenant reaches OpenStack.
type cloudAccess struct {
	// ref names the admin credentials.
	ref openstack.CredentialsRef
	// protected projects no Tenant may import, change or delete (names or IDs).
	protected []string
	// cloudName is the cloud's name in the clouds.yaml a department gets.
	cloudName string
}

func (a cloudAccess) isProtected(p *openstack.Project) bool {
	return slices.Contains(a.protected, p.Name) || slices.Contains(a.protected, p.ID)
}

// forTenant resolves the credentials of a Tenant. With cleanup set, a Cloud that no longer
// admits the namespace still lets the Tenant remove what it created itself.
func (a Access) forTenant(ctx context.Context, t *whv1.Tenant, cleanup bool) (cloudAccess, error) {
	if ref := t.Spec.CloudCredentialsRef; ref != nil {
		return cloudAccess{
			ref:       openstack.CredentialsRef{Namespace: t.Namespace, SecretName: ref.SecretName, CloudName: ref.CloudName},
			protected: whv1.DefaultProtectedProjects,
			cloudName: ref.CloudName,
		}, nil
	}
	if t.Spec.CloudRef == nil {
		return cloudAccess{}, newSpecError(whv1.ReasonInvalidConfiguration, "neither spec.cloudRef nor spec.cloudCredentialsRef is set")
	}
	cloud, err := a.cloud(ctx, t.Spec.CloudRef.Name)
	if err != nil {
		return cloudAccess{}, err
	}
	if !cleanup {
		if err := a.admits(ctx, cloud, t.Namespace); err != nil {
			return cloudAccess{}, err
		}
	}
	protected := cloud.Spec.ProtectedProjects
	if protected == nil {
		protected = whv1.DefaultProtectedProjects
	}
	return cloudAccess{ref: a.cloudRef(cloud), protected: protected, cloudName: cloud.Name}, nil
}

// cloud returns the named Cloud, or a CloudNotFound error.
func (a Access) cloud(ctx context.Context, name string) (*whv1.Cloud, error) {
	cloud := &whv1.Cloud{}
	if err := a.Reader.Get(ctx, client.ObjectKey{Name: name}, cloud); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, newSpecError(whv1.ReasonCloudNotFound, fmt.Sprintf("Cloud %q does not exist", name))
		}
		return nil, err
	}
	return cloud, nil
}

// cloudRef is where a Cloud's admin credentials are: always the operator's namespace.
func (a Access) cloudRef(cloud *whv1.Cloud) openstack.CredentialsRef {
	return openstack.CredentialsRef{
		Namespace:  a.OperatorNamespace,
		SecretName: cloud.Spec.CredentialsSecretRef.Name,
		CloudName:  cloud.Spec.CredentialsSecretRef.CloudName,
	}
}

// admits reports, as a NamespaceNotAllowed error, a namespace the Cloud does not select.
func (a Access) admits(ctx context.Context, cloud *whv1.Cloud, namespace string) error {
	selector, err := metav1.LabelSelectorAsSelector(&cloud.Spec.NamespaceSelector)
	if err != nil {
		return newSpecError(whv1.ReasonNamespaceNotAllowed, fmt.Sprintf("Cloud %q has an invalid namespaceSelector: %v", cloud.Name, err))
	}
	ns := &corev1.Namespace{}
	if err := a.Reader.Get(ctx, client.ObjectKey{Name: namespace}, ns); err != nil {
		return err
	}
	if !selector.Matches(labels.Set(ns.Labels)) {
		return newSpecError(whv1.ReasonNamespaceNotAllowed, fmt.Sprintf(
			"Cloud %q does not admit namespace %s: its namespaceSelector (%s) does not select it; ask the platform team", cloud.Name, namespace, selector))
	}
	return nil
}
