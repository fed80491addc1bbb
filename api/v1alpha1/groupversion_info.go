// Package v1alpha1 holds the whitehall.cloud/v1alpha1 API: department tenants,
// compute quotas, peak seasons and elastic test environments on OpenStack.
//
// +kubebuilder:object:generate=true
// +groupName=whitehall.cloud
package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

var (
	// GroupVersion is the group and version of every kind in this package.
	GroupVersion = schema.GroupVersion{Group: "whitehall.cloud", Version: "v1alpha1"}

	// SchemeBuilder registers the kinds of this package with a runtime.Scheme.
	SchemeBuilder = &schemeBuilder{}

	// AddToScheme adds the kinds of this package to a runtime.Scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)

// schemeBuilder registers kinds with apimachinery's SchemeBuilder, as controller-runtime's
// deprecated scheme.Builder did, without making API packages import controller-runtime.
type schemeBuilder struct{ runtime.SchemeBuilder }

// Register adds the kinds of objs to the group version when the scheme is built.
func (b *schemeBuilder) Register(objs ...runtime.Object) {
	b.SchemeBuilder.Register(func(s *runtime.Scheme) error {
		s.AddKnownTypes(GroupVersion, objs...)
		metav1.AddToGroupVersion(s, GroupVersion)
		return nil
	})
}
