// Package openstacktest is an in-memory cloud implementing the operator's narrow OpenStack
// interfaces, for controller tests on a real apiserver (tier 2). It is not a Keystone
// emulator: it keeps just enough state to observe what a controller did, counts calls,
// and injects errors.
package openstacktest

import (
	"context"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/whitehall-cloud/whitehall-operator/internal/openstack"
	"github.com/whitehall-cloud/whitehall-operator/internal/quota"
)

// Cloud is a fake OpenStack. The zero value is not usable; call New. New's cloud is the
// admin's; As and LogIn give views of the same state as a project's service user.
type Cloud struct {
	*state
	// user and project are who the view is logged in as ("" for the admin): the user
	// whose application credentials it manages.
	user, project string
}

// state is the fake cloud's contents, shared by every view.
type state struct {
	mu       sync.Mutex
	nextID   int
	projects map[string]*openstack.Project
	domains  map[string]string // name or ID → ID
	roles    map[string]string
	groups   map[string]string // domainID/name or ID → ID
	users    map[string]string
	assigned map[string]map[openstack.Assignment]bool // project ID → assignments
	contents map[string]openstack.Contents
	quotas   map[string]map[quota.Service]*openstack.QuotaReading // project → service
	// quotaWrites are the accepted quota writes, by "<project>/<service>", oldest first.
	quotaWrites map[string][]quota.Limits
	capacity    openstack.Capacity
	allocated   openstack.Capacity
	bundles     map[string]*fakeBundle // project/name → bundle
	// unusableExternal are external network names that resolve to no one usable
	// network: why, by name.
	unusableExternal map[string]string
	servers          map[string]*fakeServer
	created          []openstack.ServerCreate
	// instanceLimit refuses servers beyond it, for quota (-1: none).
	instanceLimit int
	// bootFault, when set, sends every server booted to ERROR with this fault.
	bootFault    string
	serverGroups map[string]string
	// serviceUsers are the users made by EnsureServiceUser, by ID.
	serviceUsers map[string]openstack.ServiceUser
	appCreds     map[string][]fakeAppCred // user ID → credentials, oldest first
	endpoint     openstack.Endpoint
	// usage is what Nova's os-simple-tenant-usage reports; volumes what Cinder lists
	// (none at all with noVolumes).
	usage     []usageRecord
	volumes   []openstack.VolumeSize
	noVolumes bool

	calls map[string]int
	// timeline keeps each call's time once RecordCalls asked for it (timeline.go).
	timeline timeline
	// writes are the changes made to each project through the interfaces (not the
	// *Directly helpers), oldest first: what a test compares with a status.drift.
	writes map[string][]string
	// failures maps a method name to errors returned by its next calls, in order.
	failures map[string][]error
	// clusters are the clusters' records (clusters.go).
	clusters clusterRecords
	// adminProject is the project the admin's login is scoped to (inventory.go).
	adminProject string
	// view serves the admin's reads at rest once ObserveInBulk made it (bulk.go); feed
	// passes on what its refreshes found changed.
	view *openstack.BulkView
	feed *openstack.ViewFeed
}

var _ interface {
	openstack.Projects
	openstack.Directory
	openstack.RoleAssignments
	openstack.ProjectContents
	openstack.Quotas
	openstack.Placement
	openstack.Networks
	openstack.Servers
	openstack.ServiceUsers
	openstack.ApplicationCredentials
} = (*Cloud)(nil)

// New returns a cloud with the domain "default" (named Default) and roles member,
// reader and admin, where admin implies member and member implies reader (Keystone's
// bootstrap).
func New() *Cloud {
	c := &Cloud{state: &state{
		projects:    map[string]*openstack.Project{},
		domains:     map[string]string{"default": "default", "Default": "default"},
		roles:       map[string]string{},
		groups:      map[string]string{},
		users:       map[string]string{},
		assigned:    map[string]map[openstack.Assignment]bool{},
		contents:    map[string]openstack.Contents{},
		quotas:      map[string]map[quota.Service]*openstack.QuotaReading{},
		quotaWrites: map[string][]quota.Limits{},
		bundles:     map[string]*fakeBundle{},
		servers:     map[string]*fakeServer{},

		instanceLimit: -1,
		serverGroups:  map[string]string{},
		serviceUsers:  map[string]openstack.ServiceUser{},
		appCreds:      map[string][]fakeAppCred{},
		endpoint:      openstack.Endpoint{AuthURL: "http://keystone.fake/v3", Region: "RegionOne", Interface: "public"},
		calls:         map[string]int{},
		writes:        map[string][]string{},
		failures:      map[string][]error{},
		feed:          openstack.NewViewFeed(),
	}}
	for _, r := range []string{"member", "reader", "admin"} {
		c.roles[r] = "role-" + r
		c.roles["role-"+r] = "role-" + r
	}
	return c
}

