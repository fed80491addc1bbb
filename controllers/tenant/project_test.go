package tenant

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"
)

func TestDefaultProjectName(t *testing.T) {
	tenant := func(ns, name string, edit ...func(*whv1.Tenant)) *whv1.Tenant {
		t := &whv1.Tenant{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
		for _, e := range edit {
			e(t)
		}
		return t
	}
	cases := []struct {
		reason string
		tenant *whv1.Tenant
		want   string
	}{
		{"namespace, then the Tenant", tenant("dwp", "universal-credit"), "dwp_universal-credit"},
		{"the other side of the old collision", tenant("dwp-universal", "credit"), "dwp-universal_credit"},
		{"a project recorded under the old default keeps its name", tenant("dwp", "universal-credit",
			func(t *whv1.Tenant) { t.Status.ProjectName = "dwp-universal-credit" }), "dwp-universal-credit"},
		{"spec.project.name wins", tenant("dwp", "universal-credit",
			func(t *whv1.Tenant) { t.Spec.Project.Name = ptr.To("uc") }), "uc"},
	}
	for _, tc := range cases {
		t.Run(tc.reason, func(t *testing.T) {
			if got := tc.tenant.ProjectName(); got != tc.want {
				t.Errorf("ProjectName() = %q, want %q", got, tc.want)
			}
		})
	}
	if a, b := tenant("dwp-universal", "credit"), tenant("dwp", "universal-credit"); a.LegacyProjectName() != b.LegacyProjectName() {
		t.Errorf("the old default no longer collides: %q, %q (the legacy name must stay what it was)", a.LegacyProjectName(), b.LegacyProjectName())
	}
}

func TestForeignFinalizers(t *testing.T) {
	env := &whv1.TestEnvironment{ObjectMeta: metav1.ObjectMeta{Finalizers: []string{"example.org/backup", whv1.TestEnvironmentFinalizer, "x/y"}}}
	if diff := cmp.Diff([]string{"example.org/backup", "x/y"}, foreignFinalizers(env, whv1.TestEnvironmentFinalizer)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
