package tenant

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"
	"github.com/whitehall-cloud/whitehall-operator/controllers/access"
)

// The credential Secrets' watch keeps of each Secret only what finds its Tenant.
func TestCredentialSecretsKeepOnlyTheirController(t *testing.T) {
	secret := &metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{
		Name: "openstack", Namespace: "hmrc", UID: "u", ResourceVersion: "7",
		Labels:      map[string]string{access.ManagedByLabel: access.ManagedByValue, "big": strings.Repeat("x", 63)},
		Annotations: map[string]string{"big": strings.Repeat("x", 200000)},
		OwnerReferences: []metav1.OwnerReference{
			{Kind: "Tenant", APIVersion: whv1.GroupVersion.String(), Name: "t", Controller: ptr.To(true)},
			{Kind: "Other", Name: "o"},
		},
		ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "kubectl"}},
	}}
	out, err := keepControllerOnly(secret)
	if err != nil {
		t.Fatal(err)
	}
	want := metav1.ObjectMeta{Name: "openstack", Namespace: "hmrc", UID: "u", ResourceVersion: "7",
		OwnerReferences: secret.OwnerReferences[:1]}
	if diff := cmp.Diff(want, out.(*metav1.PartialObjectMetadata).ObjectMeta); diff != "" {
		t.Errorf("keepControllerOnly (-want +got):\n%s", diff)
	}
}