// AddGroup creates a group in a domain and returns its ID.
func (c *Cloud) AddGroup(domainID, name string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	id := c.newID("group")
	c.groups[domainID+"/"+name] = id
	c.groups[id] = id
	return id
}

// AddUser creates a user in a domain and returns its ID.
func (c *Cloud) AddUser(domainID, name string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	id := c.newID("user")
	c.users[domainID+"/"+name] = id
	c.users[id] = id
	return id
}

// AddProject puts a project into the cloud as someone else would (no owner).
func (c *Cloud) AddProject(p openstack.Project) *openstack.Project {
	c.mu.Lock()
	defer c.mu.Unlock()
	if p.ID == "" {
		p.ID = c.newID("project")
	}
	c.projects[p.ID] = &p
	return clone(&p)
}

// Project returns a copy of the project with id, or nil.
func (c *Cloud) Project(id string) *openstack.Project {
	c.mu.Lock()
	defer c.mu.Unlock()
	if p, ok := c.projects[id]; ok {
		return clone(p)
	}
	return nil
}

// ProjectsNamed counts the projects with a name.
func (c *Cloud) ProjectsNamed(name string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, p := range c.projects {
		if p.Name == name {
			n++
		}
	}
	return n
}

// EditProject changes a project behind the operator's back.
func (c *Cloud) EditProject(id string, edit func(*openstack.Project)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	edit(c.projects[id])
}

// Assignments returns the assignments on a project.
func (c *Cloud) Assignments(projectID string) []openstack.Assignment {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Collect(maps.Keys(c.assigned[projectID]))
}

// SetContents sets what a project holds (servers, volumes, ports).
func (c *Cloud) SetContents(projectID string, contents openstack.Contents) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.contents[projectID] = contents
}

// Calls returns how many times method was called.
func (c *Cloud) Calls(method string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.calls[method]
}

// FailNext makes the next calls of method return errs, one per call.
func (c *Cloud) FailNext(method string, errs ...error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.failures[method] = append(c.failures[method], errs...)
}

// call counts a call, in total and as "<method>/<project>" for each project given, and
// returns an injected error, if any. Callers hold c.mu.
func (c *state) call(method string, projects ...string) error {
	c.calls[method]++
	for _, p := range projects {
		c.calls[method+"/"+p]++
	}
	c.timeline.add(method, projects)
	if errs := c.failures[method]; len(errs) > 0 {
		c.failures[method] = errs[1:]
		return errs[0]
	}
	return nil
}

// logWrite records a change made to a project. Callers hold c.mu.
func (c *state) logWrite(projectID, format string, args ...any) {
	c.writes[projectID] = append(c.writes[projectID], fmt.Sprintf(format, args...))
}

// Writes returns the changes made to a project through the interfaces, oldest first:
// "CreateProject", "UpdateProject <field>=<value>", "Grant <role> <principal>",
// "Revoke …", "SetQuota <service>.<field>=<value>", "CreateNetwork <kinds>",
// "DeleteNetworkBundle", "DeleteProject", "CreateServiceUser".
func (c *Cloud) Writes(projectID string) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.writes[projectID])
}

// assignmentText names an assignment in the write log.
func assignmentText(a openstack.Assignment) string {
	if a.GroupID != "" {
		return a.RoleID + " group " + a.GroupID
	}
	return a.RoleID + " user " + a.UserID
}

func (c *state) newID(kind string) string {
	c.nextID++
	return fmt.Sprintf("%s-%04d", kind, c.nextID)
}

func clone(p *openstack.Project) *openstack.Project {
	cp := *p
	cp.Tags = slices.Clone(p.Tags)
	return &cp
}

func notFound(what string) error { return fmt.Errorf("%w: %s", openstack.ErrNotFound, what) }

