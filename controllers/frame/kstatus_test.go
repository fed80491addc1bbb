package frame

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"
	"github.com/whitehall-cloud/whitehall-operator/internal/openstack"
)

// cond is a condition as the tests compare it: type, status, reason.
type cond = conditionState

// kstatusOf is what kstatus (Flux's health checks) reads from conditions written for
// generation, with status.observedGeneration observed.
func kstatusOf(t *testing.T, conditions []metav1.Condition, generation, observed int64) status.Status {
	t.Helper()
	obj := &whv1.Tenant{
		TypeMeta:   metav1.TypeMeta{APIVersion: whv1.GroupVersion.String(), Kind: "Tenant"},
		ObjectMeta: metav1.ObjectMeta{Name: "t", Namespace: "ns", Generation: generation},
	}
	obj.Status.Conditions = conditions
	obj.Status.ObservedGeneration = observed
	content, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		t.Fatal(err)
	}
	res, err := status.Compute(&unstructured.Unstructured{Object: content})
	if err != nil {
		t.Fatal(err)
	}
	return res.Status
}

// TestApplyConditionsForKstatus: every outcome writes the conditions kstatus reads, for
// kinds with and without Progressing, and an outcome replaces the last one's
// Reconciling or Stalled rather than adding to it.
func TestApplyConditionsForKstatus(t *testing.T) {
	iv := Intervals{Resync: time.Hour, Dependency: time.Minute, Blocked: 30 * time.Second}
	ready := classify(nil, "ok", iv)
	building := outcome{reason: "ServersBuilding", message: "2 of 3", progressing: true}
	missing := classify(openstack.ErrNotFound, "", iv)
	specErr := classify(NewSpecError(whv1.ReasonInvalidConfiguration, "bad"), "", iv)
	refused := classify(errors.New("forbidden"), "", iv)
	cases := []struct {
		name            string
		before          []outcome // written first, in order
		o               outcome
		withProgressing bool
		want            []cond
		wantKstatus     status.Status
	}{
		{"ready", nil, ready, true,
			[]cond{{"Ready", "True", "Ready"}, {"Progressing", "False", "Ready"}}, status.CurrentStatus},
		{"building", nil, building, true,
			[]cond{{"Ready", "False", "ServersBuilding"}, {"Progressing", "True", "ServersBuilding"}, {"Reconciling", "True", "ServersBuilding"}},
			status.InProgressStatus},
		{"a missing dependency is progress", nil, missing, true,
			[]cond{{"Ready", "False", "DependencyNotFound"}, {"Progressing", "True", "DependencyNotFound"}, {"Reconciling", "True", "DependencyNotFound"}},
			status.InProgressStatus},
		{"a spec error stalls", nil, specErr, true,
			[]cond{{"Ready", "False", "InvalidConfiguration"}, {"Progressing", "False", "InvalidConfiguration"}, {"Stalled", "True", "InvalidConfiguration"}},
			status.FailedStatus},
		{"a refusal stalls", nil, refused, true,
			[]cond{{"Ready", "False", "CloudRefused"}, {"Progressing", "False", "CloudRefused"}, {"Stalled", "True", "CloudRefused"}},
			status.FailedStatus},
		{"building, then ready: Reconciling goes", []outcome{building}, ready, true,
			[]cond{{"Ready", "True", "Ready"}, {"Progressing", "False", "Ready"}}, status.CurrentStatus},
		{"failed, then ready: Stalled goes", []outcome{specErr}, ready, true,
			[]cond{{"Ready", "True", "Ready"}, {"Progressing", "False", "Ready"}}, status.CurrentStatus},
		{"failed, then building: Stalled goes", []outcome{specErr}, building, true,
			[]cond{{"Ready", "False", "ServersBuilding"}, {"Progressing", "True", "ServersBuilding"}, {"Reconciling", "True", "ServersBuilding"}},
			status.InProgressStatus},
		{"building, then failed: Reconciling goes", []outcome{building}, specErr, true,
			[]cond{{"Ready", "False", "InvalidConfiguration"}, {"Progressing", "False", "InvalidConfiguration"}, {"Stalled", "True", "InvalidConfiguration"}},
			status.FailedStatus},
		{"no Progressing: ready", nil, ready, false,
			[]cond{{"Ready", "True", "Ready"}}, status.CurrentStatus},
		{"no Progressing: a spec error still stalls", nil, specErr, false,
			[]cond{{"Ready", "False", "InvalidConfiguration"}, {"Stalled", "True", "InvalidConfiguration"}}, status.FailedStatus},
		{"no Progressing: a missing dependency is still progress", nil, missing, false,
			[]cond{{"Ready", "False", "DependencyNotFound"}, {"Reconciling", "True", "DependencyNotFound"}}, status.InProgressStatus},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var cs []metav1.Condition
			for _, b := range tc.before {
				b.apply(&cs, 1, tc.withProgressing)
			}
			tc.o.apply(&cs, 2, tc.withProgressing)
			if diff := cmp.Diff(tc.want, ConditionStates(cs), cmpopts.SortSlices(func(a, b cond) bool { return a.Type < b.Type })); diff != "" {
				t.Errorf("conditions (-want +got):\n%s", diff)
			}
			for _, c := range cs {
				if c.ObservedGeneration != 2 {
					t.Errorf("%s written for generation %d; want 2", c.Type, c.ObservedGeneration)
				}
			}
			if got := kstatusOf(t, cs, 2, 2); got != tc.wantKstatus {
				t.Errorf("kstatus = %s; want %s", got, tc.wantKstatus)
			}
			// A spec the controller has not seen yet is in progress, whatever the conditions say.
			if got := kstatusOf(t, cs, 3, 2); got != status.InProgressStatus {
				t.Errorf("kstatus with a stale generation = %s; want %s", got, status.InProgressStatus)
			}
		})
	}
}

// TestStalledMessageIsBounded: Stalled and Reconciling carry Ready's bounded message.
func TestStalledMessageIsBounded(t *testing.T) {
	long := strings.Repeat("x", 3*maxConditionMessage)
	for _, o := range []outcome{{reason: "R", message: long}, {reason: "R", message: long, progressing: true}} {
		var cs []metav1.Condition
		o.apply(&cs, 1, true)
		for _, c := range cs {
			if c.Message != BoundedMessage(long) {
				t.Errorf("%s message is %d characters; want the bounded %d", c.Type, len(c.Message), len(BoundedMessage(long)))
			}
		}
	}
}
