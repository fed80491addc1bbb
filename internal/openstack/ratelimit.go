package openstack

import (
	"context"
	"net/http"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/whitehall-cloud/whitehall-operator/internal/roundrobin"
)

// RateLimit bounds the requests the operator sends to one cloud.
type RateLimit struct {
	// QPS is the steady rate; zero or less means no limit.
	QPS float64
	// Burst is how many requests may go at once above the steady rate.
	Burst int
}

// maxPause is the longest a Retry-After pauses requests: a long one is retried sooner
// than asked.
const maxPause = time.Minute

// namespaceKey and serviceKey are the context keys of the namespace a request is made
// for and the service (compute, network…) it goes to.
type (
	namespaceKey struct{}
	serviceKey   struct{}
)

// WithNamespace returns ctx marked with the namespace of the object being reconciled
// ("" for cluster-scoped objects). A cloud's rate limiter serves the namespaces waiting
// for it in turn, so one department's burst of requests cannot hold up another's.
func WithNamespace(ctx context.Context, namespace string) context.Context {
	return context.WithValue(ctx, namespaceKey{}, namespace)
}

// namespaceOf is the namespace ctx was marked with, "" when none.
func namespaceOf(ctx context.Context) string {
	ns, _ := ctx.Value(namespaceKey{}).(string)
	return ns
}

// withService marks a request's context with the service its URL falls under.
func withService(ctx context.Context, service string) context.Context {
	return context.WithValue(ctx, serviceKey{}, service)
}

func serviceOf(ctx context.Context) string {
	s, _ := ctx.Value(serviceKey{}).(string)
	return s
}

// limitedTransport holds requests to one cloud to a token bucket shared fairly between
// namespaces, and pauses the requests a 429 or 503 with a Retry-After header was about,
// for as long as it said: never every request to the cloud.
//
// A 429 (too many requests) pauses the namespace that met it, at that service only:
// OpenStack's rate limits count per project or user, and each namespace reaches the cloud
// as its own project. Were the limit the whole cloud's, each other namespace meets it with
// one request of its own and pauses too. A 503 says the service itself is unavailable:
// every namespace's requests to that service pause; the other services go on.
type limitedTransport struct {
	next    http.RoundTripper
	limiter *fairLimiter // nil: no limit

	mu     sync.Mutex
	paused map[pauseScope]time.Time // no request of the scope before this instant
}

// pauseScope is what a Retry-After pauses: one namespace's requests to a service, or
// with all set every namespace's.
type pauseScope struct {
	service   string
	namespace string
	all       bool
}

func newLimitedTransport(next http.RoundTripper, l RateLimit) *limitedTransport {
	t := &limitedTransport{next: next, paused: map[pauseScope]time.Time{}}
	if l.QPS > 0 {
		t.limiter = newFairLimiter(rate.NewLimiter(rate.Limit(l.QPS), max(l.Burst, 1)).Wait)
	}
	return t
}

func (t *limitedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	service, namespace := serviceOf(ctx), namespaceOf(ctx)
	if wait := t.pausedFor(service, namespace); wait > 0 {
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil, ctx.Err()
		case <-timer.C:
		}
	}
	if t.limiter != nil {
		if err := t.limiter.wait(ctx, namespace); err != nil {
			return nil, err
		}
	}
	resp, err := t.next.RoundTrip(req)
	if err != nil {
		return resp, err
	}
	switch resp.StatusCode {
	case http.StatusTooManyRequests:
		t.pauseFor(pauseScope{service: service, namespace: namespace}, resp.Header.Get("Retry-After"))
	case http.StatusServiceUnavailable:
		t.pauseFor(pauseScope{service: service, all: true}, resp.Header.Get("Retry-After"))
	}
	return resp, nil
}

// pausedFor is how long requests of namespace to service must still wait.
func (t *limitedTransport) pausedFor(service, namespace string) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	until := t.paused[pauseScope{service: service, namespace: namespace}]
	if all := t.paused[pauseScope{service: service, all: true}]; all.After(until) {
		until = all
	}
	return time.Until(until)
}

// pauseFor pauses the scope for the Retry-After the cloud gave (seconds or an HTTP
// date), at most maxPause, and forgets pauses that have ended.
func (t *limitedTransport) pauseFor(scope pauseScope, retryAfter string) {
	now := time.Now()
	d, ok := parseRetryAfter(retryAfter, now)
	if !ok {
		return
	}
	until := now.Add(min(d, maxPause))
	t.mu.Lock()
	defer t.mu.Unlock()
	for s, end := range t.paused {
		if !end.After(now) {
			delete(t.paused, s)
		}
	}
	if until.After(t.paused[scope]) {
		t.paused[scope] = until
	}
}

// fairLimiter hands one cloud's tokens to the namespaces waiting for them in turn
// (round-robin): a namespace flooding the cloud delays another's next request by at most
// one token per namespace waiting, not by its whole backlog. Requests of one namespace
// go in the order they came.
//
// One request at a time holds the turn and waits for a token; when it has one it passes
// the turn to the oldest request of the next waiting namespace.
type fairLimiter struct {
	// take waits for one token of the bucket; only the holder of the turn calls it.
	take func(context.Context) error

	mu    sync.Mutex
	busy  bool                             // a request holds the turn
	queue roundrobin.Queues[string, *turn] // waiting requests by namespace
}

// turn is a request waiting for the turn.
type turn struct {
	namespace string
	granted   chan struct{} // closed when the request holds the turn
}

func newFairLimiter(take func(context.Context) error) *fairLimiter {
	return &fairLimiter{take: take}
}

// wait blocks until a request of namespace may go, or ctx ends.
func (l *fairLimiter) wait(ctx context.Context, namespace string) error {
	if t := l.enter(namespace); t != nil {
		select {
		case <-t.granted:
		case <-ctx.Done():
			if !l.cancel(t) {
				l.leave() // the turn came as ctx ended: pass it on
			}
			return ctx.Err()
		}
	}
	defer l.leave()
	return l.take(ctx)
}

// enter takes the turn when nobody holds it (nil), or queues a request for it.
func (l *fairLimiter) enter(namespace string) *turn {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.busy {
		l.busy = true
		return nil
	}
	t := &turn{namespace: namespace, granted: make(chan struct{})}
	l.queue.Push(namespace, t)
	return t
}

// leave passes the turn to the oldest request of the next namespace in the ring.
func (l *fairLimiter) leave() {
	l.mu.Lock()
	defer l.mu.Unlock()
	t, ok := l.queue.Pop()
	if !ok {
		l.busy = false
		return
	}
	close(t.granted)
}

// cancel takes a request out of the queue; false when it already holds the turn.
func (l *fairLimiter) cancel(t *turn) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.queue.Remove(t.namespace, func(w *turn) bool { return w == t })
}

// waiting is how many requests wait for the turn.
func (l *fairLimiter) waiting() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.queue.Len()
}
