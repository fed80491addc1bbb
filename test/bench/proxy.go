package main

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/whitehall-cloud/whitehall-operator/test/faultproxy"
)

// recorder is a reverse proxy placed between every client and the dev cloud: one
// listener per upstream endpoint, with every upstream URL in responses (the Keystone
// catalog, links, Location headers) rewritten to the matching listener. It records each
// request with the client it came from (by User-Agent), so the harness can say which
// calls the operator repeats — something the operator's own metrics (service and method
// only) cannot.
type recorder struct {
	mu        sync.Mutex
	upstreams map[string]string // upstream host:port → proxy host:port
	services  map[string]string // upstream host:port → service type, from the catalog
	servers   []*http.Server
	events    []event
	transport *http.Transport
}

// event is one proxied request.
type event struct {
	Client  string // operator, baseline or harness
	Service string
	Method  string
	Path    string // templated: IDs replaced by {id}, query values dropped
	Code    int
	Start   time.Time
	Latency time.Duration
}

func newRecorder() *recorder {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = 100
	return &recorder{
		upstreams: map[string]string{},
		services:  map[string]string{},
		transport: t,
	}
}

// ensure returns the proxy address for an upstream host:port, starting a listener the
// first time.
func (r *recorder) ensure(upstream string) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if addr, ok := r.upstreams[upstream]; ok {
		return addr, nil
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	target := &url.URL{Scheme: "http", Host: upstream}
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			pr.Out.Header.Del("Accept-Encoding") // keep bodies plain, so they can be rewritten
		},
		Transport:      &timingTransport{next: r.transport, rec: r, upstream: upstream},
		ModifyResponse: r.rewrite,
		ErrorLog:       nil,
	}
	srv := &http.Server{Handler: rp, ReadHeaderTimeout: time.Minute}
	go func() { _ = srv.Serve(ln) }()
	r.servers = append(r.servers, srv)
	addr := ln.Addr().String()
	r.upstreams[upstream] = addr
	return addr, nil
}

func (r *recorder) close() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, s := range r.servers {
		_ = s.Close()
	}
}

var upstreamURL = regexp.MustCompile(`https?://(?:127\.0\.0\.1|localhost):[0-9]+`)

