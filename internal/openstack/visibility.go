package openstack

import (
	"cmp"
	"context"
	"fmt"
	"net/url"
	"strings"
	"sync"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/tokens"
	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/images"
	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/members"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/external"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/rbacpolicies"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/networks"
	"sigs.k8s.io/controller-runtime/pkg/log"
)

// Names a department gives (an external network, an image, a network for its servers)
// resolve only among what its project may use, judged here with the project's ID: an
// admin's listing shows every project's resources, and any project can make a network or
// an image named like a well-known one. A name that matches several usable things is an
// error, never the first of a list; an ID of something the project may not use is
// refused.

// NameError says a name or ID of a spec matches several things the project may use, or
// one it may not use. Nothing was changed: the spec must name one thing it may use.
type NameError struct {
	// Kind is what was looked for: "external network", "image", "network".
	Kind string
	Name string
	Why  string
}

func (e *NameError) Error() string { return fmt.Sprintf("%s %q: %s", e.Kind, e.Name, e.Why) }

// scopedProject remembers the project a cloud's token is scoped to: it never changes
// when the token is renewed.
type scopedProject struct {
	mu sync.Mutex
	id string
}

// projectID returns the project the cloud's token is scoped to.
func (c *Cloud) projectID() (string, error) {
	c.project.mu.Lock()
	defer c.project.mu.Unlock()
	if c.project.id != "" {
		return c.project.id, nil
	}
	var result any
	if c.provider != nil {
		result = c.provider.GetAuthResult()
	}
	r, ok := result.(interface {
		ExtractProject() (*tokens.Project, error)
	})
	if !ok {
		return "", fmt.Errorf("%w: the login is not scoped to a project", ErrCredentials)
	}
	p, err := r.ExtractProject()
	if err != nil || p == nil || p.ID == "" {
		return "", fmt.Errorf("%w: the token names no project", ErrCredentials)
	}
	c.project.id = p.ID
	return p.ID, nil
}

// scopedService returns the project the cloud is scoped to and a service's client.
func (c *Cloud) scopedService(kind string) (string, *gophercloud.ServiceClient, error) {
	project, err := c.projectID()
	if err != nil {
		return "", nil, err
	}
	sc, err := c.service(kind)
	return project, sc, err
}

// foreign reports whether an item a listing for project returned is another project's,
// and logs it: whatever the cloud (or a proxy in front of it) answers, the operator acts
// only on the project's own items.
func foreign(ctx context.Context, kind, id, owner, project string) bool {
	if owner == project && project != "" {
		return false
	}
	log.FromContext(ctx).Info("a listing returned another project's item: it is left alone",
		"kind", kind, "id", id, "itemProject", owner, "project", project)
	return true
}

// getByID reads one item by ID with get, escaping the ID; found is false when the
// service knows no item with exactly that ID (a name is asked for, or it is gone).
func getByID(nameOrID string, get func(string) (string, error)) (found bool, err error) {
	id, err := get(url.PathEscape(nameOrID))
	switch {
	case IsNotFound(err):
		return false, nil
	case err != nil:
		return false, err
	}
	// A path such as ".." reaches another resource: only the item asked for counts.
	return id == nameOrID, nil
}

// externalNetwork is a network with its router:external flag.
type externalNetwork struct {
	networks.Network
	external.NetworkExternalExt
}

// externalNetworkID resolves a Tenant's externalNetwork for its project: an external
// network (router:external) the project is entitled to, by ID, or by a name only one
// such network has. The answer is cached for this project alone.
func (c *Cloud) externalNetworkID(ctx context.Context, sc *gophercloud.ServiceClient, projectID, nameOrID string) (string, error) {
	return c.names.resolve("external-network/"+projectID+"/"+nameOrID, func() (string, error) {
		var n externalNetwork
		found, err := getByID(nameOrID, func(id string) (string, error) {
			err := networks.Get(ctx, sc, id).ExtractInto(&n)
			return n.ID, err
		})
		if err != nil {
			return "", err
		}
		if found {
			return n.ID, checkExternal(ctx, sc, projectID, nameOrID, n)
		}
		return externalByName(ctx, sc, projectID, nameOrID)
	})
}

// checkExternal accepts a network given by ID if it is external and the project may use it.
func checkExternal(ctx context.Context, sc *gophercloud.ServiceClient, projectID, id string, n externalNetwork) error {
	if !n.External {
		return &NameError{Kind: "network", Name: id, Why: "it is not an external network (router:external is false)"}
	}
	ok, err := entitledExternal(ctx, sc, projectID, n)
	if err != nil || ok {
		return err
	}
	return &NameError{Kind: "external network", Name: id, Why: notOffered(projectID)}
}

