// Package faultproxy is an HTTP reverse proxy for tests that sits between an OpenStack
// client and a cloud and breaks things on purpose: 5xx answers, 429 with Retry-After,
// added latency, connection resets and expired tokens, at configurable rates per
// service.
//
// Routing: the client is given the proxy's Keystone URL (AuthURL) instead of the cloud's.
// Every Keystone token response (POST and GET /v3/auth/tokens) carries the service
// catalog; the proxy reads each endpoint URL from it, opens one listener of its own per
// upstream origin (scheme://host:port) the first time it sees one, and rewrites the
// catalog so that every endpoint points at the proxy's listener for that origin. So the
// client finds Nova, Neutron, … through the proxy without any endpoint being hard-coded,
// and the proxy knows which service (the catalog type) each request is for. The same
// origin rewrite is applied to every JSON body (version documents, "links", pagination
// "next" URLs) and to Location headers, so no upstream URL ever leaks to the client.
//
// Faults are drawn per request from one seeded RNG, so a test with a fixed seed and a
// fixed sequence of requests gets the same faults. A fault of kind 5xx or reset may be
// applied after the upstream has processed the request (the answer is lost on the way
// back), which is what exercises a client's idempotency: the resource was created, but
// the client does not know.
//
// A Proxy is safe for concurrent use.
package faultproxy

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"maps"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Kind is a kind of injected fault.
type Kind string

// The kinds of fault the proxy injects.
const (
	Kind500             Kind = "500"
	Kind502             Kind = "502"
	Kind503             Kind = "503"
	KindTooManyRequests Kind = "429"
	KindLatency         Kind = "latency"
	KindReset           Kind = "reset"
	// KindTokenExpiry: the request's token is declared expired: this request and every
	// later one carrying the same token are answered 401, so the client must log in
	// again.
	KindTokenExpiry Kind = "token-expiry"
)

// Kinds lists every kind, in a stable order for reports.
var Kinds = []Kind{Kind500, Kind502, Kind503, KindTooManyRequests, KindLatency, KindReset, KindTokenExpiry}

// ServiceIdentity is the service name of the Keystone listener; other services are
// named by their catalog type ("compute", "network", "block-storage", …).
const ServiceIdentity = "identity"

// Rates are the probabilities, per request, of each fault. ServerError, TooManyRequests,
// Reset and TokenExpiry exclude each other (their sum is the chance that a request
// fails; it must not exceed 1); Latency is drawn independently and may precede any of
// them or a normal answer.
type Rates struct {
	ServerError     float64 // 500, 502 or 503 (Config.ErrorCodes), chosen uniformly
	TooManyRequests float64 // 429 with a Retry-After header
	Reset           float64 // the connection is closed with a TCP reset, no answer
	TokenExpiry     float64 // 401: the token is from then on treated as expired
	Latency         float64 // the request is delayed by LatencyMin..LatencyMax
}

// Failure is the chance that a request gets a failing answer (everything but latency).
func (r Rates) Failure() float64 {
	return r.ServerError + r.TooManyRequests + r.Reset + r.TokenExpiry
}

// Uniform spreads a total failure rate over the four failing kinds (2/5 of it to 5xx,
// 1/5 each to 429, resets and token expiry) and adds latency at the same total rate.
func Uniform(total float64) Rates {
	return Rates{
		ServerError: total * 2 / 5, TooManyRequests: total / 5, Reset: total / 5, TokenExpiry: total / 5,
		Latency: total,
	}
}

