package tenant

import (
	"crypto/sha256"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"
)

func TestRotationRequested(t *testing.T) {
	tenant := &whv1.Tenant{ObjectMeta: metav1.ObjectMeta{Name: "t", UID: "uid-t"}}
	owned := func(value string) *corev1.Secret {
		return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{
			Annotations:     map[string]string{whv1.RotateAnnotation: value},
			OwnerReferences: []metav1.OwnerReference{{Kind: "Tenant", Name: "t", UID: "uid-t", Controller: ptr.To(true)}},
		}}
	}
	foreign := owned("x")
	foreign.OwnerReferences = nil
	long := strings.Repeat("a", 64)
	for _, tc := range []struct {
		reason string
		secret *corev1.Secret
		want   string
	}{
		{"no Secret: nothing asked", nil, ""},
		{"a Secret this Tenant did not write is not the department's request", foreign, ""},
		{"a short value is kept as it is", owned("leaked-1"), "leaked-1"},
		{"63 characters still fit", owned(long[:63]), long[:63]},
		{"a longer value becomes its digest, within status's 71 characters", owned(long),
			fmt.Sprintf("sha256:%x", sha256.Sum256([]byte(long)))},
	} {
		got := rotationRequested(tenant, tc.secret)
		if len(got) > 71 {
			t.Errorf("%s: %d characters", tc.reason, len(got))
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.reason, diff)
		}
	}
}
