package frame

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"
)

func TestStartDelay(t *testing.T) {
	now := time.Date(2027, 1, 31, 12, 0, 0, 0, time.UTC)
	const resync = 10 * time.Minute
	tenant := func(lastSync time.Duration, ready metav1.ConditionStatus, observed int64, edit ...func(*whv1.Tenant)) *whv1.Tenant {
		t := &whv1.Tenant{ObjectMeta: metav1.ObjectMeta{Name: "sa", Namespace: "hmrc", Generation: 2}}
		if lastSync >= 0 {
			t.Status.LastSyncTime = &metav1.Time{Time: now.Add(-lastSync)}
		}
		t.Status.Conditions = []metav1.Condition{{Type: whv1.ConditionReady, Status: ready, ObservedGeneration: observed}}
		for _, e := range edit {
			e(t)
		}
		return t
	}
	cases := []struct {
		reason   string
		obj      *whv1.Tenant
		deferred bool
		min, max time.Duration
	}{
		{"read 2 minutes ago: before a resync after that read", tenant(2*time.Minute, metav1.ConditionTrue, 2), true, 0, 8 * time.Minute},
		{"read longer ago than a period: within the next one", tenant(time.Hour, metav1.ConditionTrue, 2), true, 0, resync},
		{"never read in full: at once", tenant(-1, metav1.ConditionTrue, 2), false, 0, 0},
		{"not Ready: at once", tenant(time.Minute, metav1.ConditionFalse, 2), false, 0, 0},
		{"the spec changed since: at once", tenant(time.Minute, metav1.ConditionTrue, 1), false, 0, 0},
		{"being deleted: at once", tenant(time.Minute, metav1.ConditionTrue, 2, func(t *whv1.Tenant) {
			t.DeletionTimestamp = &metav1.Time{Time: now}
		}), false, 0, 0},
	}
	for _, tc := range cases {
		for range 20 { // the delay is random: every draw within bounds
			d, ok := StartDelay(tc.obj, resync, now)
			if ok != tc.deferred || d < tc.min || d > tc.max {
				t.Fatalf("%s: StartDelay = %s, %v; want deferred=%v within [%s, %s]", tc.reason, d, ok, tc.deferred, tc.min, tc.max)
			}
		}
	}
	if _, ok := StartDelay(tenant(time.Minute, metav1.ConditionTrue, 2), 0, now); ok {
		t.Errorf("no resync period: nothing is deferred")
	}
	if _, ok := StartDelay(&whv1.Cloud{}, resync, now); ok {
		t.Errorf("a kind without lastSyncTime is never deferred")
	}
}

// TestSpreadStartQueuesAfterTheDelay checks the pair a controller uses: the predicate
// drops every create, and the handler queues a new object at once and a synced one
// after its delay, deciding each once.
func TestSpreadStartQueuesAfterTheDelay(t *testing.T) {
	synced := func(name string, lastSync time.Time) *whv1.Tenant {
		o := &whv1.Tenant{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "hmrc", Generation: 1}}
		o.Status.LastSyncTime = &metav1.Time{Time: lastSync}
		o.Status.Conditions = []metav1.Condition{{Type: whv1.ConditionReady, Status: metav1.ConditionTrue, ObservedGeneration: 1}}
		return o
	}
	fresh := &whv1.Tenant{ObjectMeta: metav1.ObjectMeta{Name: "new", Namespace: "hmrc", Generation: 1}}
	// Resyncing every 10 minutes, read a minute ago: due in up to nine. Resyncing every
	// second: due within one whatever the clock says, so the test sees it arrive.
	slow, fast := SpreadStart(10*time.Minute), SpreadStart(time.Second)
	later, soon := synced("later", time.Now().Add(-time.Minute)), synced("soon", time.Now())

	for _, o := range []*whv1.Tenant{fresh, later, soon} {
		if slow.Predicate.Create(event.CreateEvent{Object: o}) || fast.Predicate.Create(event.CreateEvent{Object: o}) {
			t.Errorf("the For predicate passed the create of %s: the handler queues every create", o.Name)
		}
	}
	q := workqueue.NewTypedRateLimitingQueue(workqueue.DefaultTypedControllerRateLimiter[reconcile.Request]())
	defer q.ShutDown()
	slow.Handler.Create(context.Background(), event.CreateEvent{Object: later}, q)
	slow.Handler.Create(context.Background(), event.CreateEvent{Object: fresh}, q)
	if n := q.Len(); n != 1 {
		t.Errorf("queued at once: %d request(s); want the new one alone", n)
	}
	fast.Handler.Create(context.Background(), event.CreateEvent{Object: soon}, q)
	if diff := cmp.Diff([]string{"new", "soon"}, takeNames(t, q, 2)); diff != "" {
		t.Errorf("the order queued (-want +got):\n%s", diff)
	}
}

// takeNames takes n requests from q, failing the test if they do not come within 5 s.
func takeNames(t *testing.T, q workqueue.TypedRateLimitingInterface[reconcile.Request], n int) []string {
	t.Helper()
	got := make(chan string, n)
	go func() {
		for range n {
			req, shutdown := q.Get()
			if shutdown {
				return
			}
			got <- req.Name
			q.Done(req)
		}
	}()
	var names []string
	timeout := time.After(5 * time.Second)
	for len(names) < n {
		select {
		case name := <-got:
			names = append(names, name)
		case <-timeout:
			t.Fatalf("queued within 5 s: %v; want %d", names, n)
		}
	}
	return names
}

// TestLaterEventsDropsTheFirstList checks that a dependent watch passes on an object
// created while the operator runs, and every update and delete, but not the creates of
// its cache's first list (each object's own watch looks at it, spread).
func TestLaterEventsDropsTheFirstList(t *testing.T) {
	p := LaterEvents()
	ns := &corev1.Namespace{}
	got := map[string]bool{
		"first list":    p.Create(event.CreateEvent{Object: ns, IsInInitialList: true}),
		"created later": p.Create(event.CreateEvent{Object: ns}),
		"update":        p.Update(event.UpdateEvent{ObjectOld: ns, ObjectNew: ns}),
		"delete":        p.Delete(event.DeleteEvent{Object: ns}),
	}
	want := map[string]bool{"first list": false, "created later": true, "update": true, "delete": true}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