// Config says what to inject.
type Config struct {
	// Default applies to every service without an entry in Services.
	Default Rates
	// Services overrides Default per service: "identity", or a catalog type with the
	// block-storage aliases (volume, volumev2, volumev3) folded into "block-storage".
	Services map[string]Rates
	// TokenCreationMax caps the chance that a token creation (POST …/auth/tokens) fails,
	// so that the client can still log in: the service's failing rates are scaled down
	// to sum to at most this. Token expiry never applies to token creation (a 401 there
	// would mean the credentials are wrong). Zero: token creation never fails.
	TokenCreationMax float64
	// AfterUpstream is the share of 5xx and reset faults applied after the upstream has
	// answered (the request took effect; its answer is lost). The rest are applied
	// without contacting the upstream.
	AfterUpstream float64
	// MidBodyResets is the share of resets applied after the upstream answered that
	// first send the answer's status line, headers and half its body, so the client
	// fails while reading the body rather than before any byte came.
	MidBodyResets float64
	// ErrorCodes are the 5xx codes to choose from; default 500, 502, 503.
	ErrorCodes []int
	// RetryAfter is the Retry-After of 429 answers, rounded up to whole seconds;
	// default 1 s.
	RetryAfter time.Duration
	// LatencyMin and LatencyMax bound the added latency; default 100 ms to 1 s.
	LatencyMin, LatencyMax time.Duration
	// MinTokenAge: a token is only expired once it has been in use this long (since the
	// proxy first saw it), as real tokens are; so a client that has just logged in again
	// is not refused at once. Zero: any token may expire.
	MinTokenAge time.Duration
	// Seed seeds the RNG; 0 picks a random seed.
	Seed uint64
	// CoverEveryKind: while some failing kind (each 5xx code, 429, reset, token expiry)
	// has not been served yet, a request that draws a failure gets the first such kind
	// that can apply to it instead of the drawn one. The failure rate is unchanged; only
	// the mix of the first failures is, so a short run still sees every kind rather
	// than missing one by luck.
	CoverEveryKind bool
	// Now is the clock token ages are measured by; default time.Now. Tests move it.
	Now func() time.Time
	// Log, when set, receives one line per request: service, method, path, the fault
	// and the status the client got.
	Log func(line string)
	// Hold, when set, says how long to keep a request before it is forwarded (zero: not
	// held). A held request reaches the upstream even if the client went away
	// meanwhile, as a slow API goes on with a request whose client hung up. Hold may
	// read r.Body if it puts an equal one back.
	Hold func(service string, r *http.Request) time.Duration
}

