package controllers

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"
)

func TestCachedObjectsDropWhatIsNeverRead(t *testing.T) {
	env := &whv1.TestEnvironment{ObjectMeta: metav1.ObjectMeta{
		Name:          "e",
		ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "kubectl"}},
		Annotations:   map[string]string{lastAppliedAnnotation: "{...}", "keep": "me"},
	}}
	out, err := stripUnread(env)
	if err != nil {
		t.Fatal(err)
	}
	got := out.(*whv1.TestEnvironment).ObjectMeta
	if diff := cmp.Diff(metav1.ObjectMeta{Name: "e", Annotations: map[string]string{"keep": "me"}}, got); diff != "" {
		t.Errorf("stripUnread (-want +got):\n%s", diff)
	}

}
