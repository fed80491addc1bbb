package openstack

import (
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
)

var (
	requestsTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "whitehall_openstack_requests_total",
		Help: "OpenStack API requests, by service, HTTP method and status code (0: no answer).",
	}, []string{"service", "method", "code"})

	requestDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "whitehall_openstack_request_duration_seconds",
		Help:    "OpenStack API request latency, by service and HTTP method.",
		Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
	}, []string{"service", "method"})
)

func init() {
	metrics.Registry.MustRegister(requestsTotal, requestDuration)
}

// instrumentedTransport measures every request, labelled by the service whose endpoint
// the URL falls under.
type instrumentedTransport struct {
	next   http.RoundTripper
	routes *serviceRoutes
}

func (t *instrumentedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	service := t.routes.lookup(req.URL.String())
	// The rate limiter beneath pauses what a Retry-After was about: this service.
	req = req.WithContext(withService(req.Context(), service))
	start := time.Now()
	resp, err := t.next.RoundTrip(req)
	requestDuration.WithLabelValues(service, req.Method).Observe(time.Since(start).Seconds())
	code := "0"
	if err == nil {
		code = strconv.Itoa(resp.StatusCode)
	}
	requestsTotal.WithLabelValues(service, req.Method, code).Inc()
	return resp, err
}

// serviceRoutes maps endpoint URL prefixes to service types.
type serviceRoutes struct {
	mu       sync.RWMutex
	prefixes map[string]string
}

func (r *serviceRoutes) add(prefix, service string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.prefixes == nil {
		r.prefixes = map[string]string{}
	}
	r.prefixes[strings.TrimSuffix(prefix, "/")] = service
}

func (r *serviceRoutes) lookup(url string) string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	best, service := 0, "other"
	for prefix, s := range r.prefixes {
		if len(prefix) > best && strings.HasPrefix(url, prefix) {
			best, service = len(prefix), s
		}
	}
	return service
}