// GetProject implements openstack.Projects.
func (c *Cloud) GetProject(ctx context.Context, id string) (*openstack.Project, error) {
	if p, ok := c.bulkView().Project(ctx, id); ok {
		return p, nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.call("GetProject", id); err != nil {
		return nil, err
	}
	p, ok := c.projects[id]
	if !ok {
		return nil, notFound("project " + id)
	}
	return clone(p), nil
}

// FindProject implements openstack.Projects.
func (c *Cloud) FindProject(_ context.Context, domainID, name string) (*openstack.Project, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.call("FindProject"); err != nil {
		return nil, err
	}
	for _, p := range c.projects {
		if p.DomainID == domainID && p.Name == name {
			return clone(p), nil
		}
	}
	return nil, notFound("project " + name)
}

// CreateProject implements openstack.Projects.
func (c *Cloud) CreateProject(_ context.Context, o openstack.ProjectCreate) (*openstack.Project, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.call("CreateProject"); err != nil {
		return nil, err
	}
	for _, p := range c.projects {
		if p.DomainID == o.DomainID && p.Name == o.Name {
			return nil, &openstack.Error{Service: "identity", Operation: "POST /v3/projects", StatusCode: 409,
				CloudMessage: "Conflict occurred attempting to store project - Duplicate entry."}
		}
	}
	p := &openstack.Project{
		ID: c.newID("project"), Name: o.Name, DomainID: o.DomainID, Description: o.Description,
		Tags: slices.Clone(o.Tags), Enabled: o.Enabled,
		Owner: o.Owner, OwnerNamespace: o.OwnerNamespace, OwnerName: o.OwnerName, OwnerCluster: o.OwnerCluster,
	}
	c.projects[p.ID] = p
	c.logWrite(p.ID, "CreateProject")
	// Under c.mu: the view takes only its own lock, and never calls the fake under it.
	defer c.view.Wrote(openstack.ProjectsListing, p.ID)
	return clone(p), nil
}

// UpdateProject implements openstack.Projects.
func (c *Cloud) UpdateProject(_ context.Context, id string, u openstack.ProjectUpdate) (*openstack.Project, error) {
	defer c.bulkView().Wrote(openstack.ProjectsListing, id)
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.call("UpdateProject", id); err != nil {
		return nil, err
	}
	p, ok := c.projects[id]
	if !ok {
		return nil, notFound("project " + id)
	}
	if u.Name != nil {
		p.Name = *u.Name
		c.logWrite(id, "UpdateProject name=%s", p.Name)
	}
	if u.Description != nil {
		p.Description = *u.Description
		c.logWrite(id, "UpdateProject description=%s", p.Description)
	}
	if u.Tags != nil {
		p.Tags = slices.Clone(*u.Tags)
		c.logWrite(id, "UpdateProject tags=%s", strings.Join(p.Tags, ","))
	}
	if u.Enabled != nil {
		p.Enabled = *u.Enabled
		c.logWrite(id, "UpdateProject enabled=%t", p.Enabled)
	}
	if u.Owner != nil {
		p.Owner, p.OwnerNamespace, p.OwnerName = u.Owner.UID, u.Owner.Namespace, u.Owner.Name
		p.OwnerCluster, p.PreviousOwner = u.Owner.Cluster, u.Owner.Previous
		c.logWrite(id, "UpdateProject owner=%s/%s", p.OwnerNamespace, p.OwnerName)
	}
	return clone(p), nil
}

// DeleteProject implements openstack.Projects.
func (c *Cloud) DeleteProject(_ context.Context, id string) error {
	if v := c.bulkView(); v != nil {
		defer v.Wrote(openstack.NetworkListing, id)
		defer v.Wrote(openstack.AssignmentsListing, id)
		defer v.Wrote(openstack.ProjectsListing, id)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.call("DeleteProject", id); err != nil {
		return err
	}
	delete(c.projects, id)
	delete(c.assigned, id)
	c.logWrite(id, "DeleteProject")
	return nil
}

func (c *Cloud) lookup(method string, table map[string]string, key, what string) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.call(method); err != nil {
		return "", err
	}
	if id, ok := table[key]; ok {
		return id, nil
	}
	return "", notFound(what)
}

// DomainID implements openstack.Directory.
func (c *Cloud) DomainID(_ context.Context, nameOrID string) (string, error) {
	return c.lookup("DomainID", c.domains, nameOrID, fmt.Sprintf("domain %q", nameOrID))
}

// RoleID implements openstack.Directory.
func (c *Cloud) RoleID(_ context.Context, nameOrID string) (string, error) {
	return c.lookup("RoleID", c.roles, nameOrID, fmt.Sprintf("role %q", nameOrID))
}

// GroupID implements openstack.Directory.
func (c *Cloud) GroupID(_ context.Context, nameOrID, domainID string) (string, error) {
	if id, err := c.lookup("GroupID", c.groups, nameOrID, ""); err == nil {
		return id, nil
	}
	return c.lookup("GroupID", c.groups, domainID+"/"+nameOrID, fmt.Sprintf("group %q in domain %s", nameOrID, domainID))
}

// UserID implements openstack.Directory.
func (c *Cloud) UserID(_ context.Context, nameOrID, domainID string) (string, error) {
	if id, err := c.lookup("UserID", c.users, nameOrID, ""); err == nil {
		return id, nil
	}
	return c.lookup("UserID", c.users, domainID+"/"+nameOrID, fmt.Sprintf("user %q in domain %s", nameOrID, domainID))
}

// ListAssignments implements openstack.RoleAssignments.
func (c *Cloud) ListAssignments(ctx context.Context, projectID string) ([]openstack.Assignment, error) {
	if list, ok := c.bulkView().Assignments(ctx, projectID); ok {
		return list, nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.call("ListAssignments", projectID); err != nil {
		return nil, err
	}
	return slices.Collect(maps.Keys(c.assigned[projectID])), nil
}

// Grant implements openstack.RoleAssignments.
func (c *Cloud) Grant(_ context.Context, projectID string, a openstack.Assignment) error {
	defer c.bulkView().Wrote(openstack.AssignmentsListing, projectID)
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.call("Grant", projectID); err != nil {
		return err
	}
	if c.assigned[projectID] == nil {
		c.assigned[projectID] = map[openstack.Assignment]bool{}
	}
	c.assigned[projectID][a] = true
	c.logWrite(projectID, "Grant %s", assignmentText(a))
	return nil
}

// Revoke implements openstack.RoleAssignments.
func (c *Cloud) Revoke(_ context.Context, projectID string, a openstack.Assignment) error {
	defer c.bulkView().Wrote(openstack.AssignmentsListing, projectID)
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.call("Revoke", projectID); err != nil {
		return err
	}
	delete(c.assigned[projectID], a)
	c.logWrite(projectID, "Revoke %s", assignmentText(a))
	return nil
}

// GrantDirectly adds an assignment behind the operator's back.
func (c *Cloud) GrantDirectly(projectID string, a openstack.Assignment) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.assigned[projectID] == nil {
		c.assigned[projectID] = map[openstack.Assignment]bool{}
	}
	c.assigned[projectID][a] = true
}

// ProjectContents implements openstack.ProjectContents: what SetContents set, and the
// bundles in the project that own does not cover (made by hand, adopted) as networks.
func (c *Cloud) ProjectContents(_ context.Context, projectID string, own openstack.Ownership) (openstack.Contents, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.call("ProjectContents", projectID); err != nil {
		return openstack.Contents{}, err
	}
	out := c.contents[projectID]
	ownRouters := map[string]bool{own.Known.RouterID: own.Known.RouterID != ""}
	out.Networks = slices.Clone(out.Networks)
	for _, key := range slices.Sorted(maps.Keys(c.bundles)) {
		b := c.bundles[key]
		if b.project != projectID {
			continue
		}
		if b.ownedBy(own) {
			ownRouters[b.RouterID] = b.RouterID != ""
		} else {
			out.Networks = append(out.Networks, fmt.Sprintf("%s (%s)", b.name, b.NetworkID))
		}
	}
	// A fake port is "<device>/<name>": the ports of the operator's own routers are skipped.
	out.Ports = slices.DeleteFunc(slices.Clone(out.Ports), func(p string) bool {
		device, _, _ := strings.Cut(p, "/")
		return ownRouters[device]
	})
	return out, nil
}

// DeleteSecurityGroups implements openstack.ProjectContents.
func (c *Cloud) DeleteSecurityGroups(_ context.Context, _ string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.call("DeleteSecurityGroups")
}

// quota returns the quota of a project in a service, creating the defaults of a new
// project (every resource 10, nothing in use). Callers hold c.mu.
func (c *Cloud) quota(projectID string, service quota.Service) *openstack.QuotaReading {
	if c.quotas[projectID] == nil {
		c.quotas[projectID] = map[quota.Service]*openstack.QuotaReading{}
	}
	q := c.quotas[projectID][service]
	if q == nil {
		q = &openstack.QuotaReading{Limits: quota.Limits{}, InUse: quota.Limits{}}
		for _, f := range quota.FieldsOf(service) {
			q.Limits[f], q.InUse[f] = 10, 0
		}
		c.quotas[projectID][service] = q
	}
	return q
}

// Quota returns a copy of a project's limits in a service, by field name (cores, …).
func (c *Cloud) Quota(projectID string, service quota.Service) map[string]int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[string]int64{}
	for f, v := range c.quota(projectID, service).Limits {
		out[f.Name()] = v
	}
	return out
}

