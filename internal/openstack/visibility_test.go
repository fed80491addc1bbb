package openstack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/gophercloud/gophercloud/v2"
)

// checkResolved compares a resolution with what a case wants: an ID, or an error whose
// message holds wantErr ("not found": one wrapping ErrNotFound; otherwise a *NameError).
func checkResolved(t *testing.T, id string, err error, want, wantErr string) {
	t.Helper()
	switch {
	case wantErr == "" && err != nil:
		t.Fatalf("err = %v, want %s", err, want)
	case wantErr == "":
		if id != want {
			t.Errorf("resolved to %q, want %q", id, want)
		}
	case wantErr == "not found":
		if !errors.Is(err, ErrNotFound) {
			t.Errorf("err = %v (id %q), want not found", err, id)
		}
	default:
		var name *NameError
		if !errors.As(err, &name) || !strings.Contains(err.Error(), wantErr) {
			t.Errorf("err = %v (id %q), want a NameError saying %q", err, id, wantErr)
		}
	}
}

func TestExternalNetworkID(t *testing.T) {
	external := func(id, name, project string, shared bool) map[string]any {
		return map[string]any{"id": id, "name": name, "project_id": project, "router:external": true, "shared": shared}
	}
	offer := func(n *miniNeutron, network, target string) {
		n.add("rbac-policies", map[string]any{"object_id": network, "object_type": "network", "action": "access_as_external", "target_tenant": target})
	}
	tests := []struct {
		name              string
		setup             func(n *miniNeutron)
		project, nameOrID string
		want, wantErr     string
	}{{
		name: "a department's networks named like it, whose IDs sort first, are not external",
		setup: func(n *miniNeutron) {
			for i := range 3 {
				n.add("networks", map[string]any{"id": fmt.Sprintf("0000-%d", i), "name": "public", "project_id": "p2"})
			}
		},
		project: "p1", nameOrID: "public", want: "ext-id",
	}, {
		name: "by ID", project: "p1", nameOrID: "ext-id", want: "ext-id",
	}, {
		name: "an ID of a network that is not external",
		setup: func(n *miniNeutron) {
			n.add("networks", map[string]any{"id": "dept-net", "name": "x", "project_id": "p2"})
		},
		project: "p1", nameOrID: "dept-net", wantErr: "not an external network",
	}, {
		name:    "a second external network of the name the project may use: the count, never the first",
		setup:   func(n *miniNeutron) { n.add("networks", external("0000-ext", "public", "admin", true)) },
		project: "p1", nameOrID: "public", wantErr: "2 external networks that project p1 may use have this name",
	}, {
		name: "a department's network made external and offered to the project counts as one more",
		setup: func(n *miniNeutron) {
			n.add("networks", external("0000-dept", "public", "p2", false))
			offer(n, "0000-dept", "p1")
		},
		project: "p1", nameOrID: "public", wantErr: "2 external networks that project p1 may use have this name",
	}, {
		name: "an external network offered to another project only: not by name",
		setup: func(n *miniNeutron) {
			n.add("networks", external("corp-id", "corp", "admin", false))
			offer(n, "corp-id", "p3")
		},
		project: "p1", nameOrID: "corp", wantErr: "not offered to project p1",
	}, {
		name: "nor by ID",
		setup: func(n *miniNeutron) {
			n.add("networks", external("corp-id", "corp", "admin", false))
			offer(n, "corp-id", "p3")
		},
		project: "p1", nameOrID: "corp-id", wantErr: "not offered to project p1",
	}, {
		name: "offered to the project by RBAC",
		setup: func(n *miniNeutron) {
			n.add("networks", external("corp-id", "corp", "admin", false))
			offer(n, "corp-id", "p3")
		},
		project: "p3", nameOrID: "corp", want: "corp-id",
	}, {
		name:    "shared",
		setup:   func(n *miniNeutron) { n.add("networks", external("lab-id", "lab", "admin", true)) },
		project: "p1", nameOrID: "lab", want: "lab-id",
	}, {
		name: "none of that name", project: "p1", nameOrID: "nowhere", wantErr: "not found",
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n, c := newMiniNeutron(t)
			if tc.setup != nil {
				tc.setup(n)
			}
			id, err := c.externalNetworkID(context.Background(), c.services["network"], tc.project, tc.nameOrID)
			checkResolved(t, id, err, tc.want, tc.wantErr)
		})
	}
}

