package tenant

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
	ctrl "sigs.k8s.io/controller-runtime"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"

	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	"github.com/whitehall-cloud/whitehall-operator/controllers/access"
	"github.com/whitehall-cloud/whitehall-operator/controllers/frame"
)

// credentialSecretSource watches the metadata of the Secrets the operator writes in the
// departments' namespaces, so a credential Secret deleted, edited or annotated for
// rotation wakes its Tenant at once. Only metadata is listed and each entry is cut to
// name, version and controller: a user who labels Secrets to look like the operator's
// costs a few hundred bytes each, never their data.
func credentialSecretSource(mgr ctrl.Manager, operatorNamespace string) (source.TypedSource[reconcile.Request], error) {
	ours, err := labels.NewRequirement(access.ManagedByLabel, selection.Equals, []string{access.ManagedByValue})
	if err != nil {
		return nil, err
	}
	named, err := labels.NewRequirement(access.TenantNameLabel, selection.Exists, nil)
	if err != nil {
		return nil, err
	}
	c, err := cache.New(mgr.GetConfig(), cache.Options{
		HTTPClient: mgr.GetHTTPClient(), Scheme: mgr.GetScheme(), Mapper: mgr.GetRESTMapper(),
		DefaultLabelSelector: labels.NewSelector().Add(*ours, *named),
		DefaultFieldSelector: fields.OneTermNotEqualSelector("metadata.namespace", operatorNamespace),
		DefaultTransform:     keepControllerOnly,
	})
	if err != nil {
		return nil, err
	}
	if err := mgr.Add(c); err != nil {
		return nil, err
	}
	return source.Kind(c, secretMetadata(), handler.TypedEnqueueRequestsFromMapFunc(tenantOfCredentialSecret),
		frame.LaterEventsOf[*metav1.PartialObjectMetadata]()), nil
}

func secretMetadata() *metav1.PartialObjectMetadata {
	m := &metav1.PartialObjectMetadata{}
	m.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Secret"))
	return m
}

// keepControllerOnly keeps of a Secret's metadata what finds its Tenant and tells a
// change: any change to the Secret changes its resourceVersion.
func keepControllerOnly(in any) (any, error) {
	m, ok := in.(*metav1.PartialObjectMetadata)
	if !ok {
		return in, nil
	}
	out := &metav1.PartialObjectMetadata{TypeMeta: m.TypeMeta, ObjectMeta: metav1.ObjectMeta{
		Name: m.Name, Namespace: m.Namespace, UID: m.UID, ResourceVersion: m.ResourceVersion,
		DeletionTimestamp: m.DeletionTimestamp,
	}}
	if owner := metav1.GetControllerOf(m); owner != nil {
		out.OwnerReferences = []metav1.OwnerReference{*owner}
	}
	return out, nil
}

// tenantOfCredentialSecret wakes the Tenant that controls a credential Secret.
func tenantOfCredentialSecret(_ context.Context, m *metav1.PartialObjectMetadata) []reconcile.Request {
	owner := metav1.GetControllerOf(m)
	if owner == nil || owner.Kind != "Tenant" || owner.APIVersion != whv1.GroupVersion.String() {
		return nil
	}
	return []reconcile.Request{{NamespacedName: client.ObjectKey{Namespace: m.Namespace, Name: owner.Name}}}
}
