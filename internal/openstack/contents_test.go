package openstack

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/gophercloud/gophercloud/v2"
)

func TestIsDepartmentPort(t *testing.T) {
	cases := []struct {
		reason, deviceOwner string
		want                bool
	}{
		{"a server's port", "compute:nova", true},
		{"a port made by hand", "", true},
		{"a load balancer's port", "Octavia", true},
		{"DHCP comes with the network", "network:dhcp", false},
		{"OVN's metadata port comes with the network", "network:distributed", false},
		{"a router interface", "network:router_interface", false},
		{"a distributed router interface", "network:router_interface_distributed", false},
		{"an HA router's interface", "network:ha_router_replicated_interface", false},
		{"a router gateway", "network:router_gateway", false},
		{"an HA router's own port", "network:router_ha_interface", false},
		{"a DVR SNAT port", "network:router_centralized_snat", false},
		{"a floating IP's port (the floating IP counts)", "network:floatingip", false},
	}
	for _, tc := range cases {
		if got := isDepartmentPort(tc.deviceOwner); got != tc.want {
			t.Errorf("%s: isDepartmentPort(%q) = %v, want %v", tc.reason, tc.deviceOwner, got, tc.want)
		}
	}
}

func TestOwnershipOwns(t *testing.T) {
	own := Ownership{Owner: "uid-1", Known: NetworkBundle{NetworkID: "n1", SubnetID: "s1", RouterID: "r1"}}
	adopted := Ownership{Owner: "uid-1", Known: NetworkBundle{NetworkID: "n1", SubnetID: "s1", RouterID: "r1", Adopted: []string{"network", "subnet"}}}
	cases := []struct {
		reason          string
		own             Ownership
		kind, id, descr string
		want            bool
	}{
		{"marked as this Tenant's", own, "network", "n9", OwnerMark("uid-1"), true},
		{"marked as another Tenant's, even if status records it", own, "network", "n1", OwnerMark("uid-2"), false},
		{"made before marks: recorded in status", own, "router", "r1", "", true},
		{"recorded, with a description someone wrote", own, "network", "n1", "made by hand", true},
		{"not recorded and not marked", own, "network", "n2", "", false},
		{"a recorded ID of another kind", own, "router", "n1", "", false},
		{"adopted: the department's", adopted, "network", "n1", "", false},
		{"adopted network, own router", adopted, "router", "r1", "", true},
		{"no owner, a mark with an empty UID", Ownership{}, "network", "n1", OwnerMarkPrefix, false},
		{"marked for the owner it was taken back from", Ownership{Owner: "uid-1", Former: "uid-0"}, "network", "n9", OwnerMark("uid-0"), true},
		{"no former owner: an empty mark is nobody's", Ownership{Owner: "uid-1"}, "network", "n9", OwnerMarkPrefix, false},
	}
	for _, tc := range cases {
		if got := tc.own.Owns(tc.kind, tc.id, tc.descr); got != tc.want {
			t.Errorf("%s: Owns(%s, %s, %q) = %v, want %v", tc.reason, tc.kind, tc.id, tc.descr, got, tc.want)
		}
	}
}