// An answer cached for one project is never another's: the network offered to p3 alone
// stays refused to p1 right after p3 resolved it.
func TestExternalNetworkCachePerProject(t *testing.T) {
	n, c := newMiniNeutron(t)
	c.names = newNameCache(time.Hour)
	n.add("networks", map[string]any{"id": "corp-id", "name": "corp", "project_id": "admin", "router:external": true})
	n.add("rbac-policies", map[string]any{"object_id": "corp-id", "object_type": "network", "action": "access_as_external", "target_tenant": "p3"})
	ctx := context.Background()
	id, err := c.externalNetworkID(ctx, c.services["network"], "p3", "corp")
	checkResolved(t, id, err, "corp-id", "")
	id, err = c.externalNetworkID(ctx, c.services["network"], "p1", "corp")
	checkResolved(t, id, err, "", "not offered to project p1")

	// The bundle of p1 makes nothing when the name is not its to use.
	_, created, err := c.EnsureNetworkBundle(ctx, NetworkBundleSpec{ProjectID: "p1", Name: "sa", CIDR: "10.20.0.0/24", ExternalNetwork: "corp", Owner: "uid-1"}, NetworkBundle{})
	checkResolved(t, "", err, "", "not offered to project p1")
	if slices.Contains(created, "router") {
		t.Errorf("a router was made: %v", created)
	}
}

// miniGlance answers image reads: by ID, listed by name (as an admin's listing, every
// project's images), and one project's membership of an image.
type miniGlance struct {
	images  []map[string]any
	members map[string]string // "image/project" → status
}

func (g *miniGlance) serve(w http.ResponseWriter, r *http.Request) {
	reply := func(status int, body any) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(body)
	}
	parts := strings.Split(strings.TrimPrefix(r.URL.Path, "/v2/images"), "/")
	switch {
	case len(parts) == 1:
		list := []map[string]any{}
		for _, img := range g.images {
			if img["name"] == r.URL.Query().Get("name") {
				list = append(list, img)
			}
		}
		reply(200, map[string]any{"images": list})
	case len(parts) == 2:
		for _, img := range g.images {
			if img["id"] == parts[1] {
				reply(200, img)
				return
			}
		}
		reply(404, nil)
	case len(parts) == 4 && parts[2] == "members":
		if status, ok := g.members[parts[1]+"/"+parts[3]]; ok {
			reply(200, map[string]any{"image_id": parts[1], "member_id": parts[3], "status": status})
			return
		}
		reply(404, nil)
	default:
		reply(405, nil)
	}
}

// newProjectCloud is a cloud scoped to project p1 whose services all answer at srv.
func newProjectCloud(t *testing.T, handler http.HandlerFunc) *Cloud {
	srv := httptest.NewServer(handler)
	t.Cleanup(srv.Close)
	provider := &gophercloud.ProviderClient{HTTPClient: *srv.Client()}
	client := func(base string) *gophercloud.ServiceClient {
		return &gophercloud.ServiceClient{ProviderClient: provider, Endpoint: srv.URL + "/", ResourceBase: srv.URL + base}
	}
	compute := client("/")
	compute.Type, compute.Microversion = "compute", computeMicroversion
	c := &Cloud{provider: provider, routes: &serviceRoutes{}, names: newNameCache(0), services: map[string]*gophercloud.ServiceClient{
		"image": client("/v2/"), "network": client("/v2.0/"), "compute": compute,
	}}
	c.project.id = "p1"
	return c
}