func (c Config) withDefaults() Config {
	if len(c.ErrorCodes) == 0 {
		c.ErrorCodes = []int{500, 502, 503}
	}
	if c.RetryAfter <= 0 {
		c.RetryAfter = time.Second
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.LatencyMax <= 0 {
		c.LatencyMin, c.LatencyMax = 100*time.Millisecond, time.Second
	}
	if c.LatencyMin > c.LatencyMax {
		c.LatencyMin = c.LatencyMax
	}
	return c
}

func (c Config) validate() error {
	check := func(name string, r Rates) error {
		for _, p := range []float64{r.ServerError, r.TooManyRequests, r.Reset, r.TokenExpiry, r.Latency} {
			if p < 0 || p > 1 || math.IsNaN(p) {
				return fmt.Errorf("faultproxy: rates of %s must be within [0, 1]", name)
			}
		}
		if r.Failure() > 1+1e-9 {
			return fmt.Errorf("faultproxy: failing rates of %s sum to %.3f > 1", name, r.Failure())
		}
		return nil
	}
	if err := check("default", c.Default); err != nil {
		return err
	}
	for name, r := range c.Services {
		if err := check(name, r); err != nil {
			return err
		}
	}
	for _, p := range []float64{c.TokenCreationMax, c.AfterUpstream, c.MidBodyResets} {
		if p < 0 || p > 1 || math.IsNaN(p) {
			return errors.New("faultproxy: TokenCreationMax, AfterUpstream and MidBodyResets must be within [0, 1]")
		}
	}
	for _, code := range c.ErrorCodes {
		if code < 500 || code > 599 {
			return fmt.Errorf("faultproxy: error code %d is not a 5xx", code)
		}
	}
	return nil
}

func (c Config) rates(service string, tokenCreation bool) Rates {
	r, ok := c.Services[service]
	if !ok {
		r = c.Default
	}
	if tokenCreation {
		r.TokenExpiry = 0
		if f := r.Failure(); f > c.TokenCreationMax {
			scale := 0.0
			if f > 0 {
				scale = c.TokenCreationMax / f
			}
			r.ServerError *= scale
			r.TooManyRequests *= scale
			r.Reset *= scale
		}
	}
	return r
}

// Stats is what the proxy saw and did.
type Stats struct {
	// Requests counts the requests received, per service.
	Requests map[string]int
	// Injected counts the faults injected, per service and kind.
	Injected map[string]map[Kind]int
	// LostResponses counts the 5xx and reset faults applied after the upstream had
	// processed the request.
	LostResponses int
	// MidBodyResets counts the resets that cut an answer after its headers.
	MidBodyResets int
	// ExpiredTokenRejections counts the 401 answers to requests that carried a token
	// expired earlier (beyond the KindTokenExpiry fault itself).
	ExpiredTokenRejections int
	// UpstreamErrors counts requests the upstream failed to answer (not injected), with
	// the first few errors.
	UpstreamErrors       int
	UpstreamErrorSamples []string
}

// Total returns how many faults of kind were injected across services.
func (s Stats) Total(kind Kind) int {
	n := 0
	for _, m := range s.Injected {
		n += m[kind]
	}
	return n
}

// ByKind returns the faults injected per kind across services.
func (s Stats) ByKind() map[Kind]int {
	out := map[Kind]int{}
	for _, m := range s.Injected {
		for k, n := range m {
			out[k] += n
		}
	}
	return out
}

// Failures returns how many requests got a failing answer (every kind but latency).
func (s Stats) Failures() int {
	n := 0
	for k, v := range s.ByKind() {
		if k != KindLatency {
			n += v
		}
	}
	return n
}

// String is a one-line-per-service summary.
func (s Stats) String() string {
	var b strings.Builder
	services := slices.Sorted(maps.Keys(s.Requests))
	for _, svc := range services {
		fmt.Fprintf(&b, "%-14s requests=%-5d", svc, s.Requests[svc])
		for _, k := range Kinds {
			if n := s.Injected[svc][k]; n > 0 {
				fmt.Fprintf(&b, " %s=%d", k, n)
			}
		}
		b.WriteByte('\n')
	}
	fmt.Fprintf(&b, "total: requests=%d failures=%d", s.requests(), s.Failures())
	for _, k := range Kinds {
		if n := s.Total(k); n > 0 {
			fmt.Fprintf(&b, " %s=%d", k, n)
		}
	}
	fmt.Fprintf(&b, " lost-responses=%d mid-body-resets=%d expired-token-401s=%d upstream-errors=%d",
		s.LostResponses, s.MidBodyResets, s.ExpiredTokenRejections, s.UpstreamErrors)
	for _, e := range s.UpstreamErrorSamples {
		fmt.Fprintf(&b, "\n  upstream error: %s", e)
	}
	return b.String()
}

func (s Stats) requests() int {
	n := 0
	for _, v := range s.Requests {
		n += v
	}
	return n
}

// Proxy is a running fault-injecting proxy.
type Proxy struct {
	authURL   string // the proxy's Keystone URL, with the upstream's path
	transport *http.Transport

	mu        sync.Mutex
	cfg       Config
	enabled   bool
	rng       *rand.Rand
	listeners map[string]*listener // by upstream origin
	expired   map[string]bool      // tokens declared expired
	firstSeen map[string]time.Time // when each token was first used
	stats     Stats
	closed    bool
	wg        sync.WaitGroup
}

// listener serves one upstream origin.
type listener struct {
	p        *Proxy
	upstream *url.URL // scheme and host only
	origin   string   // the proxy's own origin, http://127.0.0.1:port
	ln       net.Listener
	srv      *http.Server
	rp       *httputil.ReverseProxy

	mu     sync.RWMutex
	routes []route // path prefix → service, longest first
}

type route struct {
	prefix, service string
}

// Start starts a proxy in front of the Keystone at authURL (as in clouds.yaml, e.g.
// http://127.0.0.1:5000/v3). Listeners bind to 127.0.0.1 on free ports.
func Start(authURL string, cfg Config) (*Proxy, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	u, err := url.Parse(authURL)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, fmt.Errorf("faultproxy: bad auth URL %q", authURL)
	}
	seed := cfg.Seed
	if seed == 0 {
		seed = rand.Uint64()
	}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.MaxIdleConnsPerHost = 64
	p := &Proxy{
		transport: transport,
		cfg:       cfg,
		enabled:   true,
		rng:       rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		listeners: map[string]*listener{},
		expired:   map[string]bool{},
		firstSeen: map[string]time.Time{},
		stats:     Stats{Requests: map[string]int{}, Injected: map[string]map[Kind]int{}},
	}
	ks, err := p.listenerFor(u.Scheme+"://"+u.Host, "", ServiceIdentity)
	if err != nil {
		return nil, err
	}
	p.authURL = ks.origin + u.EscapedPath()
	if u.RawQuery != "" {
		p.authURL += "?" + u.RawQuery
	}
	return p, nil
}

