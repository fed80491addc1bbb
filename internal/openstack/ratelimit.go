package openstack

import (
	"net/http"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// RateLimit bounds the requests the operator sends to one cloud.
type RateLimit struct {
	// QPS is the steady rate; zero or less means no limit.
	QPS float64
	// Burst is how many requests may go at once above the steady rate.
	Burst int
}

// limitedTransport holds requests to one cloud to a token bucket, and stops every
// request for as long as the cloud said in a Retry-After header of a 429 or 503.
type limitedTransport struct {
	next    http.RoundTripper
	limiter *rate.Limiter

	mu     sync.Mutex
	paused time.Time // no request before this instant
}

func newLimitedTransport(next http.RoundTripper, l RateLimit) *limitedTransport {
	limit, burst := rate.Inf, 1
	if l.QPS > 0 {
		limit, burst = rate.Limit(l.QPS), max(l.Burst, 1)
	}
	return &limitedTransport{next: next, limiter: rate.NewLimiter(limit, burst)}
}

func (t *limitedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	t.mu.Lock()
	wait := time.Until(t.paused)
	t.mu.Unlock()
	if wait > 0 {
		timer := time.NewTimer(wait)
		select {
		case <-req.Context().Done():
			timer.Stop()
			return nil, req.Context().Err()
		case <-timer.C:
		}
	}
	if err := t.limiter.Wait(req.Context()); err != nil {
		return nil, err
	}
	resp, err := t.next.RoundTrip(req)
	if err == nil && (resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable) {
		t.pauseFor(resp.Header.Get("Retry-After"))
	}
	return resp, err
}

// pauseFor stops requests for the Retry-After the cloud gave (seconds or an HTTP date),
// at most a minute.
func (t *limitedTransport) pauseFor(retryAfter string) {
	if retryAfter == "" {
		return
	}
	var until time.Time
	if d, ok := parseRetryAfter(retryAfter); ok {
		until = time.Now().Add(min(d, time.Minute))
	} else {
		return
	}
	t.mu.Lock()
	if until.After(t.paused) {
		t.paused = until
	}
	t.mu.Unlock()
}