func TestImageID(t *testing.T) {
	image := func(id, visibility, owner string) map[string]any {
		return map[string]any{"id": id, "name": "cirros", "visibility": visibility, "owner": owner, "status": "active"}
	}
	public, own := image("pub", "public", "admin"), image("own", "private", "p1")
	other, community := image("other", "private", "p2"), image("comm", "community", "p2")
	sharedImg := image("shared", "shared", "p2")
	tests := []struct {
		name          string
		images        []map[string]any
		members       map[string]string
		nameOrID      string
		scope         ImageScope
		want, wantErr string
	}{
		{name: "public first", images: []map[string]any{own, public, other}, nameOrID: "cirros", want: "pub"},
		{name: "public under an images rule", images: []map[string]any{own, public}, nameOrID: "cirros", scope: PublicImages, want: "pub"},
		{name: "the project's own without a public one", images: []map[string]any{own, other, community}, nameOrID: "cirros", want: "own"},
		{name: "a private image named like a listed one cannot pass an images rule", images: []map[string]any{own},
			nameOrID: "cirros", scope: PublicImages, wantErr: "no public image has this name"},
		{name: "another project's private and community images are not found by name", images: []map[string]any{other, community},
			nameOrID: "cirros", wantErr: "not found"},
		{name: "another project's private image by ID", images: []map[string]any{other}, nameOrID: "other", wantErr: "another project's image"},
		{name: "a community image by ID", images: []map[string]any{community}, nameOrID: "comm", scope: PublicImages, want: "comm"},
		{name: "two public images of the name: the count", images: []map[string]any{public, image("pub2", "public", "admin")},
			nameOrID: "cirros", wantErr: "2 public images have this name"},
		{name: "shared with the project and accepted", images: []map[string]any{sharedImg}, members: map[string]string{"shared/p1": "accepted"},
			nameOrID: "cirros", want: "shared"},
		{name: "shared with another project", images: []map[string]any{sharedImg}, members: map[string]string{"shared/p2": "accepted"},
			nameOrID: "cirros", wantErr: "not found"},
		{name: "shared, not yet accepted, by ID", images: []map[string]any{sharedImg}, members: map[string]string{"shared/p1": "pending"},
			nameOrID: "shared", wantErr: "another project's image"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := &miniGlance{images: tc.images, members: tc.members}
			c := newProjectCloud(t, g.serve)
			id, err := c.ImageID(context.Background(), tc.nameOrID, tc.scope)
			checkResolved(t, id, err, tc.want, tc.wantErr)
		})
	}
}

func TestNetworkID(t *testing.T) {
	network := func(id, project string, shared bool) map[string]any {
		return map[string]any{"id": id, "name": "private", "project_id": project, "shared": shared}
	}
	tests := []struct {
		name          string
		networks      []map[string]any
		nameOrID      string
		want, wantErr string
	}{
		{name: "the project's own before another's of the name", networks: []map[string]any{network("0000-theirs", "p2", false), network("mine", "p1", false)},
			nameOrID: "private", want: "mine"},
		{name: "one shared with the project", networks: []map[string]any{network("0000-theirs", "p2", false), network("lab", "p2", true)},
			nameOrID: "private", want: "lab"},
		{name: "another project's network by ID", networks: []map[string]any{network("theirs", "p2", false)}, nameOrID: "theirs",
			wantErr: "another project's network, not shared with project p1"},
		{name: "another project's network by name", networks: []map[string]any{network("theirs", "p2", false)}, nameOrID: "private", wantErr: "not found"},
		{name: "two of the project's own: the count", networks: []map[string]any{network("a", "p1", false), network("b", "p1", false)},
			nameOrID: "private", wantErr: "2 networks of the project's own have this name"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n, _ := newMiniNeutron(t)
			for _, o := range tc.networks {
				n.add("networks", o)
			}
			c := newProjectCloud(t, n.serve)
			id, err := c.NetworkID(context.Background(), tc.nameOrID)
			checkResolved(t, id, err, tc.want, tc.wantErr)
		})
	}
}

