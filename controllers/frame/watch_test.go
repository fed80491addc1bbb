package frame

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/workqueue"
	clocktesting "k8s.io/utils/clock/testing"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
)

// A burst of events mapping to one object is one request, handled after the delay.
func TestEnqueueCoalesced(t *testing.T) {
	clock := clocktesting.NewFakeClock(time.Date(2027, 1, 31, 12, 0, 0, 0, time.UTC))
	q := workqueue.NewTypedRateLimitingQueueWithConfig(workqueue.DefaultTypedControllerRateLimiter[reconcile.Request](),
		workqueue.TypedRateLimitingQueueConfig[reconcile.Request]{Clock: clock})
	defer q.ShutDown()
	season := reconcile.Request{NamespacedName: client.ObjectKey{Name: "self-assessment"}}
	h := EnqueueCoalesced(func(context.Context, client.Object) []reconcile.Request { return []reconcile.Request{season} }, 2*time.Second)
	ctx := context.Background()
	for i := range 100 {
		o := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "dept", Name: string(rune('a' + i%26))}}
		h.Create(ctx, event.CreateEvent{Object: o}, q)
		h.Update(ctx, event.UpdateEvent{ObjectOld: o, ObjectNew: o}, q)
	}
	if got := q.Len(); got != 0 {
		t.Fatalf("before the delay: %d requests queued, want 0", got)
	}
	clock.Step(2 * time.Second)
	got := make(chan reconcile.Request, 1)
	go func() { r, _ := q.Get(); got <- r }()
	select {
	case r := <-got:
		if r != season {
			t.Fatalf("queued %v, want %v", r, season)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("nothing queued after the delay")
	}
	if n := q.Len(); n != 0 {
		t.Fatalf("%d more requests queued, want the 200 events as one", n)
	}
}
