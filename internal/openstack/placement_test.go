package openstack

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/gophercloud/gophercloud/v2"
)

// placementCloud is a Cloud whose Placement has two resource providers, the second of
// which goes between the listing and its reads.
func placementCloud(t *testing.T) *Cloud {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/placement/resource_providers":
			_, _ = w.Write([]byte(`{"resource_providers": [{"uuid": "rp1"}, {"uuid": "gone"}, {"uuid": "rp2"}]}`))
		case "/placement/resource_providers/rp1/inventories":
			_, _ = w.Write([]byte(`{"inventories": {"VCPU": {"total": 8, "reserved": 2, "allocation_ratio": 4.0},
				"MEMORY_MB": {"total": 4096, "reserved": 512, "allocation_ratio": 1.5}, "DISK_GB": {"total": 100}}}`))
		case "/placement/resource_providers/rp2/inventories":
			_, _ = w.Write([]byte(`{"inventories": {"VCPU": {"total": 4, "reserved": 0, "allocation_ratio": 16.0}}}`))
		case "/placement/resource_providers/rp1/usages":
			_, _ = w.Write([]byte(`{"usages": {"VCPU": 5, "MEMORY_MB": 2048, "DISK_GB": 10}}`))
		case "/placement/resource_providers/rp2/usages":
			_, _ = w.Write([]byte(`{"usages": {"VCPU": 3}}`))
		default:
			http.Error(w, `{"errors": [{"status": 404}]}`, http.StatusNotFound)
		}
	}))
	t.Cleanup(srv.Close)
	provider := &gophercloud.ProviderClient{HTTPClient: *srv.Client()}
	provider.EndpointLocator = func(gophercloud.EndpointOpts) (string, error) { return "", &gophercloud.ErrEndpointNotFound{} }
	placement := &gophercloud.ServiceClient{ProviderClient: provider, Endpoint: srv.URL + "/placement/", Type: "placement"}
	routes := &serviceRoutes{}
	routes.add(placement.Endpoint, "placement")
	return &Cloud{provider: provider, routes: routes, services: map[string]*gophercloud.ServiceClient{"placement": placement}}
}

func TestPlacementCapacityAndAllocated(t *testing.T) {
	c := placementCloud(t)
	capacity, err := c.Capacity(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	// (8 − 2) × 4 + 4 × 16 cores; (4096 − 512) × 1.5 MiB; a provider gone is skipped.
	if diff := cmp.Diff(Capacity{Cores: 88, RAMMiB: 5376}, capacity); diff != "" {
		t.Errorf("Capacity (-want +got):\n%s", diff)
	}
	allocated, err := c.Allocated(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(Capacity{Cores: 8, RAMMiB: 2048}, allocated); diff != "" {
		t.Errorf("Allocated (-want +got):\n%s", diff)
	}
}
