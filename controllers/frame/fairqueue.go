package frame

import (
	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/whitehall-cloud/whitehall-operator/internal/roundrobin"
)

// Each namespaced kind's work queue hands its objects out by namespace in turn, as the
// cloud's rate limiter hands out its tokens: a department with thousands of objects to
// reconcile (a restart, a Cloud's change) delays another department's one object by at
// most one object per namespace waiting, not by its whole backlog.
//
// controller-runtime's default priority queue orders by priority, then by arrival: one
// namespace's backlog goes first in full. client-go's queue lets its order be replaced
// (workqueue.Queue) while it keeps what a controller relies on: an object queued once
// however often it is added, never handed to two workers at once, delays and per-object
// back-off, and the workqueue metrics.

// NewFairQueue is controller.Options.NewQueue for a namespaced kind.
func NewFairQueue(name string, limiter workqueue.TypedRateLimiter[reconcile.Request]) workqueue.TypedRateLimitingInterface[reconcile.Request] {
	queue := workqueue.NewTypedWithConfig(workqueue.TypedQueueConfig[reconcile.Request]{Name: name, Queue: &namespaceTurns{}})
	delaying := workqueue.NewTypedDelayingQueueWithConfig(workqueue.TypedDelayingQueueConfig[reconcile.Request]{Name: name, Queue: queue})
	return workqueue.NewTypedRateLimitingQueueWithConfig(limiter, workqueue.TypedRateLimitingQueueConfig[reconcile.Request]{
		Name: name, DelayingQueue: delaying,
	})
}

// namespaceTurns is the order of a work queue: each namespace's requests in the order
// they came, the namespaces in turn. client-go calls it under the queue's lock, with
// each request at most once in it.
type namespaceTurns struct {
	queues roundrobin.Queues[string, reconcile.Request]
}

var _ workqueue.Queue[reconcile.Request] = (*namespaceTurns)(nil)

// Touch is a request added again while it waits: it keeps its place.
func (q *namespaceTurns) Touch(reconcile.Request) {}

func (q *namespaceTurns) Push(req reconcile.Request) { q.queues.Push(req.Namespace, req) }

func (q *namespaceTurns) Len() int { return q.queues.Len() }

// Pop is only called when Len is above zero.
func (q *namespaceTurns) Pop() reconcile.Request {
	req, _ := q.queues.Pop()
	return req
}
