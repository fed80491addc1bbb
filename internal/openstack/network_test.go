package openstack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/gophercloud/gophercloud/v2"
)

// miniNeutron keeps networks, subnets, routers and router ports in memory and answers
// the calls a network bundle makes. It records every write as "METHOD path".
type miniNeutron struct {
	mu     sync.Mutex
	nextID int
	// objects by collection ("networks", …) and ID.
	objects map[string]map[string]map[string]any
	writes  []string
	// leaked items are in every listing of their collection, whatever it asks for: a
	// cloud (or a proxy) that answers with another project's items.
	leaked map[string][]map[string]any
}

func newMiniNeutron(t *testing.T) (*miniNeutron, *Cloud) {
	n := &miniNeutron{objects: map[string]map[string]map[string]any{"networks": {}, "subnets": {}, "routers": {}, "ports": {}, "rbac-policies": {}}}
	// The external network, offered to every project as Neutron does when it is made
	// external.
	n.add("networks", map[string]any{"id": "ext-id", "name": "public", "project_id": "admin", "router:external": true})
	n.add("rbac-policies", map[string]any{"object_id": "ext-id", "object_type": "network", "action": "access_as_external", "target_tenant": "*"})
	srv := httptest.NewServer(http.HandlerFunc(n.serve))
	t.Cleanup(srv.Close)
	provider := &gophercloud.ProviderClient{HTTPClient: *srv.Client()}
	sc := &gophercloud.ServiceClient{ProviderClient: provider, Endpoint: srv.URL + "/", ResourceBase: srv.URL + "/v2.0/"}
	return n, &Cloud{provider: provider, routes: &serviceRoutes{}, names: newNameCache(0),
		services: map[string]*gophercloud.ServiceClient{"network": sc}}
}

func (n *miniNeutron) add(collection string, obj map[string]any) string {
	if obj["id"] == nil {
		n.nextID++
		obj["id"] = fmt.Sprintf("%s-%d", strings.TrimSuffix(collection, "s"), n.nextID)
	}
	for _, k := range []string{"description", "name", "project_id"} {
		if obj[k] == nil {
			obj[k] = ""
		}
	}
	n.objects[collection][obj["id"].(string)] = obj
	return obj["id"].(string)
}

func (n *miniNeutron) get(collection, id string) map[string]any {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.objects[collection][id]
}

func (n *miniNeutron) serve(w http.ResponseWriter, r *http.Request) {
	n.mu.Lock()
	defer n.mu.Unlock()
	parts := strings.Split(strings.TrimPrefix(r.URL.Path, "/v2.0/"), "/")
	collection, single := parts[0], strings.TrimSuffix(parts[0], "s")
	reply := func(status int, body any) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(body)
	}
	var body map[string]any
	if r.Method != http.MethodGet {
		n.writes = append(n.writes, r.Method+" "+r.URL.Path)
		_ = json.NewDecoder(r.Body).Decode(&body)
	}
	objs := n.objects[collection]
	switch {
	case r.Method == http.MethodGet && len(parts) == 1:
		list := []map[string]any{}
		for _, o := range objs {
			match := true
			for k := range r.URL.Query() {
				if fmt.Sprint(o[k]) != r.URL.Query().Get(k) {
					match = false
				}
			}
			if match {
				list = append(list, o)
			}
		}
		list = append(list, n.leaked[collection]...)
		reply(200, map[string]any{strings.ReplaceAll(collection, "-", "_"): list})
	case r.Method == http.MethodGet:
		if o, ok := objs[parts[1]]; ok {
			reply(200, map[string]any{single: o})
			return
		}
		reply(404, map[string]any{"NeutronError": map[string]any{"message": "not found"}})
	case r.Method == http.MethodPost:
		o, _ := body[single].(map[string]any)
		n.add(collection, o)
		reply(201, map[string]any{single: o})
	case r.Method == http.MethodPut && len(parts) == 3 && parts[2] == "add_router_interface":
		n.add("ports", map[string]any{"device_id": parts[1], "device_owner": "network:router_interface", "project_id": objs[parts[1]]["project_id"],
			"fixed_ips": []any{map[string]any{"subnet_id": fmt.Sprint(body["subnet_id"])}}})
		reply(200, map[string]any{"id": parts[1]})
	case r.Method == http.MethodPut && len(parts) == 3 && parts[2] == "remove_router_interface":
		delete(n.objects["ports"], fmt.Sprint(body["port_id"]))
		reply(200, map[string]any{"id": parts[1]})
	case r.Method == http.MethodDelete:
		delete(objs, parts[1])
		w.WriteHeader(204)
	case r.Method == http.MethodPut:
		o, ok := objs[parts[1]]
		if !ok {
			reply(404, map[string]any{"NeutronError": map[string]any{"message": "not found"}})
			return
		}
		update, _ := body[single].(map[string]any)
		for k, v := range update {
			o[k] = v
		}
		reply(200, map[string]any{single: o})
	default:
		reply(405, nil)
	}
}