// SetLimitDirectly changes a limit behind the operator's back.
func (c *Cloud) SetLimitDirectly(projectID string, service quota.Service, field string, v int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.quota(projectID, service).Limits[mustField(service, field)] = v
}

// SetInUse sets what a project uses of a resource.
func (c *Cloud) SetInUse(projectID string, service quota.Service, field string, v int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.quota(projectID, service).InUse[mustField(service, field)] = v
}

func mustField(service quota.Service, name string) quota.Field {
	f, ok := quota.FieldNamed(service, name)
	if !ok {
		panic(fmt.Sprintf("fake: %s has no quota field %q", service, name))
	}
	return f
}

// GetQuota implements openstack.Quotas.
func (c *Cloud) GetQuota(ctx context.Context, service quota.Service, projectID string) (openstack.QuotaReading, error) {
	if service == quota.NetworkService {
		if limits, ok := c.bulkView().NetworkLimits(ctx, projectID); ok {
			return openstack.QuotaReading{Limits: limits, InUse: quota.Limits{}, FromView: true}, nil
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.call("GetQuota."+string(service), projectID); err != nil {
		return openstack.QuotaReading{}, err
	}
	q := c.quota(projectID, service)
	return openstack.QuotaReading{Limits: maps.Clone(q.Limits), InUse: maps.Clone(q.InUse)}, nil
}

// SetQuota implements openstack.Quotas. Like the real services, a limit below usage is
// taken by Nova (the adapter forces it) and Neutron, and refused with 400 by Cinder.
func (c *Cloud) SetQuota(_ context.Context, service quota.Service, projectID string, limits quota.Limits) error {
	if len(limits) == 0 {
		return nil
	}
	if service == quota.NetworkService {
		defer c.bulkView().Wrote(openstack.NetworkListing, projectID)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.call("SetQuota."+string(service), projectID); err != nil {
		return err
	}
	q := c.quota(projectID, service)
	if openstack.RefusesBelowUsage(service) {
		byName := func(a, b quota.Field) int { return strings.Compare(a.Name(), b.Name()) }
		for _, field := range slices.SortedFunc(maps.Keys(limits), byName) {
			if v, used := limits[field], q.InUse[field]; quota.Above(used, v) {
				return &openstack.Error{
					Service: "block-storage", Operation: "PUT /v3/os-quota-sets/" + projectID, StatusCode: 400,
					CloudMessage: fmt.Sprintf("Quota %s limit must be equal or greater than existing resources. Current usage is %d and the requested limit is %d.", field.Name(), used, v),
				}
			}
		}
	}
	maps.Copy(q.Limits, limits)
	key := projectID + "/" + string(service)
	c.quotaWrites[key] = append(c.quotaWrites[key], maps.Clone(limits))
	for _, field := range slices.SortedFunc(maps.Keys(limits), func(a, b quota.Field) int { return strings.Compare(a.String(), b.String()) }) {
		c.logWrite(projectID, "SetQuota %s=%d", field, limits[field])
	}
	return nil
}

// QuotaWrites returns what each accepted quota write of a project in a service set, by
// field name (cores, …), oldest first.
func (c *Cloud) QuotaWrites(projectID string, service quota.Service) []map[string]int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []map[string]int64
	for _, w := range c.quotaWrites[projectID+"/"+string(service)] {
		named := map[string]int64{}
		for f, v := range w {
			named[f.Name()] = v
		}
		out = append(out, named)
	}
	return out
}

// SetCapacity sets what Placement reports.
func (c *Cloud) SetCapacity(cap openstack.Capacity) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.capacity = cap
}

// Capacity implements openstack.Placement.
func (c *Cloud) Capacity(_ context.Context) (openstack.Capacity, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.call("Capacity"); err != nil {
		return openstack.Capacity{}, err
	}
	return c.capacity, nil
}

// SetAllocated sets what Placement reports in use on every resource provider.
func (c *Cloud) SetAllocated(used openstack.Capacity) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.allocated = used
}

