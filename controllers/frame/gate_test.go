package frame

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"
)

// refusing is a Gate that admits nothing.
type refusing struct {
	retry time.Duration
	asked []string
}

func (g *refusing) Enter(_ context.Context, namespace string) (func(), time.Duration, bool) {
	g.asked = append(g.asked, namespace)
	return nil, g.retry, false
}

// TestGateRefusesBeforeAnything: a request the gate refuses (another shard's namespace,
// or one not yet handed over) is not even read: the Kind has no client, so a read would
// panic.
func TestGateRefusesBeforeAnything(t *testing.T) {
	cases := []struct {
		reason string
		retry  time.Duration
		want   ctrl.Result
	}{
		{reason: "another shard's namespace: dropped", retry: 0, want: ctrl.Result{}},
		{reason: "not handed over yet: looked at again", retry: 2 * time.Second, want: ctrl.Result{RequeueAfter: 2 * time.Second}},
	}
	for _, c := range cases {
		gate := &refusing{retry: c.retry}
		ran := false
		got, err := Reconcile(context.Background(), ctrl.Request{NamespacedName: types.NamespacedName{Namespace: "dept", Name: "t"}}, &whv1.Tenant{},
			Kind[*whv1.Tenant]{Gate: gate, Reconcile: func(context.Context, *whv1.Tenant) (Step, error) { ran = true; return Step{}, nil }})
		if err != nil || ran {
			t.Errorf("%s: error %v, reconciled %v; want neither", c.reason, err, ran)
		}
		if diff := cmp.Diff(c.want, got); diff != "" {
			t.Errorf("%s: result (-want +got):\n%s", c.reason, diff)
		}
		if diff := cmp.Diff([]string{"dept"}, gate.asked); diff != "" {
			t.Errorf("%s: gate asked for (-want +got):\n%s", c.reason, diff)
		}
	}
}