// AuthURL is the proxy's Keystone URL: give it to the client instead of the cloud's.
func (p *Proxy) AuthURL() string { return p.authURL }

// ProxyURL returns the proxy URL that stands for an upstream URL, if the proxy has a
// listener for its origin.
func (p *Proxy) ProxyURL(upstream string) (string, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := p.rewriteLocked([]byte(upstream))
	return string(out), string(out) != upstream
}

// Upstreams returns the upstream origins the proxy serves, mapped to their services.
func (p *Proxy) Upstreams() map[string][]string {
	p.mu.Lock()
	ls := slices.Collect(maps.Values(p.listeners))
	p.mu.Unlock()
	out := map[string][]string{}
	for _, l := range ls {
		l.mu.RLock()
		var svcs []string
		for _, r := range l.routes {
			if !slices.Contains(svcs, r.service) {
				svcs = append(svcs, r.service)
			}
		}
		l.mu.RUnlock()
		slices.Sort(svcs)
		out[l.upstream.String()] = svcs
	}
	return out
}

// SetConfig replaces the configuration; the RNG keeps its state.
func (p *Proxy) SetConfig(cfg Config) error {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cfg = cfg
	return nil
}

// SetEnabled turns fault injection on or off; a disabled proxy only forwards (tokens
// expired earlier stay expired).
func (p *Proxy) SetEnabled(on bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.enabled = on
}

// Stats returns a copy of the counters.
func (p *Proxy) Stats() Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := p.stats
	out.Requests = maps.Clone(p.stats.Requests)
	out.UpstreamErrorSamples = slices.Clone(p.stats.UpstreamErrorSamples)
	out.Injected = map[string]map[Kind]int{}
	for svc, m := range p.stats.Injected {
		out.Injected[svc] = maps.Clone(m)
	}
	return out
}

// quiet drops net/http's own log lines (clients going away, resets): Stats and
// Config.Log tell what happened.
var quiet = log.New(io.Discard, "", 0)

// Close stops every listener: requests under way get a second to finish, then their
// connections are closed.
func (p *Proxy) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	ls := slices.Collect(maps.Values(p.listeners))
	p.mu.Unlock()
	// Let answers under way finish for a moment, then cut what is left (a client's
	// spare connection that never sent a request keeps Shutdown waiting).
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	errs := make([]error, len(ls))
	var wg sync.WaitGroup
	for i, l := range ls {
		wg.Go(func() {
			if l.srv.Shutdown(ctx) != nil {
				errs[i] = l.srv.Close()
			}
		})
	}
	wg.Wait()
	p.wg.Wait()
	p.transport.CloseIdleConnections()
	return errors.Join(errs...)
}

