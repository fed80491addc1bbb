package openstack

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/time/rate"
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

// served passes the turn once and says which of the waiting requests got it.
func served(t *testing.T, l *fairLimiter, waiting map[*turn]string) string {
	t.Helper()
	l.leave()
	for w, name := range waiting {
		select {
		case <-w.granted:
			delete(waiting, w)
			return name
		default:
		}
	}
	t.Fatal("passing the turn granted it to no waiting request")
	return ""
}

func TestFairLimiterServesNamespacesInTurn(t *testing.T) {
	l := newFairLimiter(nil)
	if l.enter("flood") != nil {
		t.Fatal("the first request waited though nobody held the turn")
	}
	waiting := map[*turn]string{}
	for i := range 50 {
		waiting[l.enter("flood")] = fmt.Sprintf("flood-%d", i)
	}
	waiting[l.enter("season")] = "season"
	waiting[l.enter("other")] = "other"

	// The flood's 50 queued requests delay each other namespace by at most one token per
	// namespace waiting (3), not by 50.
	var order []string
	for range 3 {
		order = append(order, served(t, l, waiting))
	}
	if diff := cmp.Diff([]string{"flood-0", "season", "other"}, order); diff != "" {
		t.Errorf("order of the first three turns (-want +got):\n%s", diff)
	}
	// Then the flood has the cloud to itself, in the order its requests came.
	for i := 1; i < 50; i++ {
		if got, want := served(t, l, waiting), fmt.Sprintf("flood-%d", i); got != want {
			t.Fatalf("turn %d went to %s, want %s", i+3, got, want)
		}
	}
	l.leave()
	if l.busy || l.queue.Len() != 0 {
		t.Errorf("with nobody waiting the limiter is still busy %v, %d waiting", l.busy, l.queue.Len())
	}
}

func TestFairLimiterLateNamespaceWaitsOneRound(t *testing.T) {
	l := newFairLimiter(nil)
	l.enter("a")
	waiting := map[*turn]string{}
	for i := range 5 {
		waiting[l.enter("a")] = fmt.Sprintf("a-%d", i)
		waiting[l.enter("b")] = fmt.Sprintf("b-%d", i)
	}
	if got := []string{served(t, l, waiting), served(t, l, waiting), served(t, l, waiting)}; !slices.Equal(got, []string{"a-0", "b-0", "a-1"}) {
		t.Fatalf("first turns %v, want a-0 b-0 a-1", got)
	}
	// c arrives while a and b each have 3 requests left: it waits for b's and a's next
	// one at most.
	waiting[l.enter("c")] = "c"
	for turns := 1; ; turns++ {
		if served(t, l, waiting) == "c" {
			if turns > 3 {
				t.Errorf("c waited %d turns with 2 other namespaces waiting; want at most 3", turns)
			}
			break
		}
	}
}

func TestFairLimiterCancelledRequestLeavesTheQueue(t *testing.T) {
	l := newFairLimiter(func(context.Context) error { t.Fatal("a cancelled request took a token"); return nil })
	l.enter("holder")
	keep := l.enter("b")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := l.wait(ctx, "a"); !errors.Is(err, context.Canceled) {
		t.Fatalf("wait() = %v, want context.Canceled", err)
	}
	if n, keys := l.waiting(), l.queue.Keys(); n != 1 || !slices.Equal(keys, []string{"b"}) {
		t.Fatalf("after the cancel: %d waiting, ring %v; want b's request alone", n, keys)
	}
	l.leave()
	select {
	case <-keep.granted:
	default:
		t.Fatal("b's request did not get the turn")
	}
	if l.cancel(keep) {
		t.Error("cancel() of a request that holds the turn reported it removed")
	}
}

