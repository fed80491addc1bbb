package frame

import (
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
)

func request(namespace, name string) reconcile.Request {
	return reconcile.Request{NamespacedName: types.NamespacedName{Namespace: namespace, Name: name}}
}

func testQueue(t *testing.T) workqueue.TypedRateLimitingInterface[reconcile.Request] {
	t.Helper()
	q := NewFairQueue("", workqueue.NewTypedItemExponentialFailureRateLimiter[reconcile.Request](time.Millisecond, time.Second))
	t.Cleanup(q.ShutDown)
	return q
}

// get takes the next request, failing the test rather than blocking.
func get(t *testing.T, q workqueue.TypedRateLimitingInterface[reconcile.Request]) reconcile.Request {
	t.Helper()
	if q.Len() == 0 {
		t.Fatal("the queue is empty")
	}
	req, shutdown := q.Get()
	if shutdown {
		t.Fatal("the queue shut down")
	}
	return req
}

func TestFairQueueServesALoneNamespaceWithinTheFirstGets(t *testing.T) {
	q := testQueue(t)
	for i := range 1000 {
		q.Add(request("flood", fmt.Sprintf("env-%d", i)))
	}
	q.Add(request("hmrc", "burst"))
	for gets := 1; gets <= 1001; gets++ {
		req := get(t, q)
		q.Done(req)
		if req.Namespace == "hmrc" {
			t.Logf("hmrc's one object came with Get %d of 1001", gets)
			if gets > 2 {
				t.Errorf("hmrc's one object came with Get %d, behind the flood; want within the first 2", gets)
			}
			return
		}
	}
	t.Fatal("hmrc's object never came")
}

func TestFairQueueTakesNamespacesInTurnAndEachInOrder(t *testing.T) {
	q := testQueue(t)
	for _, r := range []reconcile.Request{
		request("a", "1"), request("a", "2"), request("a", "3"), request("b", "1"), request("c", "1"), request("b", "2"),
	} {
		q.Add(r)
	}
	var order []string
	for q.Len() > 0 {
		req := get(t, q)
		q.Done(req)
		order = append(order, req.String())
	}
	want := []string{"a/1", "b/1", "c/1", "a/2", "b/2", "a/3"}
	if diff := cmp.Diff(want, order); diff != "" {
		t.Errorf("order of the Gets (-want +got):\n%s", diff)
	}
}

// The order is the only change: an object added twice is queued once, and one added
// while a worker has it waits for Done.
func TestFairQueueKeepsTheWorkqueueGuarantees(t *testing.T) {
	q := testQueue(t)
	q.Add(request("a", "1"))
	q.Add(request("a", "1"))
	if n := q.Len(); n != 1 {
		t.Fatalf("an object added twice is queued %d times", n)
	}
	req := get(t, q)
	q.Add(req)
	if n := q.Len(); n != 0 {
		t.Fatalf("an object added while a worker has it is queued at once (%d)", n)
	}
	q.Done(req)
	if n := q.Len(); n != 1 {
		t.Fatalf("after Done the object added meanwhile is queued %d times, want 1", n)
	}
	q.Done(get(t, q))
	q.AddAfter(request("b", "later"), 20*time.Millisecond)
	if req, _ := q.Get(); req != request("b", "later") {
		t.Errorf("after AddAfter Get() = %v", req)
	}
}