// Every destructive listing acts only on the project's own items, whatever the cloud
// answers: a foreign item in a listing is left alone.
func TestDestructiveListingsSkipForeignItems(t *testing.T) {
	ctx := context.Background()
	t.Run("network bundle: routers, networks and router ports", func(t *testing.T) {
		n, c := newMiniNeutron(t)
		own, _, err := c.EnsureNetworkBundle(ctx, NetworkBundleSpec{ProjectID: "p1", Name: "sa", CIDR: "10.20.0.0/24", ExternalNetwork: "public", Owner: "uid-1"}, NetworkBundle{})
		if err != nil {
			t.Fatal(err)
		}
		// Another department's port on the router (an admin can attach one).
		theirPort := n.add("ports", map[string]any{"device_id": own.RouterID, "device_owner": "network:router_interface", "project_id": "p2"})
		mark := OwnerMark("uid-1")
		n.leaked = map[string][]map[string]any{
			"routers":  {{"id": "their-router", "name": "sa", "project_id": "p2", "description": mark}},
			"networks": {{"id": "their-net", "name": "sa", "project_id": "p2", "description": mark}},
		}
		if err := c.DeleteNetworkBundle(ctx, "p1", Ownership{Owner: "uid-1"}); err != nil {
			t.Fatal(err)
		}
		if n.get("ports", theirPort) == nil {
			t.Error("another project's router port was detached")
		}
		for _, w := range n.writes {
			if strings.Contains(w, "their-") {
				t.Errorf("%s: another project's item was deleted", w)
			}
		}
		if n.get("networks", own.NetworkID) != nil {
			t.Error("the project's own network was not deleted")
		}
	})

	t.Run("security groups", func(t *testing.T) {
		n, c := newMiniNeutron(t)
		n.objects["security-groups"] = map[string]map[string]any{}
		mine := n.add("security-groups", map[string]any{"name": "web", "project_id": "p1"})
		n.leaked = map[string][]map[string]any{"security-groups": {{"id": "their-group", "name": "web", "project_id": "p2"}}}
		if err := c.DeleteSecurityGroups(ctx, "p1"); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]string{"DELETE /v2.0/security-groups/" + mine}, n.writes); diff != "" {
			t.Errorf("writes (-want +got):\n%s", diff)
		}
	})

	t.Run("servers and server groups", func(t *testing.T) {
		var mu sync.Mutex
		var created int
		c := newProjectCloud(t, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			switch {
			case r.Method == http.MethodGet && r.URL.Path == "/servers/detail":
				_, _ = w.Write([]byte(`{"servers": [{"id": "s-mine", "name": "env-0", "tenant_id": "p1", "status": "ACTIVE"},
					{"id": "s-theirs", "name": "env-1", "tenant_id": "p2", "status": "ACTIVE"}]}`))
			case r.Method == http.MethodGet && r.URL.Path == "/os-server-groups":
				_, _ = w.Write([]byte(`{"server_groups": [{"id": "g-theirs", "name": "env-group", "project_id": "p2", "policy": "anti-affinity"}]}`))
			case r.Method == http.MethodPost && r.URL.Path == "/os-server-groups":
				mu.Lock()
				created++
				mu.Unlock()
				_, _ = w.Write([]byte(`{"server_group": {"id": "g-new", "name": "env-group", "project_id": "p1", "policy": "anti-affinity"}}`))
			default:
				http.NotFound(w, r)
			}
		})
		list, err := c.ListServers(ctx, "^env-[0-9]+$")
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, s := range list {
			ids = append(ids, s.ID)
		}
		if diff := cmp.Diff([]string{"s-mine"}, ids); diff != "" {
			t.Errorf("servers listed (-want +got):\n%s", diff)
		}
		g, err := c.EnsureServerGroup(ctx, "env-group", "anti-affinity", "")
		if err != nil {
			t.Fatal(err)
		}
		if g.ID != "g-new" || created != 1 {
			t.Errorf("server group %+v (created %d): another project's group of the name was taken", g, created)
		}
	})
}