// listenerFor returns the listener of an upstream origin, starting it if needed, and
// records that paths under prefix there belong to service.
func (p *Proxy) listenerFor(origin, prefix, service string) (*listener, error) {
	origin = strings.ToLower(origin)
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil, errors.New("faultproxy: closed")
	}
	l, ok := p.listeners[origin]
	if !ok {
		up, err := url.Parse(origin)
		if err != nil {
			return nil, err
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("faultproxy: listening for %s: %w", origin, err)
		}
		l = &listener{p: p, upstream: up, origin: "http://" + ln.Addr().String(), ln: ln}
		l.rp = &httputil.ReverseProxy{
			Rewrite: func(pr *httputil.ProxyRequest) {
				pr.SetURL(l.upstream)
				// Let the transport negotiate compression itself, so bodies reach
				// ModifyResponse decoded and can be rewritten.
				pr.Out.Header.Del("Accept-Encoding")
			},
			Transport:      p.transport,
			ModifyResponse: l.modifyResponse,
			ErrorHandler:   l.upstreamError,
			ErrorLog:       quiet,
		}
		l.srv = &http.Server{Handler: l, ReadHeaderTimeout: 30 * time.Second, ErrorLog: quiet}
		p.listeners[origin] = l
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			_ = l.srv.Serve(ln)
		}()
	}
	l.addRoute(prefix, service)
	return l, nil
}

func (l *listener) addRoute(prefix, service string) {
	prefix = strings.TrimSuffix(prefix, "/")
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, r := range l.routes {
		if r.prefix == prefix && r.service == service {
			return
		}
	}
	l.routes = append(l.routes, route{prefix: prefix, service: service})
	slices.SortStableFunc(l.routes, func(a, b route) int { return len(b.prefix) - len(a.prefix) })
}

// service names the service a request path belongs to: the longest matching route, or
// the listener's first service.
func (l *listener) service(path string) string {
	l.mu.RLock()
	defer l.mu.RUnlock()
	for _, r := range l.routes {
		if path == r.prefix || strings.HasPrefix(path, r.prefix+"/") || r.prefix == "" {
			return r.service
		}
	}
	if len(l.routes) > 0 {
		return l.routes[len(l.routes)-1].service
	}
	return "unknown"
}

// decision is what to do with one request.
type decision struct {
	latency       time.Duration
	fault         Kind // "" for none (latency aside)
	afterUpstream bool
	midBody       bool
	expiredToken  bool
	cfg           Config
}

func (p *Proxy) decide(service string, r *http.Request) decision {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stats.Requests[service]++
	d := decision{cfg: p.cfg}
	tokenCreation := r.Method == http.MethodPost && strings.HasSuffix(strings.TrimSuffix(r.URL.Path, "/"), "/auth/tokens")
	token := r.Header.Get("X-Auth-Token")
	if !tokenCreation && token != "" && p.expired[token] {
		p.stats.ExpiredTokenRejections++
		d.expiredToken = true
		return d
	}
	var tokenAge time.Duration
	if token != "" {
		if first, ok := p.firstSeen[token]; ok {
			tokenAge = p.cfg.Now().Sub(first)
		} else {
			p.firstSeen[token] = p.cfg.Now()
		}
	}
	if !p.enabled {
		return d
	}
	rates := p.cfg.rates(service, tokenCreation)
	// Draw every number every time, so one request's outcome does not shift the
	// sequence the next one sees.
	lat, howLong, fail, pick, after, mid := p.rng.Float64(), p.rng.Float64(), p.rng.Float64(), p.rng.Float64(), p.rng.Float64(), p.rng.Float64()
	if lat < rates.Latency {
		span := p.cfg.LatencyMax - p.cfg.LatencyMin
		d.latency = p.cfg.LatencyMin + time.Duration(howLong*float64(span))
		p.countLocked(service, KindLatency)
	}
	if fail < rates.Failure() && p.cfg.CoverEveryKind {
		if k, ok := p.uncoveredLocked(tokenCreation, token != "" && tokenAge >= p.cfg.MinTokenAge); ok {
			d.fault = k
			fail = 2 // the drawn kind is replaced: skip the switch below
		}
	}
	switch edge := rates.ServerError; {
	case fail < edge:
		codes := p.cfg.ErrorCodes
		d.fault = Kind(strconv.Itoa(codes[min(int(pick*float64(len(codes))), len(codes)-1)]))
	case fail < edge+rates.TooManyRequests:
		d.fault = KindTooManyRequests
	case fail < edge+rates.TooManyRequests+rates.Reset:
		d.fault = KindReset
	case fail < edge+rates.TooManyRequests+rates.Reset+rates.TokenExpiry && token != "" && tokenAge >= p.cfg.MinTokenAge:
		d.fault = KindTokenExpiry
	}
	if d.fault == KindTokenExpiry {
		p.expired[token] = true
	}
	if d.fault != "" {
		d.afterUpstream = (d.fault == KindReset || isServerError(d.fault)) && after < p.cfg.AfterUpstream
		if d.afterUpstream {
			p.stats.LostResponses++
			if d.fault == KindReset && mid < p.cfg.MidBodyResets {
				d.midBody = true
				p.stats.MidBodyResets++
			}
		}
		p.countLocked(service, d.fault)
	}
	return d
}