func TestEnsureNetworkBundle(t *testing.T) {
	spec := NetworkBundleSpec{ProjectID: "p1", Name: "hmrc-sa", CIDR: "10.20.0.0/24", ExternalNetwork: "public", Owner: "uid-1"}
	mark := OwnerMark("uid-1")
	ctx := context.Background()

	t.Run("creates a marked bundle, and an unchanged one costs no write", func(t *testing.T) {
		n, c := newMiniNeutron(t)
		b, created, err := c.EnsureNetworkBundle(ctx, spec, NetworkBundle{})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]string{"network", "subnet", "router", "router interface"}, created); diff != "" {
			t.Errorf("created (-want +got):\n%s", diff)
		}
		for _, o := range []map[string]any{n.get("networks", b.NetworkID), n.get("subnets", b.SubnetID), n.get("routers", b.RouterID)} {
			if o["description"] != mark {
				t.Errorf("%v has description %q, want %q", o["id"], o["description"], mark)
			}
		}
		n.writes = nil
		again, created, err := c.EnsureNetworkBundle(ctx, spec, b)
		if err != nil || len(created) > 0 || len(n.writes) > 0 {
			t.Errorf("second run: err %v, created %v, writes %v", err, created, n.writes)
		}
		if diff := cmp.Diff(b, again); diff != "" {
			t.Errorf("second run (-want +got):\n%s", diff)
		}
	})

	t.Run("a department's network with another CIDR is a conflict, and nothing is written", func(t *testing.T) {
		n, c := newMiniNeutron(t)
		net := n.add("networks", map[string]any{"name": "hmrc-sa", "project_id": "p1", "description": "ours"})
		n.add("subnets", map[string]any{"name": "hmrc-sa", "project_id": "p1", "network_id": net, "cidr": "10.9.0.0/24"})
		b, _, err := c.EnsureNetworkBundle(ctx, spec, NetworkBundle{})
		var conflict *NetworkConflictError
		if !errors.As(err, &conflict) || conflict.ID != net || !strings.Contains(err.Error(), "10.9.0.0/24") {
			t.Fatalf("err = %v, want a conflict on %s", err, net)
		}
		if len(n.writes) > 0 || b.NetworkID != "" {
			t.Errorf("writes %v, bundle %+v; want none", n.writes, b)
		}
	})

	t.Run("a department's exact match is adopted, unmarked", func(t *testing.T) {
		n, c := newMiniNeutron(t)
		net := n.add("networks", map[string]any{"name": "hmrc-sa", "project_id": "p1"})
		sub := n.add("subnets", map[string]any{"name": "theirs", "project_id": "p1", "network_id": net, "cidr": "10.20.0.0/24"})
		b, _, err := c.EnsureNetworkBundle(ctx, spec, NetworkBundle{})
		if err != nil {
			t.Fatal(err)
		}
		if b.NetworkID != net || b.SubnetID != sub || !cmp.Equal(b.Adopted, []string{"network", "subnet"}) {
			t.Errorf("bundle %+v; want network %s and subnet %s adopted", b, net, sub)
		}
		if n.get("networks", net)["description"] != "" {
			t.Errorf("the department's network was marked")
		}
		// Adopted stays adopted on the next pass: never claimed as the operator's.
		again, _, err := c.EnsureNetworkBundle(ctx, spec, b)
		if err != nil || !cmp.Equal(again.Adopted, []string{"network", "subnet"}) || n.get("networks", net)["description"] != "" {
			t.Errorf("second pass: %+v, %v", again, err)
		}
	})

	t.Run("a bundle made before marks, recorded in status and matching, is claimed", func(t *testing.T) {
		n, c := newMiniNeutron(t)
		net := n.add("networks", map[string]any{"name": "hmrc-sa", "project_id": "p1"})
		sub := n.add("subnets", map[string]any{"name": "hmrc-sa", "project_id": "p1", "network_id": net, "cidr": "10.20.0.0/24"})
		rtr := n.add("routers", map[string]any{"name": "hmrc-sa", "project_id": "p1", "external_gateway_info": map[string]any{"network_id": "ext-id"}})
		n.add("ports", map[string]any{"device_id": rtr, "device_owner": "network:router_interface", "fixed_ips": []any{map[string]any{"subnet_id": sub}}})
		b, created, err := c.EnsureNetworkBundle(ctx, spec, NetworkBundle{NetworkID: net, SubnetID: sub, RouterID: rtr})
		if err != nil || len(created) > 0 || len(b.Adopted) > 0 {
			t.Fatalf("bundle %+v, created %v, err %v", b, created, err)
		}
		for _, o := range []map[string]any{n.get("networks", net), n.get("subnets", sub), n.get("routers", rtr)} {
			if o["description"] != mark {
				t.Errorf("%v not claimed: description %q", o["id"], o["description"])
			}
		}
	})

	t.Run("IDs of a project recreated by hand are stale: a new bundle is made", func(t *testing.T) {
		n, c := newMiniNeutron(t)
		old := NetworkBundle{
			NetworkID: n.add("networks", map[string]any{"name": "hmrc-sa", "project_id": "p0", "description": mark}),
			RouterID:  n.add("routers", map[string]any{"name": "hmrc-sa", "project_id": "p0", "description": mark}),
		}
		b, created, err := c.EnsureNetworkBundle(ctx, spec, old)
		if err != nil {
			t.Fatal(err)
		}
		if b.NetworkID == old.NetworkID || b.RouterID == old.RouterID || len(created) != 4 {
			t.Errorf("bundle %+v created %v; want a new one, not %+v", b, created, old)
		}
		if got := n.get("networks", b.NetworkID)["project_id"]; got != "p1" {
			t.Errorf("new network in project %v", got)
		}
	})

	t.Run("without externalNetwork the gateway goes and the router stays", func(t *testing.T) {
		n, c := newMiniNeutron(t)
		b, _, err := c.EnsureNetworkBundle(ctx, spec, NetworkBundle{})
		if err != nil {
			t.Fatal(err)
		}
		noGateway := spec
		noGateway.ExternalNetwork = ""
		after, _, err := c.EnsureNetworkBundle(ctx, noGateway, b)
		if err != nil {
			t.Fatal(err)
		}
		if after.RouterID != b.RouterID || n.get("routers", b.RouterID) == nil {
			t.Errorf("router %s not kept: %+v", b.RouterID, after)
		}
		if gw, _ := n.get("routers", b.RouterID)["external_gateway_info"].(map[string]any); len(gw) > 0 && gw["network_id"] != nil {
			t.Errorf("gateway not cleared: %v", gw)
		}
	})
}

