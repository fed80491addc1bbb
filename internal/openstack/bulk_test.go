package openstack

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/gophercloud/gophercloud/v2"

	"github.com/whitehall-cloud/whitehall-operator/internal/quota"
)

// bulkCloud is a Cloud whose Keystone and Neutron are served by answers (request line
// → JSON body), counting requests. A request it has no answer for is a 404.
type bulkCloud struct {
	*Cloud
	mu       sync.Mutex
	answers  map[string]string
	requests []string
}

func newBulkCloud(t *testing.T, answers map[string]string) *bulkCloud {
	t.Helper()
	b := &bulkCloud{answers: answers}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		line := r.Method + " " + r.URL.Path
		b.mu.Lock()
		b.requests = append(b.requests, line)
		body, ok := b.answers[line]
		b.mu.Unlock()
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(strings.ReplaceAll(body, "HOST", "http://"+r.Host)))
	}))
	t.Cleanup(srv.Close)
	provider := &gophercloud.ProviderClient{HTTPClient: *srv.Client()}
	identity := &gophercloud.ServiceClient{ProviderClient: provider, Endpoint: srv.URL + "/v3/", Type: "identity"}
	network := &gophercloud.ServiceClient{ProviderClient: provider, Endpoint: srv.URL + "/network/", ResourceBase: srv.URL + "/network/v2.0/", Type: "network"}
	b.Cloud = &Cloud{provider: provider, routes: &serviceRoutes{}, identity: identity,
		services: map[string]*gophercloud.ServiceClient{"network": network}, names: newNameCache(time.Minute)}
	return b
}

func (b *bulkCloud) took() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := b.requests
	b.requests = nil
	return out
}

const (
	projectsAnswer = `{"projects": [
		{"id": "p1", "name": "one", "domain_id": "default", "description": "d", "enabled": true, "tags": ["a"],
		 "whitehall_owner": "uid-1", "whitehall_namespace": "ns", "whitehall_tenant": "t", "whitehall_cluster": "c1"},
		{"id": "p2", "name": "two", "domain_id": "default", "enabled": false, "tags": []}],
		"links": {"next": null, "self": "HOST/v3/projects"}}`
	assignmentsAnswer = `{"role_assignments": [
		{"scope": {"project": {"id": "p1"}}, "group": {"id": "g1"}, "role": {"id": "member"}},
		{"scope": {"project": {"id": "p1"}}, "user": {"id": "u1"}, "role": {"id": "reader"}},
		{"scope": {"domain": {"id": "default"}}, "user": {"id": "u1"}, "role": {"id": "admin"}},
		{"scope": {"system": {"all": true}}, "user": {"id": "admin"}, "role": {"id": "admin"}}],
		"links": {"next": null, "self": "HOST/v3/role_assignments"}}`
	networkAnswer = `{"quotas": [
		{"project_id": "p1", "tenant_id": "p1", "network": 3, "port": 50, "subnet": 10, "router": 2, "floatingip": 1},
		{"tenant_id": "gone", "network": 1}]}`
)