// uncoveredLocked returns the first failing kind not served yet that can apply to a
// request: token creation never gets a token expiry, and only a token old enough can
// expire.
func (p *Proxy) uncoveredLocked(tokenCreation, tokenCanExpire bool) (Kind, bool) {
	kinds := make([]Kind, 0, len(p.cfg.ErrorCodes)+3)
	for _, code := range p.cfg.ErrorCodes {
		kinds = append(kinds, Kind(strconv.Itoa(code)))
	}
	kinds = append(kinds, KindTooManyRequests, KindReset)
	if !tokenCreation && tokenCanExpire {
		kinds = append(kinds, KindTokenExpiry)
	}
	for _, k := range kinds {
		if p.stats.Total(k) == 0 {
			return k, true
		}
	}
	return "", false
}

func isServerError(k Kind) bool { return len(k) == 3 && k[0] == '5' }

func (p *Proxy) countLocked(service string, k Kind) {
	m := p.stats.Injected[service]
	if m == nil {
		m = map[Kind]int{}
		p.stats.Injected[service] = m
	}
	m[k]++
}

// ServeHTTP applies the faults drawn for the request, or forwards it.
func (l *listener) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	service := l.service(r.URL.Path)
	d := l.p.decide(service, r)
	if d.cfg.Log != nil {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		w = sw
		defer func() {
			what := string(d.fault)
			switch {
			case d.expiredToken:
				what = "expired-token"
			case d.midBody:
				what += " mid-body"
			case d.afterUpstream:
				what += " after-upstream"
			}
			if d.latency > 0 {
				what = strings.TrimSpace(what + " +" + d.latency.Round(time.Millisecond).String())
			}
			d.cfg.Log(fmt.Sprintf("%s %-13s %-6s %s %s -> %d in %s [%s]", start.Format("15:04:05.000"), service, r.Method,
				r.URL.Path, r.URL.RawQuery, sw.status, time.Since(start).Round(time.Millisecond), what))
		}()
	}
	l.serve(w, r, d)
}