// Allocated implements openstack.Placement.
func (c *Cloud) Allocated(_ context.Context) (openstack.Capacity, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.call("Allocated"); err != nil {
		return openstack.Capacity{}, err
	}
	return c.allocated, nil
}

// EnsureNetworkBundle implements openstack.Networks: a bundle per project and name; a
// resource deleted with DeleteRouterDirectly is recreated with a new ID. A bundle made
// with AddNetworkDirectly is adopted if its CIDR is the spec's, else a conflict.
func (c *Cloud) EnsureNetworkBundle(_ context.Context, spec openstack.NetworkBundleSpec, known openstack.NetworkBundle) (openstack.NetworkBundle, []string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.call("EnsureNetworkBundle", spec.ProjectID); err != nil {
		return known, nil, err
	}
	if why, ok := c.unusableExternal[spec.ExternalNetwork]; ok && spec.ExternalNetwork != "" {
		return known, nil, &openstack.NameError{Kind: "external network", Name: spec.ExternalNetwork, Why: why}
	}
	key := spec.ProjectID + "/" + spec.Name
	b := c.bundles[key]
	switch {
	case b == nil:
		b = &fakeBundle{project: spec.ProjectID, name: spec.Name, owner: spec.Owner, cidr: spec.CIDR}
		c.bundles[key] = b
	case b.owner != "" && b.owner == spec.FormerOwner && spec.FormerOwner != "":
		b.owner = spec.Owner // claimed: re-marked for the Tenant that took the project back
	case b.owner != "" && b.owner != spec.Owner:
		return openstack.NetworkBundle{}, nil, &openstack.NetworkConflictError{Kind: "network", ID: b.NetworkID, Why: "it was made for another Tenant"}
	case b.owner == "" && b.cidr != spec.CIDR:
		return openstack.NetworkBundle{}, nil, &openstack.NetworkConflictError{Kind: "network", ID: b.NetworkID,
			Why: fmt.Sprintf("its subnets are %s, not %s", b.cidr, spec.CIDR)}
	}
	var created []string
	ensure := func(id *string, kind string) {
		if *id == "" {
			*id = c.newID(kind)
			created = append(created, kind)
		}
	}
	ensure(&b.NetworkID, "network")
	if b.SubnetID == "" {
		b.dns = slices.Clone(spec.DNSNameservers)
	}
	ensure(&b.SubnetID, "subnet")
	gateway := ""
	if spec.ExternalNetwork != "" {
		ensure(&b.RouterID, "router")
		gateway = "net-" + spec.ExternalNetwork
	}
	if len(created) > 0 {
		c.logWrite(spec.ProjectID, "CreateNetwork %s", strings.Join(created, ","))
	}
	c.repairBundle(b, spec, gateway)
	return b.NetworkBundle, created, nil
}

