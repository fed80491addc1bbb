package openstack

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/gophercloud/gophercloud/v2"
)

// cannedKeystone answers GETs by path with canned bodies and records every request as
// "METHOD path?query".
type cannedKeystone struct {
	mu       sync.Mutex
	answers  map[string]any
	requests []string
}

func newCannedKeystone(t *testing.T, answers map[string]any) (*cannedKeystone, *Cloud) {
	k := &cannedKeystone{answers: answers}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		k.mu.Lock()
		defer k.mu.Unlock()
		k.requests = append(k.requests, r.Method+" "+r.URL.EscapedPath()+"?"+r.URL.RawQuery)
		if r.Method == http.MethodPut {
			w.WriteHeader(http.StatusCreated)
			return
		}
		body, ok := k.answers[r.URL.Path]
		if !ok {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(body)
	}))
	t.Cleanup(srv.Close)
	provider := &gophercloud.ProviderClient{HTTPClient: *srv.Client()}
	sc := &gophercloud.ServiceClient{ProviderClient: provider, Endpoint: srv.URL + "/v3/", ResourceBase: srv.URL + "/v3/"}
	return k, &Cloud{provider: provider, routes: &serviceRoutes{}, identity: sc, names: newNameCache(0), services: map[string]*gophercloud.ServiceClient{}}
}

func TestInventoryIdentity(t *testing.T) {
	ctx := context.Background()
	scope := func(project string) map[string]any { return map[string]any{"project": map[string]any{"id": project}} }
	k, c := newCannedKeystone(t, map[string]any{
		"/v3/projects": map[string]any{"projects": []any{
			map[string]any{"id": "p1", "name": "vat", "domain_id": "default", "enabled": true, "tags": []any{"a"}, "description": "d"},
			map[string]any{"id": "p2", "name": "owned", "domain_id": "default", "enabled": false, "whitehall_owner": "uid", "whitehall_namespace": "hmrc", "whitehall_tenant": "vat"},
			map[string]any{"id": "d1", "name": "a-domain", "domain_id": "default", "is_domain": true},
			map[string]any{"id": "p3", "name": "elsewhere", "domain_id": "other"},
		}, "links": map[string]any{}},
		"/v3/role_assignments": map[string]any{"role_assignments": []any{
			map[string]any{"role": map[string]any{"id": "r1", "name": "member"}, "scope": scope("p1"),
				"group": map[string]any{"id": "g1", "name": "whitehall-devops", "domain": map[string]any{"id": "default", "name": "Default"}}},
			map[string]any{"role": map[string]any{"id": "r2", "name": "reader"}, "scope": scope("p1"),
				"user": map[string]any{"id": "u1", "name": "alice", "domain": map[string]any{"id": "staff", "name": "Staff"}}},
			map[string]any{"role": map[string]any{"id": "r1", "name": "member"}, "scope": scope("p9"),
				"user": map[string]any{"id": "u9", "name": "mallory", "domain": map[string]any{"id": "default", "name": "Default"}}},
		}, "links": map[string]any{}},
	})

	list, err := c.ListProjects(ctx, "default")
	if err != nil {
		t.Fatal(err)
	}
	want := []Project{
		{ID: "p1", Name: "vat", DomainID: "default", Description: "d", Tags: []string{"a"}, Enabled: true},
		{ID: "p2", Name: "owned", DomainID: "default", Owner: "uid", OwnerNamespace: "hmrc", OwnerName: "vat"},
	}
	if diff := cmp.Diff(want, list); diff != "" {
		t.Errorf("the domain's projects, not domains, with their owner records (-want +got):\n%s", diff)
	}

	people, err := c.ListNamedAssignments(ctx, "p1")
	if err != nil {
		t.Fatal(err)
	}
	wantPeople := []NamedAssignment{
		{Role: "member", Group: "whitehall-devops", GroupDomain: "Default"},
		{Role: "reader", User: "alice", UserDomain: "Staff"},
	}
	if diff := cmp.Diff(wantPeople, people); diff != "" {
		t.Errorf("by name, only this project's (-want +got):\n%s", diff)
	}
	if q := k.requests[len(k.requests)-1]; !strings.Contains(q, "include_names=true") || !strings.Contains(q, "scope.project.id=p1") {
		t.Errorf("role assignments asked as %q", q)
	}

	if err := c.AddProjectTag(ctx, "p1", "whitehall.cloud:handover=hmrc"); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff("PUT /v3/projects/p1/tags/whitehall.cloud:handover=hmrc?", k.requests[len(k.requests)-1]); diff != "" {
		t.Errorf("one tag added by its own PUT, the others untouched (-want +got):\n%s", diff)
	}
	for _, r := range k.requests[:len(k.requests)-1] {
		if !strings.HasPrefix(r, "GET ") {
			t.Errorf("reading wrote: %s", r)
		}
	}
}

func TestOpenCloudNeverQuotesTheFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "clouds.yaml")
	secret := "hunter2-very-secret"
	if err := os.WriteFile(path, []byte("clouds:\n  dev:\n    auth: {password: "+secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("OS_CLIENT_CONFIG_FILE", path)
	_, err := OpenCloud(context.Background(), "dev", 0)
	if err == nil || strings.Contains(err.Error(), secret) || !errors.Is(err, ErrCredentials) {
		t.Errorf("err = %v; want ErrCredentials without the file's content", err)
	}
	_, err = OpenCloud(context.Background(), "prod", 0)
	if err == nil || strings.Contains(err.Error(), secret) {
		t.Errorf("err = %v; want an error without the file's content", err)
	}
}