func TestDeleteNetworkBundle(t *testing.T) {
	n, c := newMiniNeutron(t)
	ctx := context.Background()
	own, _, err := c.EnsureNetworkBundle(ctx, NetworkBundleSpec{ProjectID: "p1", Name: "sa", CIDR: "10.20.0.0/24", ExternalNetwork: "public", Owner: "uid-1"}, NetworkBundle{})
	if err != nil {
		t.Fatal(err)
	}
	handMade := n.add("networks", map[string]any{"name": "theirs", "project_id": "p1"})
	legacyRouter := n.add("routers", map[string]any{"name": "old", "project_id": "p1"})
	adopted := n.add("networks", map[string]any{"name": "adopted", "project_id": "p1"})
	otherTenant := n.add("routers", map[string]any{"name": "x", "project_id": "p1", "description": OwnerMark("uid-2")})
	elsewhere := n.add("networks", map[string]any{"name": "sa", "project_id": "p2", "description": OwnerMark("uid-1")})

	err = c.DeleteNetworkBundle(ctx, "p1", Ownership{Owner: "uid-1", Known: NetworkBundle{
		NetworkID: adopted, RouterID: legacyRouter, Adopted: []string{"network"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	for _, gone := range []struct{ collection, id string }{{"networks", own.NetworkID}, {"routers", own.RouterID}, {"routers", legacyRouter}} {
		if n.get(gone.collection, gone.id) != nil {
			t.Errorf("%s %s was not deleted", gone.collection, gone.id)
		}
	}
	for _, kept := range []struct{ collection, id string }{{"networks", handMade}, {"networks", adopted}, {"routers", otherTenant}, {"networks", elsewhere}} {
		if n.get(kept.collection, kept.id) == nil {
			t.Errorf("%s %s was deleted: it is not the operator's", kept.collection, kept.id)
		}
	}
	for _, w := range n.writes {
		if strings.Contains(w, "remove_router_interface") {
			return
		}
	}
	t.Errorf("the router's interface was not detached before deleting it: %v", n.writes)
}