func (l *listener) serve(w http.ResponseWriter, r *http.Request, d decision) {
	if d.cfg.Hold != nil {
		if hold := d.cfg.Hold(l.service(r.URL.Path), r); hold > 0 {
			// A context that never ends, but can: ReverseProxy cancels a request whose
			// context cannot end as soon as its client goes.
			detached, cancel := context.WithCancel(context.WithoutCancel(r.Context()))
			defer cancel()
			r = r.WithContext(detached)
			time.Sleep(hold)
		}
	}
	if d.expiredToken {
		writeError(w, http.StatusUnauthorized, "The request you have made requires authentication (token expired by faultproxy).", nil)
		return
	}
	if d.latency > 0 {
		t := time.NewTimer(d.latency)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return
		}
	}
	switch {
	case d.fault == "":
		l.rp.ServeHTTP(w, r)
	case d.fault == KindTooManyRequests:
		secs := int(math.Ceil(d.cfg.RetryAfter.Seconds()))
		writeError(w, http.StatusTooManyRequests, "Rate limit exceeded (injected by faultproxy).",
			http.Header{"Retry-After": {strconv.Itoa(secs)}})
	case d.fault == KindTokenExpiry:
		writeError(w, http.StatusUnauthorized, "The request you have made requires authentication (token expired by faultproxy).", nil)
	case d.midBody:
		rec := httptest.NewRecorder()
		l.rp.ServeHTTP(rec, r)
		resetMidBody(w, rec.Result())
	default: // 5xx or reset
		if d.afterUpstream {
			l.rp.ServeHTTP(&discard{header: http.Header{}}, r)
		}
		if d.fault == KindReset {
			reset(w, nil)
			return
		}
		code, _ := strconv.Atoi(string(d.fault))
		writeError(w, code, http.StatusText(code)+" (injected by faultproxy).", nil)
	}
}

// statusWriter records the status written, for the log; 0 means none (a reset or a
// client that went away).
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (s *statusWriter) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach Flush and Hijack.
func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }

func (s *statusWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	hj, ok := s.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, http.ErrNotSupported
	}
	return hj.Hijack()
}

// reset closes the client's connection with a TCP RST, after sending partial (if any).
func reset(w http.ResponseWriter, partial []byte) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler)
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	if len(partial) > 0 {
		_ = conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
		if _, err := conn.Write(partial); err == nil {
			// Give the client a moment to read what came, or the RST may discard it
			// from its receive buffer.
			time.Sleep(50 * time.Millisecond)
		}
	}
	if tcp, ok := conn.(*net.TCPConn); ok {
		_ = tcp.SetLinger(0)
	}
	_ = conn.Close()
}

// resetMidBody sends the upstream's status line, headers (with the full length) and
// half its body, then resets the connection.
func resetMidBody(w http.ResponseWriter, resp *http.Response) {
	body, _ := io.ReadAll(resp.Body)
	if len(body) < 2 {
		body = append(body, bytes.Repeat([]byte(" "), 2-len(body))...)
	}
	var buf bytes.Buffer
	fmt.Fprintf(&buf, "HTTP/1.1 %d %s\r\n", resp.StatusCode, http.StatusText(resp.StatusCode))
	h := resp.Header.Clone()
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Del("Transfer-Encoding")
	_ = h.Write(&buf)
	buf.WriteString("\r\n")
	buf.Write(body[:len(body)/2])
	reset(w, buf.Bytes())
}

