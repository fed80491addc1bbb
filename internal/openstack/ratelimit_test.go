package openstack

import (
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

func TestLimitedTransportHonoursRetryAfter(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if calls.Add(1) == 1 {
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	defer srv.Close()
	tr := newLimitedTransport(http.DefaultTransport, RateLimit{})

	do := func() int {
		req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
		resp, err := tr.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		return resp.StatusCode
	}
	if code := do(); code != http.StatusTooManyRequests {
		t.Fatalf("first answer %d, want 429", code)
	}
	start := time.Now()
	if code := do(); code != http.StatusOK {
		t.Fatalf("second answer %d, want 200", code)
	}
	if waited := time.Since(start); waited < 900*time.Millisecond {
		t.Errorf("the next request went after %v; the cloud asked for 1 s", waited)
	}
}

func TestLimitedTransportBoundsTheRate(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	defer srv.Close()
	tr := newLimitedTransport(http.DefaultTransport, RateLimit{QPS: 20, Burst: 1})
	start := time.Now()
	for range 6 {
		req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
		resp, err := tr.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
	}
	// 6 requests at 20/s with a burst of 1 take at least 5 intervals of 50 ms.
	if took := time.Since(start); took < 240*time.Millisecond {
		t.Errorf("6 requests took %v; a 20 QPS limit needs at least 250 ms", took)
	}
}
