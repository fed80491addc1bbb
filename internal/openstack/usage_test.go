package openstack

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/gophercloud/gophercloud/v2"
)

// usageCloud is a Cloud whose compute and (when volumes) block-storage endpoints are
// served by handler; the catalog has no other service.
func usageCloud(t *testing.T, volumes bool, handler http.HandlerFunc) *Cloud {
	t.Helper()
	srv := httptest.NewServer(handler)
	t.Cleanup(srv.Close)
	provider := &gophercloud.ProviderClient{HTTPClient: *srv.Client()}
	provider.EndpointLocator = func(gophercloud.EndpointOpts) (string, error) { return "", &gophercloud.ErrEndpointNotFound{} }
	compute := &gophercloud.ServiceClient{ProviderClient: provider, Endpoint: srv.URL + "/compute/", Microversion: computeMicroversion, Type: "compute"}
	routes := &serviceRoutes{}
	routes.add(compute.Endpoint, "compute")
	services := map[string]*gophercloud.ServiceClient{"compute": compute}
	if volumes {
		services["block-storage"] = &gophercloud.ServiceClient{ProviderClient: provider, Endpoint: srv.URL + "/volume/"}
		routes.add(srv.URL+"/volume/", "block-storage")
	}
	return &Cloud{provider: provider, routes: routes, services: services}
}

// Nova pages servers, not projects: a project split over two pages has its totals
// summed, and every page is one request of the one all-projects read.
func TestComputeUsageSumsAProjectOverPages(t *testing.T) {
	var (
		mu       sync.Mutex
		requests []string
	)
	c := usageCloud(t, false, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		requests = append(requests, r.URL.Path+"?"+r.URL.RawQuery)
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Query().Get("marker") == "" {
			_, _ = w.Write([]byte(`{"tenant_usages": [
				{"tenant_id": "p1", "total_vcpus_usage": 10.5, "total_memory_mb_usage": 2048, "total_local_gb_usage": 20},
				{"tenant_id": "p2", "total_vcpus_usage": 1, "total_memory_mb_usage": 512, "total_local_gb_usage": 1}],
				"tenant_usages_links": [{"rel": "next", "href": "` + "http://" + r.Host + `/compute/os-simple-tenant-usage?detailed=1&limit=1000&marker=s9"}]}`))
			return
		}
		_, _ = w.Write([]byte(`{"tenant_usages": [{"tenant_id": "p2", "total_vcpus_usage": 2, "total_memory_mb_usage": 1024, "total_local_gb_usage": 3}]}`))
	})
	start := time.Date(2027, 3, 31, 23, 0, 0, 0, time.UTC)
	got, err := c.ComputeUsage(context.Background(), start.In(time.FixedZone("BST", 3600)), start.Add(24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]ProjectUsage{
		"p1": {ProjectID: "p1", VCPUHours: 10.5, RAMMiBHours: 2048, LocalGiBHours: 20},
		"p2": {ProjectID: "p2", VCPUHours: 3, RAMMiBHours: 1536, LocalGiBHours: 4},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ComputeUsage (-want +got):\n%s", diff)
	}
	if len(requests) != 2 {
		t.Fatalf("%d requests, want 2 (one per page): %v", len(requests), requests)
	}
	for _, want := range []string{"/compute/os-simple-tenant-usage?", "detailed=1", "start=2027-03-31T23%3A00%3A00", "end=2027-04-01T23%3A00%3A00", "limit=1000"} {
		if !strings.Contains(requests[0], want) {
			t.Errorf("first request %s lacks %s (one call for all projects, the period in UTC)", requests[0], want)
		}
	}
}

func TestComputeUsageOfAnEmptyPeriod(t *testing.T) {
	c := usageCloud(t, false, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"tenant_usages": []}`))
	})
	got, err := c.ComputeUsage(context.Background(), time.Now().Add(-time.Hour), time.Now())
	if err != nil || len(got) != 0 {
		t.Fatalf("ComputeUsage = %v, %v; want nothing", got, err)
	}
}

func TestComputeUsageErrorIsTheOperatorsOwn(t *testing.T) {
	c := usageCloud(t, false, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusForbidden)
		_, _ = w.Write([]byte(`{"forbidden": {"code": 403, "message": "Policy doesn't allow os_compute_api:os-simple-tenant-usage:list to be performed."}}`))
	})
	_, err := c.ComputeUsage(context.Background(), time.Now().Add(-time.Hour), time.Now())
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %T %v is not an *openstack.Error", err, err)
	}
	if e.StatusCode != http.StatusForbidden || e.Service != "compute" || !strings.Contains(e.CloudMessage, "os-simple-tenant-usage:list") {
		t.Errorf("error = %+v", e)
	}
	if !strings.HasPrefix(err.Error(), "reading usage of all projects: ") {
		t.Errorf("error %q does not say what was read", err)
	}
}

func TestVolumesOfAllProjects(t *testing.T) {
	var query string
	c := usageCloud(t, true, func(w http.ResponseWriter, r *http.Request) {
		query = r.URL.Path + "?" + r.URL.RawQuery
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"volumes": [
			{"id": "v1", "size": 100, "os-vol-tenant-attr:tenant_id": "p1", "created_at": "2027-01-01T10:00:00.000000"},
			{"id": "v2", "size": 5, "os-vol-tenant-attr:tenant_id": "p2", "created_at": "2027-01-02T00:00:00.000000"}]}`))
	})
	got, ok, err := c.Volumes(context.Background())
	if err != nil || !ok {
		t.Fatalf("Volumes: ok %v, %v", ok, err)
	}
	want := []VolumeSize{
		{ProjectID: "p1", SizeGiB: 100, Created: time.Date(2027, 1, 1, 10, 0, 0, 0, time.UTC)},
		{ProjectID: "p2", SizeGiB: 5, Created: time.Date(2027, 1, 2, 0, 0, 0, 0, time.UTC)},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Volumes (-want +got):\n%s", diff)
	}
	if !strings.Contains(query, "all_tenants=true") {
		t.Errorf("volumes listed with %s, not for all projects", query)
	}
}

func TestVolumesWithoutAVolumeService(t *testing.T) {
	c := usageCloud(t, false, func(http.ResponseWriter, *http.Request) { t.Error("a request without a volume service") })
	got, ok, err := c.Volumes(context.Background())
	if err != nil || ok || got != nil {
		t.Fatalf("Volumes = %v, %v, %v; want no service", got, ok, err)
	}
}