func TestJudge(t *testing.T) {
	match := func() (string, error) { return "", nil }
	differs := func() (string, error) { return "its CIDR is 10.9.0.0/24, not 10.20.0.0/24", nil }
	cases := []struct {
		reason       string
		p            piece
		want         verdict
		wantConflict string
	}{
		{"its own mark", piece{description: OwnerMark("uid-1"), mismatch: differs}, useOwned, ""},
		{"another Tenant's mark", piece{description: OwnerMark("uid-2"), mismatch: match}, 0, "made for another Tenant"},
		{"found by name, exact match", piece{mismatch: match}, useAdopted, ""},
		{"found by name, different", piece{mismatch: differs}, 0, "10.9.0.0/24"},
		{"recorded before marks, matching: claimed", piece{known: true, mismatch: match}, claimOwned, ""},
		{"recorded before marks, different: a department's", piece{known: true, mismatch: differs}, 0, "10.9.0.0/24"},
		{"adopted before stays adopted", piece{known: true, adoptedBefore: true, mismatch: differs}, useAdopted, ""},
		{"the former owner's mark: claimed, whatever it holds", piece{description: OwnerMark("uid-0"), mismatch: differs}, claimOwned, ""},
		{"an empty mark is no former owner's", piece{description: OwnerMarkPrefix, mismatch: match}, 0, "made for another Tenant"},
	}
	for _, tc := range cases {
		tc.p.kind, tc.p.id = "subnet", "s1"
		got, err := judge(tc.p, "uid-1", "uid-0")
		if tc.wantConflict != "" {
			var conflict *NetworkConflictError
			if !errors.As(err, &conflict) || !strings.Contains(err.Error(), tc.wantConflict) {
				t.Errorf("%s: judge() error = %v, want a conflict saying %q", tc.reason, err, tc.wantConflict)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%s: judge() = %v, %v; want %v", tc.reason, got, err, tc.want)
		}
	}
}

func TestProjectAccount(t *testing.T) {
	sc := &gophercloud.ServiceClient{Endpoint: "http://swift:8080/v1/AUTH_admin123/"}
	got, err := projectAccount(sc, "dept456")
	if err != nil {
		t.Fatal(err)
	}
	if want := "http://swift:8080/v1/AUTH_dept456/"; got.Endpoint != want {
		t.Errorf("endpoint = %s, want %s", got.Endpoint, want)
	}
	if sc.Endpoint != "http://swift:8080/v1/AUTH_admin123/" {
		t.Errorf("the admin's client was changed: %s", sc.Endpoint)
	}
	if _, err := projectAccount(&gophercloud.ServiceClient{Endpoint: "http://swift:8080/"}, "p"); err == nil {
		t.Error("an endpoint without an account was accepted")
	}
}

// TestProjectContents lists a project through a fake of each API and checks what counts
// as the department's data, and that servers are listed with a microversion that shows
// those in a down cell.
func TestProjectContents(t *testing.T) {
	var (
		mu       sync.Mutex
		requests []string
		novaMV   string
	)
	bodies := map[string]string{
		"/compute/servers/detail": `{"servers": [{"id": "s1", "name": "web-0"}, {"id": "s2", "status": "UNKNOWN"}]}`,
		"/volume/volumes/detail":  `{"volumes": [{"id": "v1", "name": "data", "status": "error"}]}`,
		"/volume/snapshots":       `{"snapshots": [{"id": "sn1", "name": "nightly"}]}`,
		"/volume/backups":         `{"backups": []}`,
		"/image/v2/images": `{"images": [{"id": "i1", "name": "golden", "visibility": "private"},
			{"id": "i2", "name": "shared-one", "visibility": "shared"}, {"id": "i3", "name": "published", "visibility": "public"}]}`,
		"/network/v2.0/floatingips": `{"floatingips": [{"id": "f1", "floating_ip_address": "172.24.4.9"}]}`,
		"/network/v2.0/networks": `{"networks": [{"id": "n1", "name": "bundle", "description": "` + OwnerMark("uid-1") + `"},
			{"id": "n0", "name": "legacy"}, {"id": "n2", "name": "hand-made"}]}`,
		"/network/v2.0/routers": `{"routers": [{"id": "r1", "name": "bundle", "description": "` + OwnerMark("uid-1") + `"},
			{"id": "r2", "name": "theirs", "description": "` + OwnerMark("uid-2") + `"}]}`,
		"/network/v2.0/security-groups": `{"security_groups": [{"id": "g0", "name": "default"}, {"id": "g1", "name": "web"}]}`,
		"/network/v2.0/ports": `{"ports": [{"id": "p1", "device_owner": "network:dhcp"}, {"id": "p2", "device_owner": "network:router_interface"},
			{"id": "p3", "device_owner": "network:distributed"}, {"id": "p4", "name": "vip", "device_owner": ""},
			{"id": "p5", "device_owner": "compute:nova"}, {"id": "p6", "device_owner": "network:router_gateway"}]}`,
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		requests = append(requests, r.URL.Path+"?"+r.URL.RawQuery)
		if strings.HasPrefix(r.URL.Path, "/compute/") {
			novaMV = r.Header.Get("X-OpenStack-Nova-API-Version")
		}
		mu.Unlock()
		body, ok := bodies[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		var check any
		if json.Unmarshal([]byte(body), &check) != nil {
			t.Errorf("bad test body for %s", r.URL.Path)
		}
		_, _ = w.Write([]byte(body))
	}))
	defer srv.Close()

	provider := &gophercloud.ProviderClient{HTTPClient: *srv.Client()}
	provider.EndpointLocator = func(gophercloud.EndpointOpts) (string, error) { return "", &gophercloud.ErrEndpointNotFound{} }
	client := func(path string) *gophercloud.ServiceClient {
		return &gophercloud.ServiceClient{ProviderClient: provider, Endpoint: srv.URL + path, Microversion: computeMicroversion}
	}
	network := client("/network/")
	network.ResourceBase = srv.URL + "/network/v2.0/"
	compute := client("/compute/")
	compute.Type = "compute" // as openstack.NewComputeV2 sets it: the microversion header depends on it
	image := client("/image/")
	image.ResourceBase = srv.URL + "/image/v2/"
	c := &Cloud{provider: provider, routes: &serviceRoutes{}, services: map[string]*gophercloud.ServiceClient{
		"compute": compute, "block-storage": client("/volume/"), "image": image, "network": network,
	}}

	got, err := c.ProjectContents(context.Background(), "proj-1", Ownership{Owner: "uid-1", Known: NetworkBundle{NetworkID: "n0"}})
	if err != nil {
		t.Fatal(err)
	}
	want := Contents{
		Servers:        []string{"web-0 (s1)", "s2"},
		Volumes:        []string{"data (v1)"},
		Snapshots:      []string{"nightly (sn1)"},
		Images:         []string{"golden (i1)", "shared-one (i2)"},
		FloatingIPs:    []string{"172.24.4.9 (f1)"},
		Networks:       []string{"hand-made (n2)"},
		Routers:        []string{"theirs (r2)"},
		SecurityGroups: []string{"web (g1)"},
		Ports:          []string{"vip (p4)", "p5"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ProjectContents (-want +got):\n%s", diff)
	}
	if novaMV != inventoryComputeMicroversion {
		t.Errorf("servers listed with microversion %q, want %s", novaMV, inventoryComputeMicroversion)
	}
	if c.services["compute"].Microversion != computeMicroversion {
		t.Errorf("the shared compute client's microversion changed to %s", c.services["compute"].Microversion)
	}
	// Every listing is filtered to the project, on the server side.
	for _, r := range requests {
		if !strings.Contains(r, "proj-1") {
			t.Errorf("request %s is not filtered by the project", r)
		}
	}
	if len(requests) != 10 {
		t.Errorf("%d requests, want one per kind (10, no object-store in the catalog): %v", len(requests), requests)
	}
}