// writeError answers in the shape OpenStack services use: {"error": {code, title,
// message}}.
func writeError(w http.ResponseWriter, code int, message string, h http.Header) {
	for k, v := range h {
		w.Header()[k] = v
	}
	w.Header().Set("Content-Type", "application/json")
	if code == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Keystone uri="faultproxy"`)
	}
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{
		"code": code, "title": http.StatusText(code), "message": message,
	}})
}

// discard is a ResponseWriter that drops the upstream's answer.
type discard struct{ header http.Header }

func (d *discard) Header() http.Header         { return d.header }
func (d *discard) Write(b []byte) (int, error) { return len(b), nil }
func (d *discard) WriteHeader(int)             {}

func (l *listener) upstreamError(w http.ResponseWriter, r *http.Request, err error) {
	if r.Context().Err() == nil { // not the client giving up
		l.p.mu.Lock()
		l.p.stats.UpstreamErrors++
		if len(l.p.stats.UpstreamErrorSamples) < 5 {
			l.p.stats.UpstreamErrorSamples = append(l.p.stats.UpstreamErrorSamples, fmt.Sprintf("%s %s: %v", r.Method, r.URL.Path, err))
		}
		l.p.mu.Unlock()
	}
	w.WriteHeader(http.StatusBadGateway)
}

// modifyResponse learns the catalog from token responses and points every upstream URL
// in the answer at the proxy.
func (l *listener) modifyResponse(resp *http.Response) error {
	if loc := resp.Header.Get("Location"); loc != "" {
		resp.Header.Set("Location", l.p.rewrite(loc))
	}
	if !strings.Contains(strings.ToLower(resp.Header.Get("Content-Type")), "json") || resp.Body == nil {
		return nil
	}
	body, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if err != nil {
		return err
	}
	if strings.HasSuffix(strings.TrimSuffix(resp.Request.URL.Path, "/"), "/auth/tokens") && resp.StatusCode < 300 {
		if err := l.p.learnCatalog(body); err != nil {
			return err
		}
	}
	body = []byte(l.p.rewrite(string(body)))
	resp.Body = io.NopCloser(bytes.NewReader(body))
	resp.ContentLength = int64(len(body))
	resp.Header.Set("Content-Length", strconv.Itoa(len(body)))
	resp.Header.Del("Content-Encoding")
	return nil
}

// learnCatalog opens a listener for every endpoint origin of a token's catalog.
func (p *Proxy) learnCatalog(body []byte) error {
	endpoints, _ := ParseCatalog(body) // not a token document: nothing to learn
	for _, ep := range endpoints {
		u, err := url.Parse(ep.URL)
		if err != nil || u.Host == "" {
			continue
		}
		if _, err := p.listenerFor(u.Scheme+"://"+u.Host, u.Path, serviceName(ep.Type)); err != nil {
			return err
		}
	}
	return nil
}

// CatalogEndpoint is one endpoint of the service catalog in a Keystone token.
type CatalogEndpoint struct {
	Type string // service type: identity, compute, block-storage, …
	URL  string
}

// ParseCatalog returns the endpoints of the catalog in a Keystone token document (the
// answer to POST or GET /v3/auth/tokens), in catalog order; false when body is not one.
func ParseCatalog(body []byte) ([]CatalogEndpoint, bool) {
	var doc struct {
		Token struct {
			Catalog []struct {
				Type      string `json:"type"`
				Endpoints []struct {
					URL string `json:"url"`
				} `json:"endpoints"`
			} `json:"catalog"`
		} `json:"token"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, false
	}
	var out []CatalogEndpoint
	for _, svc := range doc.Token.Catalog {
		for _, ep := range svc.Endpoints {
			out = append(out, CatalogEndpoint{Type: svc.Type, URL: ep.URL})
		}
	}
	return out, true
}

// serviceName folds catalog type aliases.
func serviceName(catalogType string) string {
	switch catalogType {
	case "volume", "volumev2", "volumev3", "block-store", "block-storage":
		return "block-storage"
	case "":
		return "unknown"
	}
	return catalogType
}

// origins matches an http(s) origin in text, as JSON writes it (also with escaped
// slashes).
var origins = regexp.MustCompile(`https?:(?://|\\/\\/)(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.\-]+)(?::[0-9]+)?`)

func (p *Proxy) rewrite(s string) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return string(p.rewriteLocked([]byte(s)))
}

func (p *Proxy) rewriteLocked(b []byte) []byte {
	return origins.ReplaceAllFunc(b, func(m []byte) []byte {
		escaped := bytes.Contains(m, []byte(`\/`))
		key := strings.ToLower(strings.ReplaceAll(string(m), `\/`, "/"))
		l, ok := p.listeners[key]
		if !ok {
			return m
		}
		if escaped {
			return []byte(strings.ReplaceAll(l.origin, "/", `\/`))
		}
		return []byte(l.origin)
	})
}
