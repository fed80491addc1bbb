package main

import (
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParseMetrics(t *testing.T) {
	text := `# HELP x
whitehall_openstack_requests_total{code="200",method="GET",service="identity"} 7
whitehall_openstack_requests_total{code="201",method="POST",service="identity"} 2
whitehall_openstack_requests_total{code="200",method="PUT",service="compute"} 3
controller_runtime_reconcile_total{controller="tenant",result="success"} 4
lag_bucket{le="0.5"} 1
lag_bucket{le="1"} 3
lag_bucket{le="+Inf"} 4
lag_sum 3.5
lag_count 4
`
	s, err := parseMetrics(strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	if got := s.sum("whitehall_openstack_requests_total", map[string]string{"service": "identity"}); got != 9 {
		t.Errorf("identity requests = %v, want 9", got)
	}
	if got := reconciles(s, "tenant"); got != 4 {
		t.Errorf("reconciles = %v, want 4", got)
	}
	n, by := operatorCalls(nil, s)
	if n != 12 || by["identity GET"] != 7 || by["compute PUT"] != 3 {
		t.Errorf("operatorCalls = %d %v", n, by)
	}
	h := deltaHistogram(nil, s, "lag")
	if h.count != 4 || h.mean() != 0.875 {
		t.Errorf("histogram count %v mean %v", h.count, h.mean())
	}
	if got := h.maxBound(); !math.IsInf(got, 1) {
		t.Errorf("maxBound = %v, want +Inf (one observation above 1)", got)
	}
	// rank 2 of 4 lies in (0.5, 1], which holds 2 observations: halfway.
	if got := h.quantile(0.5); got != 0.75 {
		t.Errorf("median = %v, want 0.75", got)
	}
}

func TestTemplatePath(t *testing.T) {
	for in, want := range map[string]string{
		"/v3/projects/8f50818be7934b5fb7e5c550967bf905/groups/15bcd618d087425b865ad2997caa3e00/roles/0a1b2c3d4e5f60718293a4b5c6d7e8f9": "/v3/projects/{id}/groups/{id}/roles/{id}",
		"/v3/projects?domain_id=default&name=x":               "/v3/projects?domain_id&name",
		"/v2.0/networks/6e8d1f2a-1b2c-4d5e-8f90-123456789abc": "/v2.0/networks/{id}",
		"/v2.1/flavors/1": "/v2.1/flavors/{id}",
		"/v3/8f50818be7934b5fb7e5c550967bf905/os-quota-sets/8f50818be7934b5fb7e5c550967bf905?usage=true": "/v3/{id}/os-quota-sets/{id}?usage",
	} {
		u, _ := url.Parse(in)
		if got := templatePath(u); got != want {
			t.Errorf("templatePath(%s) = %s, want %s", in, got, want)
		}
	}
}

// The proxy rewrites every upstream URL in a response to a listener of its own, and
// records each request with the client it came from.
func TestRecorderRewritesAndRecords(t *testing.T) {
	var upstream *httptest.Server
	upstream = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"token":{"catalog":[{"type":"compute","endpoints":[{"url":"`+upstream.URL+`/v2.1"}]}]}}`)
	}))
	defer upstream.Close()
	rec := newRecorder()
	defer rec.close()
	u, _ := url.Parse(upstream.URL)
	addr, err := rec.ensure(u.Host)
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/v3/auth/tokens", nil)
	req.Header.Set("User-Agent", "whitehall-operator gophercloud/v2")
	start := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if strings.Contains(string(body), upstream.URL) || !strings.Contains(string(body), "http://"+addr+"/v2.1") {
		t.Errorf("body not rewritten: %s", body)
	}
	ev := rec.since(0, "operator")
	if len(ev) != 1 || ev[0].Method != "POST" || ev[0].Path != "/v3/auth/tokens" || ev[0].Code != 200 || ev[0].Start.Before(start.Add(-time.Second)) {
		t.Errorf("events = %+v", ev)
	}
	if got := rec.service(u.Host); got != "compute" {
		t.Errorf("service learnt from the catalog = %q, want compute", got)
	}
}

func TestPerSecond(t *testing.T) {
	from := time.Date(2027, 1, 31, 12, 0, 0, 0, time.UTC)
	at := func(d time.Duration) event { return event{Start: from.Add(d)} }
	got := perSecond([]event{at(-time.Second), at(0), at(300 * time.Millisecond), at(999 * time.Millisecond),
		at(1500 * time.Millisecond), at(9 * time.Second), at(10 * time.Second)}, from, 10*time.Second)
	if want := (callRate{calls: 5, peak: 3, window: 10 * time.Second}); got != want {
		t.Errorf("perSecond = %+v, want %+v (the call before and the one at the window's end are out)", got, want)
	}
}

// TestPerDepartment checks that the steady state's reads per department per resync leave
// the whole-cloud listings out (counted per period apart) and divide by the periods the
// window held.
func TestPerDepartment(t *testing.T) {
	s := &steadyResult{n: 10, resync: 10 * time.Second, window: 20 * time.Second,
		byService: map[string]int{"identity GET": 14, "identity PATCH": 2, "compute GET": 20, "network GET": 2},
		endpoints: []endpointCount{
			{Key: "identity GET /v3/projects", Count: 2},
			{Key: "identity GET /v3/role_assignments", Count: 2},
			{Key: "identity GET /v3/role_assignments?scope.project.id", Count: 10},
			{Key: "identity PATCH /v3/projects/{id}", Count: 2},
			{Key: "compute GET /v2.1/os-quota-sets/{id}/detail", Count: 20},
			{Key: "network GET /v2.0/quotas", Count: 2},
		}}
	got := map[string][3]float64{}
	for _, svc := range services {
		rd, wr := s.perDepartment(svc)
		got[svc] = [3]float64{rd, wr, float64(s.cloudReads()[svc]) / s.periods()}
	}
	want := map[string][3]float64{
		"identity":      {0.5, 0.1, 2},
		"compute":       {1, 0, 0},
		"network":       {0, 0, 1},
		"block-storage": {0, 0, 0},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("per department (-want +got):\n%s", diff)
	}
}