// UnusableExternalNetwork makes every bundle with this external network fail to resolve
// it, as when several usable external networks have the name: why says so.
func (c *Cloud) UnusableExternalNetwork(name, why string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.unusableExternal == nil {
		c.unusableExternal = map[string]string{}
	}
	c.unusableExternal[name] = why
}

// DeleteNetworkBundle implements openstack.Networks.
func (c *Cloud) DeleteNetworkBundle(_ context.Context, projectID string, own openstack.Ownership) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.call("DeleteNetworkBundle", projectID); err != nil {
		return err
	}
	for key, b := range c.bundles {
		if b.project == projectID && b.ownedBy(own) {
			delete(c.bundles, key)
		}
	}
	c.logWrite(projectID, "DeleteNetworkBundle")
	return nil
}

// AddNetworkDirectly makes a network with a subnet in a project as a department would.
func (c *Cloud) AddNetworkDirectly(projectID, name, cidr string) openstack.NetworkBundle {
	c.mu.Lock()
	defer c.mu.Unlock()
	b := &fakeBundle{project: projectID, name: name, cidr: cidr}
	b.NetworkID, b.SubnetID = c.newID("network"), c.newID("subnet")
	b.Adopted = []string{"network", "subnet"}
	c.bundles[projectID+"/"+name] = b
	return b.NetworkBundle
}

// RemoveNetworkDirectly deletes a bundle, as a department deleting its network would.
func (c *Cloud) RemoveNetworkDirectly(projectID, name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.bundles, projectID+"/"+name)
}

// NetworkBundle returns the bundle of a project, or nil.
func (c *Cloud) NetworkBundle(projectID, name string) *openstack.NetworkBundle {
	c.mu.Lock()
	defer c.mu.Unlock()
	if b := c.bundles[projectID+"/"+name]; b != nil {
		nb := b.NetworkBundle
		return &nb
	}
	return nil
}

// SubnetCIDR returns the CIDR of a bundle's subnet ("" for no bundle).
func (c *Cloud) SubnetCIDR(projectID, name string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if b := c.bundles[projectID+"/"+name]; b != nil {
		return b.cidr
	}
	return ""
}