func notOffered(projectID string) string {
	return fmt.Sprintf("it is not offered to project %s: neither shared nor given to it (or to all) by an access_as_external RBAC policy", projectID)
}

// externalByName finds the one external network of this name the project may use.
func externalByName(ctx context.Context, sc *gophercloud.ServiceClient, projectID, name string) (string, error) {
	yes := true
	pages, err := networks.List(sc, external.ListOptsExt{ListOptsBuilder: networks.ListOpts{Name: name}, External: &yes}).AllPages(ctx)
	if err != nil {
		return "", fmt.Errorf("listing external networks: %w", err)
	}
	var list []externalNetwork
	if err := networks.ExtractNetworksInto(pages, &list); err != nil {
		return "", err
	}
	var usable []string
	candidates := 0
	for _, n := range list {
		if !n.External || n.Name != name { // held client-side too
			continue
		}
		candidates++
		ok, err := entitledExternal(ctx, sc, projectID, n)
		if err != nil {
			return "", err
		}
		if ok {
			usable = append(usable, n.ID)
		}
	}
	if id, done, err := pick("external network", name, fmt.Sprintf("external networks that project %s may use", projectID), usable); done {
		return id, err
	}
	if candidates > 0 {
		return "", &NameError{Kind: "external network", Name: name, Why: notOffered(projectID)}
	}
	return "", fmt.Errorf("%w: external network %q", ErrNotFound, name)
}

// entitledExternal reports whether the project may put a router's gateway on the
// external network: it is shared, the project's own, or an access_as_external RBAC
// policy offers it to the project or to every project.
func entitledExternal(ctx context.Context, sc *gophercloud.ServiceClient, projectID string, n externalNetwork) (bool, error) {
	if n.Shared || cmp.Or(n.ProjectID, n.TenantID) == projectID {
		return true, nil
	}
	pages, err := rbacpolicies.List(sc, rbacpolicies.ListOpts{
		ObjectType: "network", ObjectID: n.ID, Action: rbacpolicies.ActionAccessExternal,
	}).AllPages(ctx)
	if err != nil {
		return false, fmt.Errorf("listing the RBAC policies of network %s: %w", n.ID, err)
	}
	list, err := rbacpolicies.ExtractRBACPolicies(pages)
	if err != nil {
		return false, err
	}
	for _, p := range list {
		if p.ObjectID == n.ID && p.Action == rbacpolicies.ActionAccessExternal && (p.TargetTenant == projectID || p.TargetTenant == "*") {
			return true, nil
		}
	}
	return false, nil
}

// ImageScope says among which images a TestEnvironment's image resolves by name.
type ImageScope int

const (
	// ProjectImages: a public image, else the project's own, else one another project
	// shared with it (and accepted). Community images only by ID: any project can publish
	// one under any name.
	ProjectImages ImageScope = iota
	// PublicImages: public images only, for a namespace whose DepartmentPolicy lists the
	// images it may use, so a private image named like a listed one cannot pass the rule.
	// By ID, any image the project may use (the rule lists IDs as written).
	PublicImages
)

// resolveImage implements ImageID for the project the cloud is scoped to.
func (c *Cloud) resolveImage(ctx context.Context, nameOrID string, scope ImageScope) (string, error) {
	project, sc, err := c.scopedService("image")
	if err != nil {
		return "", err
	}
	var img *images.Image
	found, err := getByID(nameOrID, func(id string) (string, error) {
		i, err := images.Get(ctx, sc, id).Extract()
		if i != nil {
			img = i
			return i.ID, err
		}
		return "", err
	})
	if err != nil {
		return "", err
	}
	if found {
		ok, err := imageUsable(ctx, sc, project, img)
		if err == nil && !ok {
			err = &NameError{Kind: "image", Name: nameOrID, Why: fmt.Sprintf("it is another project's image, not shared with project %s", project)}
		}
		return img.ID, err
	}
	pages, err := images.List(sc, images.ListOpts{Name: nameOrID}).AllPages(ctx)
	if err != nil {
		return "", fmt.Errorf("listing images: %w", err)
	}
	list, err := images.ExtractImages(pages)
	if err != nil {
		return "", err
	}
	return imageByName(ctx, sc, project, nameOrID, list, scope)
}