// rewrite points every upstream URL in a response at its proxy listener, and learns
// service types from a token's catalog.
func (r *recorder) rewrite(resp *http.Response) error {
	if loc := resp.Header.Get("Location"); loc != "" {
		if out, err := r.replace([]byte(loc)); err == nil {
			resp.Header.Set("Location", string(out))
		}
	}
	if resp.Header.Get("Content-Encoding") != "" || !strings.Contains(resp.Header.Get("Content-Type"), "json") {
		return nil
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	_ = resp.Body.Close()
	if err != nil {
		return err
	}
	if bytes.Contains(body, []byte(`"catalog"`)) {
		r.learnCatalog(body)
	}
	out, err := r.replace(body)
	if err != nil {
		return err
	}
	resp.Body = io.NopCloser(bytes.NewReader(out))
	resp.ContentLength = int64(len(out))
	resp.Header.Set("Content-Length", fmt.Sprint(len(out)))
	return nil
}

func (r *recorder) replace(b []byte) ([]byte, error) {
	var firstErr error
	out := upstreamURL.ReplaceAllFunc(b, func(m []byte) []byte {
		u, err := url.Parse(string(m))
		if err != nil {
			return m
		}
		addr, err := r.ensure(u.Host)
		if err != nil {
			firstErr = err
			return m
		}
		return []byte("http://" + addr)
	})
	return out, firstErr
}

func (r *recorder) learnCatalog(body []byte) {
	endpoints, ok := faultproxy.ParseCatalog(body)
	if !ok {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, e := range endpoints {
		if u, err := url.Parse(e.URL); err == nil {
			// volumev3 and block-storage share one endpoint; keep one name.
			if old, ok := r.services[u.Host]; !ok || e.Type == "block-storage" || old == "volumev3" {
				r.services[u.Host] = e.Type
			}
		}
	}
}

func (r *recorder) service(upstream string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if s, ok := r.services[upstream]; ok {
		return s
	}
	return upstream
}

// timingTransport times the upstream round trip (to the response headers, as the
// operator's own metric does) and records the request.
type timingTransport struct {
	next     http.RoundTripper
	rec      *recorder
	upstream string
}

func (t *timingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	start := time.Now()
	resp, err := t.next.RoundTrip(req)
	ev := event{
		Client:  clientOf(req.Header.Get("User-Agent")),
		Service: t.rec.service(t.upstream),
		Method:  req.Method,
		Path:    templatePath(req.URL),
		Start:   start,
		Latency: time.Since(start),
	}
	if err == nil {
		ev.Code = resp.StatusCode
	}
	if ev.Service == "identity" && ev.Path == "/v3/auth/tokens" && req.Method == http.MethodGet {
		// Token validation by the services themselves never passes here (they talk to
		// Keystone directly); a GET of tokens is a client's own lookup.
		ev.Path = "/v3/auth/tokens (validate)"
	}
	t.rec.mu.Lock()
	t.rec.events = append(t.rec.events, ev)
	t.rec.mu.Unlock()
	return resp, err
}

func clientOf(ua string) string {
	switch {
	case strings.Contains(ua, "whitehall-operator"):
		return "operator"
	case strings.Contains(ua, "whitehall-bench-baseline"):
		return "baseline"
	default:
		return "harness"
	}
}

var (
	hexID  = regexp.MustCompile(`^[0-9a-f]{32}$`)
	uuidID = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
	number = regexp.MustCompile(`^[0-9]+$`)
)

// templatePath turns /v3/projects/8f5…/groups/12a…/roles/9c1…?x=1 into
// /v3/projects/{id}/groups/{id}/roles/{id}?x.
func templatePath(u *url.URL) string {
	parts := strings.Split(u.Path, "/")
	for i, p := range parts {
		if hexID.MatchString(p) || uuidID.MatchString(p) || (number.MatchString(p) && i > 1) {
			parts[i] = "{id}"
		}
	}
	out := strings.Join(parts, "/")
	if q := u.Query(); len(q) > 0 {
		keys := make([]string, 0, len(q))
		for k := range q {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		out += "?" + strings.Join(keys, "&")
	}
	return out
}

// count returns how many events since mark, by client, have the service, method and code.
func (r *recorder) count(mark int, client, service, method string, code int) int {
	n := 0
	for _, e := range r.since(mark, client) {
		if e.Service == service && e.Method == method && e.Code == code {
			n++
		}
	}
	return n
}

// mark returns a position in the event log (0 without a recorder: BENCH_NO_PROXY).
func (r *recorder) mark() int {
	if r == nil {
		return 0
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.events)
}

// since returns the events of one client recorded after mark ("" for all clients).
func (r *recorder) since(mark int, client string) []event {
	return r.between(mark, -1, client)
}

// between returns the events of one client recorded between two marks (to -1: up to
// now).
func (r *recorder) between(from, to int, client string) []event {
	r.mu.Lock()
	defer r.mu.Unlock()
	if to < 0 || to > len(r.events) {
		to = len(r.events)
	}
	var out []event
	for _, e := range r.events[from:to] {
		if client == "" || e.Client == client {
			out = append(out, e)
		}
	}
	return out
}

// endpointCount is the number of calls to one endpoint template.
type endpointCount struct {
	Key    string // "service METHOD /path"
	Count  int
	Median time.Duration
	Errors int // 4xx/5xx/no answer
}

// byEndpoint groups events by service, method and templated path, most frequent first.
func byEndpoint(events []event) []endpointCount {
	lat := map[string][]time.Duration{}
	errs := map[string]int{}
	for _, e := range events {
		k := fmt.Sprintf("%s %s %s", e.Service, e.Method, e.Path)
		lat[k] = append(lat[k], e.Latency)
		if e.Code == 0 || e.Code >= 400 {
			errs[k]++
		}
	}
	out := make([]endpointCount, 0, len(lat))
	for k, l := range lat {
		out = append(out, endpointCount{Key: k, Count: len(l), Median: median(l), Errors: errs[k]})
	}
	slices.SortFunc(out, func(a, b endpointCount) int {
		if a.Count != b.Count {
			return b.Count - a.Count
		}
		return strings.Compare(a.Key, b.Key)
	})
	return out
}

func latencies(events []event) []time.Duration {
	out := make([]time.Duration, len(events))
	for i, e := range events {
		out[i] = e.Latency
	}
	return out
}

func median(d []time.Duration) time.Duration {
	if len(d) == 0 {
		return 0
	}
	d = slices.Clone(d)
	slices.Sort(d)
	if len(d)%2 == 1 {
		return d[len(d)/2]
	}
	return (d[len(d)/2-1] + d[len(d)/2]) / 2
}