// RouterGateway returns the external network of a bundle's router ("" for none).
func (c *Cloud) RouterGateway(projectID, name string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if b := c.bundles[projectID+"/"+name]; b != nil {
		return b.gateway
	}
	return ""
}

// DeleteRouterDirectly deletes a bundle's router behind the operator's back.
func (c *Cloud) DeleteRouterDirectly(projectID, name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if b := c.bundles[projectID+"/"+name]; b != nil {
		b.RouterID = ""
	}
}

type fakeBundle struct {
	openstack.NetworkBundle
	spec          openstack.NetworkBundleSpec
	project, name string
	// owner is the Tenant UID the bundle was made for; "" for one made by hand.
	owner, cidr string
	gateway     string
	dns         []string
}

// ownedBy reports whether own covers the bundle: made for its Tenant.
func (b *fakeBundle) ownedBy(own openstack.Ownership) bool {
	return b.owner != "" && (b.owner == own.Owner || (own.Former != "" && b.owner == own.Former))
}

// fakeServer is a server in the fake Nova, in the project of the view that booted it
// ("" for the admin's).
type fakeServer struct {
	openstack.Server
	project string
}

// visible reports whether the view sees the server: a project's view sees only its
// project's servers, the admin's every server.
func (c *Cloud) visible(s *fakeServer) bool { return c.project == "" || s.project == c.project }

// ListServers implements openstack.Servers. A server in BUILD is ACTIVE by the next
// list, as a fast hypervisor would have it (or ERROR, see SetBootFault). Like Nova's
// list, it leaves the fault out.
func (c *Cloud) ListServers(_ context.Context, pattern string) ([]openstack.Server, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.call("ListServers"); err != nil {
		return nil, err
	}
	re, err := regexp.Compile(pattern)
	if err != nil {
		return nil, err
	}
	var out []openstack.Server
	for _, id := range slices.Sorted(maps.Keys(c.servers)) {
		s := c.servers[id]
		if !re.MatchString(s.Name) || !c.visible(s) {
			continue
		}
		listed := s.Server
		listed.Fault = ""
		out = append(out, listed)
		if s.Status == "BUILD" {
			s.Status = "ACTIVE"
			if c.bootFault != "" {
				s.Status, s.Fault = "ERROR", c.bootFault
			}
		}
	}
	return out, nil
}

// GetServer implements openstack.Servers.
func (c *Cloud) GetServer(_ context.Context, id string) (*openstack.Server, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.call("GetServer"); err != nil {
		return nil, err
	}
	s, ok := c.servers[id]
	if !ok || !c.visible(s) {
		return nil, notFound("server " + id)
	}
	out := s.Server
	return &out, nil
}

// CreateServer implements openstack.Servers, refusing for quota like Nova (403) once the
// fake cloud holds SetInstanceLimit servers.
func (c *Cloud) CreateServer(_ context.Context, o openstack.ServerCreate) (*openstack.Server, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.call("CreateServer"); err != nil {
		return nil, err
	}
	if limit := c.instanceLimit; limit >= 0 && len(c.servers) >= limit {
		return nil, &openstack.Error{
			Service: "compute", Operation: "POST /v2.1/servers", StatusCode: 403, Quota: true,
			CloudMessage: fmt.Sprintf("Quota exceeded for instances: Requested 1, but already used %d of %d instances", len(c.servers), limit),
		}
	}
	s := &fakeServer{Server: openstack.Server{
		ID: c.newID("server"), Name: o.Name, Status: "BUILD", Metadata: maps.Clone(o.Metadata),
		Addresses: []string{fmt.Sprintf("10.0.0.%d", c.nextID%250)},
	}, project: c.project}
	c.servers[s.ID] = s
	c.created = append(c.created, o)
	return &s.Server, nil
}

// DeleteServer implements openstack.Servers.
func (c *Cloud) DeleteServer(_ context.Context, id string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.call("DeleteServer"); err != nil {
		return err
	}
	if s, ok := c.servers[id]; ok && c.visible(s) {
		delete(c.servers, id)
	}
	return nil
}

// InProject returns a view of the cloud as a user of the project, whatever its roles:
// what it boots is in the project.
func (c *Cloud) InProject(projectID string) *Cloud {
	return &Cloud{state: c.state, project: projectID}
}

// ServersIn returns the names and statuses of the project's servers.
func (c *Cloud) ServersIn(projectID string) map[string]string {
	return c.serverStatuses(func(s *fakeServer) bool { return s.project == projectID })
}