// imageByName picks the one image of this name in the first tier that has any: public,
// then (for ProjectImages) the project's own, then those shared with it.
func imageByName(ctx context.Context, sc *gophercloud.ServiceClient, project, name string, list []images.Image, scope ImageScope) (string, error) {
	var public, own, shared []string
	for _, img := range list {
		switch {
		case img.Name != name:
		case img.Visibility == images.ImageVisibilityPublic:
			public = append(public, img.ID)
		case img.Owner == project:
			own = append(own, img.ID)
		case img.Visibility == images.ImageVisibilityShared:
			shared = append(shared, img.ID)
		}
	}
	if id, done, err := pick("image", name, "public images", public); done {
		return id, err
	}
	if scope == ProjectImages {
		if id, done, err := pick("image", name, "images of the project's own", own); done {
			return id, err
		}
		accepted, err := acceptedImages(ctx, sc, project, shared)
		if err != nil {
			return "", err
		}
		if id, done, err := pick("image", name, "images shared with project "+project, accepted); done {
			return id, err
		}
	}
	if scope == PublicImages && len(own)+len(shared) > 0 {
		return "", &NameError{Kind: "image", Name: name, Why: "no public image has this name, and a DepartmentPolicy lists the images this namespace may use: a private or shared image passes only by its ID"}
	}
	return "", fmt.Errorf("%w: image %q", ErrNotFound, name)
}

// acceptedImages keeps the shared images whose membership for project is accepted: an
// admin's listing shows every shared image.
func acceptedImages(ctx context.Context, sc *gophercloud.ServiceClient, project string, ids []string) ([]string, error) {
	var out []string
	for _, id := range ids {
		m, err := members.Get(ctx, sc, id, project).Extract()
		switch {
		case IsNotFound(err):
		case err != nil:
			return nil, fmt.Errorf("reading the members of image %s: %w", id, err)
		case m.Status == "accepted":
			out = append(out, id)
		}
	}
	return out, nil
}

// pick returns the ID when ids holds exactly one; done is false when it holds none, and
// several are a NameError: never the first of a list.
func pick(kind, name, what string, ids []string) (id string, done bool, err error) {
	switch len(ids) {
	case 0:
		return "", false, nil
	case 1:
		return ids[0], true, nil
	}
	return "", true, &NameError{Kind: kind, Name: name, Why: fmt.Sprintf(
		"%d %s have this name (%s): give the ID of one", len(ids), what, strings.Join(ids, ", "))}
}

// imageUsable reports whether the project may boot from an image given by ID: public
// and community images, its own, and those shared with it and accepted.
func imageUsable(ctx context.Context, sc *gophercloud.ServiceClient, project string, img *images.Image) (bool, error) {
	switch {
	case img.Visibility == images.ImageVisibilityPublic, img.Visibility == images.ImageVisibilityCommunity, img.Owner == project:
		return true, nil
	case img.Visibility == images.ImageVisibilityShared:
		accepted, err := acceptedImages(ctx, sc, project, []string{img.ID})
		return len(accepted) == 1, err
	}
	return false, nil
}

// resolveNetwork implements NetworkID for the project the cloud is scoped to: the
// project's own networks, then those shared with it.
func (c *Cloud) resolveNetwork(ctx context.Context, nameOrID string) (string, error) {
	project, sc, err := c.scopedService("network")
	if err != nil {
		return "", err
	}
	var n networks.Network
	found, err := getByID(nameOrID, func(id string) (string, error) {
		err := networks.Get(ctx, sc, id).ExtractInto(&n)
		return n.ID, err
	})
	if err != nil {
		return "", err
	}
	if found {
		if !n.Shared && cmp.Or(n.ProjectID, n.TenantID) != project {
			return "", &NameError{Kind: "network", Name: nameOrID, Why: fmt.Sprintf("it is another project's network, not shared with project %s", project)}
		}
		return n.ID, nil
	}
	pages, err := networks.List(sc, networks.ListOpts{Name: nameOrID}).AllPages(ctx)
	if err != nil {
		return "", fmt.Errorf("listing networks: %w", err)
	}
	list, err := networks.ExtractNetworks(pages)
	if err != nil {
		return "", err
	}
	var own, shared []string
	for _, n := range list {
		switch {
		case n.Name != nameOrID:
		case cmp.Or(n.ProjectID, n.TenantID) == project:
			own = append(own, n.ID)
		case n.Shared:
			shared = append(shared, n.ID)
		}
	}
	if id, done, err := pick("network", nameOrID, "networks of the project's own", own); done {
		return id, err
	}
	if id, done, err := pick("network", nameOrID, "networks shared with project "+project, shared); done {
		return id, err
	}
	return "", fmt.Errorf("%w: network %q", ErrNotFound, nameOrID)
}