func TestBulkReads(t *testing.T) {
	c := newBulkCloud(t, map[string]string{
		"GET /v3/projects": projectsAnswer, "GET /v3/role_assignments": assignmentsAnswer, "GET /network/v2.0/quotas": networkAnswer,
	})
	ctx := context.Background()
	projects, err := c.ListAllProjects(ctx)
	if err != nil {
		t.Fatal(err)
	}
	wantProjects := []Project{
		{ID: "p1", Name: "one", DomainID: "default", Description: "d", Enabled: true, Tags: []string{"a"},
			Owner: "uid-1", OwnerNamespace: "ns", OwnerName: "t", OwnerCluster: "c1"},
		{ID: "p2", Name: "two", DomainID: "default", Tags: []string{}},
	}
	if diff := cmp.Diff(wantProjects, projects); diff != "" {
		t.Errorf("ListAllProjects (-want +got):\n%s", diff)
	}
	assignments, err := c.ListAllAssignments(ctx)
	if err != nil {
		t.Fatal(err)
	}
	wantAssignments := map[string][]Assignment{"p1": {{GroupID: "g1", RoleID: "member"}, {UserID: "u1", RoleID: "reader"}}}
	if diff := cmp.Diff(wantAssignments, assignments); diff != "" {
		t.Errorf("ListAllAssignments, domain and system scopes left out (-want +got):\n%s", diff)
	}
	network, err := c.ListNetworkQuotas(ctx)
	if err != nil {
		t.Fatal(err)
	}
	wantNetwork := map[string]quota.Limits{
		"p1":   {quota.Networks: 3, quota.Ports: 50, quota.Subnets: 10, quota.Routers: 2, quota.FloatingIPs: 1},
		"gone": {quota.Networks: 1},
	}
	if diff := cmp.Diff(wantNetwork, network); diff != "" {
		t.Errorf("ListNetworkQuotas (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"GET /v3/projects", "GET /v3/role_assignments", "GET /network/v2.0/quotas"}, c.took()); diff != "" {
		t.Errorf("one request per listing (-want +got):\n%s", diff)
	}
}

func TestBulkReadsRefuseATruncatedListing(t *testing.T) {
	c := newBulkCloud(t, map[string]string{
		"GET /v3/role_assignments": `{"role_assignments": [{"scope": {"project": {"id": "p1"}}, "group": {"id": "g1"}, "role": {"id": "member"}}],
			"truncated": true, "links": {"next": null}}`,
	})
	if got, err := c.ListAllAssignments(context.Background()); err == nil {
		t.Errorf("a listing Keystone truncated was used: %v", got)
	}
}

// The Cloud's reads at rest go through its view; its own writes make them live again.
func TestCloudReadsAtRestFromItsView(t *testing.T) {
	c := newBulkCloud(t, map[string]string{
		"GET /v3/projects": projectsAnswer, "GET /v3/role_assignments": assignmentsAnswer, "GET /network/v2.0/quotas": networkAnswer,
		"GET /v3/projects/p1":   `{"project": {"id": "p1", "name": "one-live", "domain_id": "default", "enabled": true}}`,
		"PATCH /v3/projects/p1": `{"project": {"id": "p1", "name": "one", "domain_id": "default", "enabled": true}}`,
	})
	c.view = NewBulkView(c.Cloud, time.Minute, "test", nil)
	ctx := AtRest(context.Background())
	p, err := c.GetProject(ctx, "p1")
	if err != nil || p.Name != "one" {
		t.Fatalf("GetProject at rest = %v, %v; want the listed project", p, err)
	}
	if a, err := c.ListAssignments(ctx, "p1"); err != nil || len(a) != 2 {
		t.Fatalf("ListAssignments at rest = %v, %v; want the two listed", a, err)
	}
	r, err := c.GetQuota(ctx, quota.NetworkService, "p1")
	if err != nil || !r.FromView || r.Limits[quota.Networks] != 3 {
		t.Fatalf("GetQuota(network) at rest = %+v, %v; want the listed limits, marked FromView", r, err)
	}
	if got := c.took(); len(got) != 3 {
		t.Errorf("requests %v, want only the three listings", got)
	}
	if _, err := c.UpdateProject(ctx, "p1", ProjectUpdate{Name: new("one")}); err != nil {
		t.Fatal(err)
	}
	if p, err := c.GetProject(ctx, "p1"); err != nil || p.Name != "one-live" {
		t.Errorf("GetProject after the operator's own write = %v, %v; want the live answer", p, err)
	}
	if diff := cmp.Diff([]string{"PATCH /v3/projects/p1", "GET /v3/projects/p1"}, c.took()); diff != "" {
		t.Errorf("requests after the write (-want +got):\n%s", diff)
	}
}