// FailServer sends a server, by name, to ERROR with Nova's fault message.
func (c *Cloud) FailServer(name, fault string) {
	c.editServers(name, func(s *fakeServer) { s.Status, s.Fault = "ERROR", fault })
}

// SetBootFault makes every server booted from now on go to ERROR with fault, as a
// flavor no host can take does ("" to stop).
func (c *Cloud) SetBootFault(fault string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.bootFault = fault
}

// SetInstanceLimit makes CreateServer refuse for quota once this many servers exist in
// the whole fake cloud (-1: no limit).
func (c *Cloud) SetInstanceLimit(n int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.instanceLimit = n
}

// Servers returns the names and statuses of the servers whose name matches pattern.
func (c *Cloud) Servers(pattern string) map[string]string {
	re := regexp.MustCompile(pattern)
	return c.serverStatuses(func(s *fakeServer) bool { return re.MatchString(s.Name) })
}

// serverStatuses returns the names and statuses of the servers keep selects.
func (c *Cloud) serverStatuses(keep func(*fakeServer) bool) map[string]string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[string]string{}
	for _, s := range c.servers {
		if keep(s) {
			out[s.Name] = s.Status
		}
	}
	return out
}

// editServers applies edit to every server called name.
func (c *Cloud) editServers(name string, edit func(*fakeServer)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, s := range c.servers {
		if s.Name == name {
			edit(s)
		}
	}
}

// SetServerStatus changes a server's status by name, as a failing hypervisor would.
func (c *Cloud) SetServerStatus(name, status string) {
	c.editServers(name, func(s *fakeServer) { s.Status = status })
}

// LastCreate returns the last server create request.
func (c *Cloud) LastCreate() openstack.ServerCreate {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.created) == 0 {
		return openstack.ServerCreate{}
	}
	return c.created[len(c.created)-1]
}

// FlavorID implements openstack.Servers: flavors m1.tiny and m1.small exist.
func (c *Cloud) FlavorID(_ context.Context, nameOrID string) (string, error) {
	return c.lookup("FlavorID", map[string]string{"m1.tiny": "flavor-tiny", "m1.small": "flavor-small"}, nameOrID, fmt.Sprintf("flavor %q", nameOrID))
}

// ImageID implements openstack.Servers: the image cirros exists, public.
func (c *Cloud) ImageID(_ context.Context, nameOrID string, _ openstack.ImageScope) (string, error) {
	return c.lookup("ImageID", map[string]string{"cirros": "image-cirros"}, nameOrID, fmt.Sprintf("image %q", nameOrID))
}

// NetworkID implements openstack.Servers: a network name resolves to "net-<name>", and
// an ID ("net-…") to itself.
func (c *Cloud) NetworkID(_ context.Context, nameOrID string) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.call("NetworkID"); err != nil {
		return "", err
	}
	if strings.HasPrefix(nameOrID, "net-") {
		return nameOrID, nil
	}
	return "net-" + nameOrID, nil
}

// EnsureServerGroup implements openstack.Servers.
func (c *Cloud) EnsureServerGroup(_ context.Context, name, policy, known string) (openstack.ServerGroup, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.call("EnsureServerGroup"); err != nil {
		return openstack.ServerGroup{}, err
	}
	group := func(id string) openstack.ServerGroup {
		n, p, _ := strings.Cut(c.serverGroups[id], "/")
		return openstack.ServerGroup{ID: id, Name: n, Policy: p}
	}
	if known != "" && c.serverGroups[known] != "" {
		return group(known), nil
	}
	for _, id := range slices.Sorted(maps.Keys(c.serverGroups)) {
		if group(id).Name == name {
			return group(id), nil
		}
	}
	id := c.newID("servergroup")
	c.serverGroups[id] = name + "/" + policy
	return group(id), nil
}

// AddServerGroup makes a server group as someone else would, and returns its ID.
func (c *Cloud) AddServerGroup(name, policy string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	id := c.newID("servergroup")
	c.serverGroups[id] = name + "/" + policy
	return id
}

// DeleteServerGroup implements openstack.Servers.
func (c *Cloud) DeleteServerGroup(_ context.Context, id string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.call("DeleteServerGroup"); err != nil {
		return err
	}
	delete(c.serverGroups, id)
	return nil
}

// ServerGroups returns the server groups as id → name/policy.
func (c *Cloud) ServerGroups() map[string]string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return maps.Clone(c.serverGroups)
}