func TestFairLimiterWaitTakesOneTokenPerRequest(t *testing.T) {
	tokens := make(chan struct{})
	l := newFairLimiter(func(ctx context.Context) error {
		select {
		case <-tokens:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	})
	done := make(chan string)
	for _, ns := range []string{"a", "a", "a", "b"} {
		go func() {
			if err := l.wait(WithNamespace(context.Background(), ns), ns); err != nil {
				t.Error(err)
			}
			done <- ns
		}()
	}
	for range 4 {
		tokens <- struct{}{}
		<-done
	}
	select {
	case tokens <- struct{}{}:
		t.Fatal("a token was taken with nobody waiting")
	default:
	}
	if l.busy || l.waiting() != 0 {
		t.Errorf("after every request went: busy %v, %d waiting", l.busy, l.waiting())
	}
}

func TestNamespaceTravelsInTheContext(t *testing.T) {
	if got := namespaceOf(context.Background()); got != "" {
		t.Errorf("namespaceOf(Background) = %q, want \"\"", got)
	}
	if got := namespaceOf(WithNamespace(context.Background(), "hmrc")); got != "hmrc" {
		t.Errorf("namespaceOf(WithNamespace(hmrc)) = %q", got)
	}
}

// BenchmarkFairLimiter measures what the fair queue adds to a request when tokens are
// plentiful, with 8 namespaces sending at once.
func BenchmarkFairLimiter(b *testing.B) {
	l := newFairLimiter(rate.NewLimiter(rate.Inf, 1).Wait)
	var n atomic.Int32
	b.RunParallel(func(pb *testing.PB) {
		ctx := WithNamespace(context.Background(), fmt.Sprintf("ns-%d", n.Add(1)%8))
		ns := namespaceOf(ctx)
		for pb.Next() {
			if err := l.wait(ctx, ns); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkFairLimiterSerial is one namespace's requests one after another, each
// taking a real token of a bucket that never runs dry.
func BenchmarkFairLimiterSerial(b *testing.B) {
	l := newFairLimiter(rate.NewLimiter(rate.Limit(1e12), 1<<30).Wait)
	ctx := WithNamespace(context.Background(), "hmrc")
	for b.Loop() {
		if err := l.wait(ctx, "hmrc"); err != nil {
			b.Fatal(err)
		}
	}
}

func TestLimitedTransportTakesTheNamespaceFromTheRequest(t *testing.T) {
	arrived := make(chan string)
	srv := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) { arrived <- r.URL.Path }))
	defer srv.Close()
	tokens := make(chan struct{})
	tr := newLimitedTransport(http.DefaultTransport, RateLimit{})
	tr.limiter = newFairLimiter(func(context.Context) error { <-tokens; return nil })

	tr.limiter.enter("holder") // requests queue behind this one
	send := func(namespace string, waiting int) {
		go func() {
			req, _ := http.NewRequestWithContext(WithNamespace(context.Background(), namespace), http.MethodGet, srv.URL+"/"+namespace, nil)
			resp, err := tr.RoundTrip(req)
			if err != nil {
				t.Error(err)
				return
			}
			_ = resp.Body.Close()
		}()
		for tr.limiter.waiting() < waiting {
			runtime.Gosched()
		}
	}
	send("flood", 1)
	send("flood", 2)
	send("flood", 3)
	send("season", 4)
	tr.limiter.leave()

	var order []string
	for range 4 {
		tokens <- struct{}{}
		order = append(order, <-arrived)
	}
	if diff := cmp.Diff([]string{"/flood", "/season", "/flood", "/flood"}, order); diff != "" {
		t.Errorf("order the cloud saw (-want +got):\n%s", diff)
	}
}

// busyServer answers 429 or 503 with Retry-After: 30 to the first request on path
// /busy, and 200 to everything else.
func busyServer(t *testing.T, code int) *httptest.Server {
	t.Helper()
	var answered atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/busy" && !answered.Swap(true) {
			w.Header().Set("Retry-After", "30")
			w.WriteHeader(code)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// sendAs sends a request of namespace to service through tr, giving up after a
// second: it reports whether the request went, or was held back by a pause.
func sendAs(t *testing.T, tr http.RoundTripper, url, namespace, service string) bool {
	t.Helper()
	ctx, cancel := context.WithTimeout(withService(WithNamespace(context.Background(), namespace), service), time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := tr.RoundTrip(req)
	if errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	return true
}

func TestRetryAfterPausesOnlyWhatItWasAbout(t *testing.T) {
	type send struct{ namespace, service string }
	for _, tc := range []struct {
		reason string
		code   int
		// after hmrc's compute request met the code: which requests go at once.
		want map[send]bool
	}{{
		reason: "429: a per-project limit pauses hmrc's compute requests alone",
		code:   http.StatusTooManyRequests,
		want: map[send]bool{
			{"hmrc", "compute"}: false, {"hmrc", "network"}: true, {"dwp", "compute"}: true, {"", "compute"}: true,
		},
	}, {
		reason: "503: the compute service is unavailable to every namespace; the others go on",
		code:   http.StatusServiceUnavailable,
		want: map[send]bool{
			{"hmrc", "compute"}: false, {"dwp", "compute"}: false, {"hmrc", "network"}: true, {"dwp", "identity"}: true,
		},
	}} {
		srv := busyServer(t, tc.code)
		tr := newLimitedTransport(http.DefaultTransport, RateLimit{QPS: 1000, Burst: 10})
		if !sendAs(t, tr, srv.URL+"/busy", "hmrc", "compute") {
			t.Fatalf("%s: the first request was held back", tc.reason)
		}
		got := map[send]bool{}
		for s := range tc.want {
			got[s] = sendAs(t, tr, srv.URL+"/ok", s.namespace, s.service)
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("%s: which requests went at once (-want +got):\n%s", tc.reason, diff)
		}
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// The limiter learns a request's service from the instrumented transport above it.
func TestInstrumentedTransportTellsTheLimiterTheService(t *testing.T) {
	routes := &serviceRoutes{}
	routes.add("https://nova.example/v2.1/", "compute")
	var got string
	tr := &instrumentedTransport{routes: routes, next: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		got = serviceOf(r.Context())
		return &http.Response{StatusCode: http.StatusOK, Body: http.NoBody}, nil
	})}
	req, _ := http.NewRequest(http.MethodGet, "https://nova.example/v2.1/servers", nil)
	if _, err := tr.RoundTrip(req); err != nil {
		t.Fatal(err)
	}
	if got != "compute" {
		t.Errorf("the limiter saw service %q, want compute", got)
	}
}
