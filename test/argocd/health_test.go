package argocd

import (
	"reflect"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"
)

// condition is one status condition in its JSON form.
func condition(t, s, reason, message string) map[string]any {
	return map[string]any{"type": t, "status": s, "reason": reason, "message": message,
		"lastTransitionTime": "2026-12-07T16:00:00Z", "observedGeneration": int64(2)}
}

// object is an object of kind in its JSON form, as the API server returns it: at
// generation, with status (nil: none written yet).
func object(kind string, generation int64, st map[string]any) map[string]any {
	o := map[string]any{
		"apiVersion": "whitehall.cloud/v1alpha1", "kind": kind,
		"metadata": map[string]any{"name": "hmrc", "namespace": "hmrc", "generation": generation},
	}
	if st != nil {
		o["status"] = st
	}
	return o
}

func conditions(observed int64, cs ...map[string]any) map[string]any {
	list := make([]any, 0, len(cs))
	for _, c := range cs {
		list = append(list, c)
	}
	return map[string]any{"observedGeneration": observed, "conditions": list}
}

// TestHealthChecks runs the documented Argo CD health check of every kind on objects in
// each state the operator writes, and checks it agrees with kstatus (Flux) where the two
// can agree.
func TestHealthChecks(t *testing.T) {
	cases := []struct {
		name        string
		generation  int64
		status      map[string]any
		want        string // Argo CD
		wantMessage string
		wantKstatus status.Status
	}{
		{"ready", 2, conditions(2,
			condition("Ready", "True", "Ready", "project p"), condition("Progressing", "False", "Ready", "project p")),
			"Healthy", "Ready: project p", status.CurrentStatus},
		{"building", 2, conditions(2,
			condition("Ready", "False", "ServersBuilding", "1 of 3 active"), condition("Progressing", "True", "ServersBuilding", "1 of 3 active"),
			condition("Reconciling", "True", "ServersBuilding", "1 of 3 active")),
			"Progressing", "ServersBuilding: 1 of 3 active", status.InProgressStatus},
		{"a dependency not there yet", 2, conditions(2,
			condition("Ready", "False", "DependencyNotFound", "group g"), condition("Reconciling", "True", "DependencyNotFound", "group g")),
			"Progressing", "DependencyNotFound: group g", status.InProgressStatus},
		{"failed, waiting for a change", 2, conditions(2,
			condition("Ready", "False", "NamespaceNotAllowed", "not selected"), condition("Progressing", "False", "NamespaceNotAllowed", "not selected"),
			condition("Stalled", "True", "NamespaceNotAllowed", "not selected")),
			"Degraded", "NamespaceNotAllowed: not selected", status.FailedStatus},
		{"a stale generation, however ready", 3, conditions(2,
			condition("Ready", "True", "Ready", "project p")),
			"Progressing", "Waiting for the operator to observe the spec", status.InProgressStatus},
		{"a stale generation, however failed", 3, conditions(2,
			condition("Ready", "False", "CloudRefused", "403"), condition("Stalled", "True", "CloudRefused", "403")),
			"Progressing", "Waiting for the operator to observe the spec", status.InProgressStatus},
		{"Ready False from an operator without Reconciling and Stalled", 2, conditions(2,
			condition("Ready", "False", "ServersBuilding", "1 of 3 active")),
			"Progressing", "ServersBuilding: 1 of 3 active", status.InProgressStatus},
		// kstatus cannot tell an empty status from a kind without one: Current.
		{"no status yet", 1, nil, "Progressing", "Waiting for the operator to observe the spec", status.CurrentStatus},
		{"observed, no conditions", 1, conditions(1), "Progressing", "Waiting for the Ready condition", status.CurrentStatus},
	}
	for _, kind := range Kinds {
		script, err := Script(kind)
		if err != nil {
			t.Fatal(err)
		}
		for _, tc := range cases {
			t.Run(kind+"/"+tc.name, func(t *testing.T) {
				obj := object(kind, tc.generation, tc.status)
				got, message, err := Health(script, obj)
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff([2]string{tc.want, tc.wantMessage}, [2]string{got, message}); diff != "" {
					t.Errorf("Argo CD health (-want +got):\n%s", diff)
				}
				res, err := status.Compute(&unstructured.Unstructured{Object: obj})
				if err != nil {
					t.Fatal(err)
				}
				if res.Status != tc.wantKstatus {
					t.Errorf("kstatus = %s; want %s", res.Status, tc.wantKstatus)
				}
			})
		}
	}
}

// TestEveryKindHasOneHealthCheck: argocd-cm names a health check for each kind of the
// API group that has conditions and for nothing else, so a new kind cannot be forgotten
// silently.
func TestEveryKindHasOneHealthCheck(t *testing.T) {
	cm, err := ConfigMap()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for key := range cm.Data {
		got = append(got, key)
	}
	scheme := runtime.NewScheme()
	if err := whv1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	var want []string
	for gvk, typ := range scheme.AllKnownTypes() {
		// The kinds with conditions; a UsageReport is a report the operator writes.
		_, conditioned := reflect.New(typ).Interface().(whv1.StatusObject)
		if gvk.Group == whv1.GroupVersion.Group && conditioned {
			want = append(want, keyPrefix+gvk.Kind)
		}
	}
	if diff := cmp.Diff(want, got, cmpopts.SortSlices(func(a, b string) bool { return a < b })); diff != "" {
		t.Errorf("argocd-cm keys (-want +got):\n%s", diff)
	}
}
