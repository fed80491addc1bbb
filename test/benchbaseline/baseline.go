// Package benchbaseline is the "plain gophercloud program" that `make bench` measures the
// operator against: the same work done the shortest way a script would do it, with a
// fixed number of workers and no reconcile loop. It also gives the benchmark harness the
// few direct cloud operations it needs (reading Nova quota, listing a project's servers,
// purging leftovers), since only packages under internal/openstack may import
// gophercloud.
//
// Every request the baseline makes is counted and timed by its own transport, so the
// harness can print calls and median latency for the baseline beside the operator's.
package benchbaseline

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"
	volumequotas "github.com/gophercloud/gophercloud/v2/openstack/blockstorage/v3/quotasets"
	computequotas "github.com/gophercloud/gophercloud/v2/openstack/compute/v2/quotasets"
	"github.com/gophercloud/gophercloud/v2/openstack/config/clouds"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/groups"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/projects"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/roles"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/tokens"
	networkquotas "github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/quotas"
	"github.com/gophercloud/gophercloud/v2/pagination"
)

// Tag marks every project the baseline creates, so a run that died half-way can be
// cleaned up by the next one without touching anything else.
const Tag = "whitehall-bench-baseline"

// User-Agent prefixes, so a recording proxy can tell the baseline's requests from the
// operator's and from the harness's own reads.
const (
	BaselineAgent = "whitehall-bench-baseline"
	HarnessAgent  = "whitehall-bench-harness"
)

// Stats counts and times the requests of one client.
type Stats struct {
	mu    sync.Mutex
	calls []Call
}

// Call is one HTTP request: its service (from the catalog), method, status code (0: no
// answer) and latency to the response headers.
type Call struct {
	Service string
	Method  string
	Code    int
	Latency time.Duration
}

// Mark returns a position to pass to Since.
func (s *Stats) Mark() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.calls)
}

// Since returns the calls made after mark.
func (s *Stats) Since(mark int) []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.calls[mark:])
}

func (s *Stats) add(c Call) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, c)
}

// Median returns the median latency of calls (0 for none).
func Median(calls []Call) time.Duration {
	if len(calls) == 0 {
		return 0
	}
	d := make([]time.Duration, len(calls))
	for i, c := range calls {
		d[i] = c.Latency
	}
	slices.Sort(d)
	if len(d)%2 == 1 {
		return d[len(d)/2]
	}
	return (d[len(d)/2-1] + d[len(d)/2]) / 2
}

// countingTransport records every request in stats, labelled by the service whose
// endpoint the URL starts with.
type countingTransport struct {
	next  http.RoundTripper
	stats *Stats

	mu       sync.RWMutex
	prefixes map[string]string
}

func (t *countingTransport) route(prefix, service string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.prefixes[strings.TrimSuffix(prefix, "/")] = service
}

func (t *countingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	url := req.URL.String()
	t.mu.RLock()
	best, service := 0, "other"
	for p, s := range t.prefixes {
		if len(p) > best && strings.HasPrefix(url, p) {
			best, service = len(p), s
		}
	}
	t.mu.RUnlock()
	start := time.Now()
	resp, err := t.next.RoundTrip(req)
	code := 0
	if err == nil {
		code = resp.StatusCode
	}
	t.stats.add(Call{Service: service, Method: req.Method, Code: code, Latency: time.Since(start)})
	return resp, err
}

// Client is an admin session on a cloud, with one service client per service.
type Client struct {
	Stats *Stats

	opts      gophercloud.AuthOptions
	endpoints gophercloud.EndpointOpts
	transport *countingTransport
	agent     string
	provider  *gophercloud.ProviderClient
	identity  *gophercloud.ServiceClient
	compute   *gophercloud.ServiceClient
	network   *gophercloud.ServiceClient
	volume    *gophercloud.ServiceClient
	image     *gophercloud.ServiceClient
}

// Open logs in to cloud from the clouds.yaml at path, with userAgent prepended to every
// request's User-Agent. The login itself is counted.
func Open(ctx context.Context, path, cloud, userAgent string) (*Client, error) {
	ao, eo, tlsConfig, err := clouds.Parse(clouds.WithLocations(path), clouds.WithCloudName(cloud))
	if err != nil {
		return nil, err
	}
	ao.AllowReauth = true
	base := http.DefaultTransport.(*http.Transport).Clone()
	base.TLSClientConfig = tlsConfig
	base.MaxIdleConnsPerHost = 64
	ct := &countingTransport{next: base, stats: &Stats{}, prefixes: map[string]string{}}
	ct.route(ao.IdentityEndpoint, "identity")
	c := &Client{Stats: ct.stats, opts: ao, endpoints: eo, transport: ct, agent: userAgent}
	if err := c.login(ctx, nil); err != nil {
		return nil, err
	}
	return c, nil
}

// login authenticates (scoped to scope when set) and opens the service clients.
func (c *Client) login(ctx context.Context, scope *gophercloud.AuthScope) error {
	opts := c.opts
	if scope != nil {
		opts.Scope = scope
		opts.TenantID, opts.TenantName = "", ""
	}
	provider, err := openstack.NewClient(opts.IdentityEndpoint)
	if err != nil {
		return err
	}
	provider.HTTPClient = http.Client{Transport: c.transport, Timeout: 2 * time.Minute}
	provider.UserAgent.Prepend(c.agent)
	if err := openstack.Authenticate(ctx, provider, opts); err != nil {
		return fmt.Errorf("logging in: %w", err)
	}
	c.provider = provider
	open := []struct {
		sc      **gophercloud.ServiceClient
		service string
		new     func(*gophercloud.ProviderClient, gophercloud.EndpointOpts) (*gophercloud.ServiceClient, error)
	}{
		{&c.identity, "identity", openstack.NewIdentityV3},
		{&c.compute, "compute", openstack.NewComputeV2},
		{&c.network, "network", openstack.NewNetworkV2},
		{&c.volume, "block-storage", openstack.NewBlockStorageV3},
		{&c.image, "image", openstack.NewImageV2},
	}
	for _, o := range open {
		sc, err := o.new(provider, c.endpoints)
		if err != nil {
			return fmt.Errorf("%s endpoint: %w", o.service, err)
		}
		c.transport.route(sc.Endpoint, o.service)
		*o.sc = sc
	}
	c.compute.Microversion = "2.60" // as the operator
	return nil
}

// Department is one department's project and quota, as the benchmark's ComputeQuota
// baseline sets it.
type Department struct {
	Name                              string
	Cores, Instances, RAMMiB          int
	Ports, FloatingIPs, GigabytesDisk int
}

// ConvergeResult is what converging departments cost.
type ConvergeResult struct {
	Wall       time.Duration
	Calls      []Call
	ProjectIDs []string
}

// Converge does, per department, what a script would: create the project, grant the
// group the role on it, and set the Nova, Neutron and Cinder quota — with workers
// departments at once. The group and role are looked up once, up front (counted).
func (c *Client) Converge(ctx context.Context, depts []Department, workers int, group, role string) (ConvergeResult, error) {
	mark := c.Stats.Mark()
	start := time.Now()
	groupID, err := c.groupID(ctx, group)
	if err != nil {
		return ConvergeResult{}, err
	}
	roleID, err := c.RoleID(ctx, role)
	if err != nil {
		return ConvergeResult{}, err
	}
	ids := make([]string, len(depts))
	err = forEach(ctx, len(depts), workers, func(ctx context.Context, i int) error {
		d := depts[i]
		p, err := projects.Create(ctx, c.identity, projects.CreateOpts{
			Name: d.Name, DomainID: "default", Tags: []string{Tag},
		}).Extract()
		if err != nil {
			return fmt.Errorf("creating project %s: %w", d.Name, err)
		}
		ids[i] = p.ID
		if err := roles.Assign(ctx, c.identity, roleID, roles.AssignOpts{GroupID: groupID, ProjectID: p.ID}).ExtractErr(); err != nil {
			return fmt.Errorf("assigning role on %s: %w", d.Name, err)
		}
		return c.SetQuota(ctx, p.ID, d)
	})
	res := ConvergeResult{Wall: time.Since(start), Calls: c.Stats.Since(mark), ProjectIDs: compact(ids)}
	return res, err
}

// SetQuota writes a department's quota: one call per service.
func (c *Client) SetQuota(ctx context.Context, projectID string, d Department) error {
	if err := computequotas.Update(ctx, c.compute, projectID, computequotas.UpdateOpts{
		Cores: &d.Cores, Instances: &d.Instances, RAM: &d.RAMMiB,
	}).Err; err != nil {
		return fmt.Errorf("compute quota of %s: %w", projectID, err)
	}
	if err := networkquotas.Update(ctx, c.network, projectID, networkquotas.UpdateOpts{
		Port: &d.Ports, FloatingIP: &d.FloatingIPs,
	}).Err; err != nil {
		return fmt.Errorf("network quota of %s: %w", projectID, err)
	}
	if err := volumequotas.Update(ctx, c.volume, projectID, volumequotas.UpdateOpts{
		Gigabytes: &d.GigabytesDisk,
	}).Err; err != nil {
		return fmt.Errorf("block-storage quota of %s: %w", projectID, err)
	}
	return nil
}

// SetCores writes one Nova cores limit to every project, workers at a time: what a
// season boundary asks of the cloud, as a plain program would do it. It returns when
// Nova has answered the last write.
func (c *Client) SetCores(ctx context.Context, ids []string, cores, workers int) error {
	return forEach(ctx, len(ids), workers, func(ctx context.Context, i int) error {
		if err := computequotas.Update(ctx, c.compute, ids[i], computequotas.UpdateOpts{Cores: &cores}).Err; err != nil {
			return fmt.Errorf("compute quota of %s: %w", ids[i], err)
		}
		return nil
	})
}

// DeleteProjects deletes projects, workers at a time; one already gone is fine.
func (c *Client) DeleteProjects(ctx context.Context, ids []string, workers int) error {
	return forEach(ctx, len(ids), workers, func(ctx context.Context, i int) error {
		return c.DeleteProject(ctx, ids[i])
	})
}

// DeleteProject deletes one project; one already gone is fine.
func (c *Client) DeleteProject(ctx context.Context, id string) error {
	err := projects.Delete(ctx, c.identity, id).ExtractErr()
	if gophercloud.ResponseCodeIs(err, http.StatusNotFound) {
		return nil
	}
	return err
}

// ComputeCores reads a project's Nova cores limit: one call.
func (c *Client) ComputeCores(ctx context.Context, projectID string) (int, error) {
	q, err := computequotas.Get(ctx, c.compute, projectID).Extract()
	if err != nil {
		return 0, err
	}
	return q.Cores, nil
}

// Project is a project found by ListProjects.
type Project struct {
	ID, Name string
	// Owned: created by the operator (it carries the operator's owner attribute).
	Owned bool
	// Baseline: created by this package (it carries Tag).
	Baseline bool
}

// ListProjects returns every project whose name starts with prefix, in one call.
func (c *Client) ListProjects(ctx context.Context, prefix string) ([]Project, error) {
	var out []Project
	err := projects.List(c.identity, projects.ListOpts{}).EachPage(ctx, func(_ context.Context, page pagination.Page) (bool, error) {
		list, err := projects.ExtractProjects(page)
		if err != nil {
			return false, err
		}
		for _, p := range list {
			if strings.HasPrefix(p.Name, prefix) {
				_, owned := p.Extra["whitehall_owner"]
				out = append(out, Project{ID: p.ID, Name: p.Name, Owned: owned, Baseline: slices.Contains(p.Tags, Tag)})
			}
		}
		return true, nil
	})
	return out, err
}

// UserID returns the ID of the user this session logged in as.
func (c *Client) UserID(ctx context.Context) (string, error) {
	u, err := tokens.Get(ctx, c.identity, c.provider.Token()).ExtractUser()
	if err != nil {
		return "", err
	}
	return u.ID, nil
}

func (c *Client) groupID(ctx context.Context, name string) (string, error) {
	pages, err := groups.List(c.identity, groups.ListOpts{Name: name, DomainID: "default"}).AllPages(ctx)
	if err != nil {
		return "", err
	}
	list, err := groups.ExtractGroups(pages)
	if err != nil {
		return "", err
	}
	if len(list) == 0 {
		return "", fmt.Errorf("group %q not found", name)
	}
	return list[0].ID, nil
}

// RoleID looks a role up by name: one call.
func (c *Client) RoleID(ctx context.Context, name string) (string, error) {
	pages, err := roles.List(c.identity, roles.ListOpts{Name: name}).AllPages(ctx)
	if err != nil {
		return "", err
	}
	list, err := roles.ExtractRoles(pages)
	if err != nil {
		return "", err
	}
	if len(list) == 0 {
		return "", fmt.Errorf("role %q not found", name)
	}
	return list[0].ID, nil
}

// forEach runs fn for 0..n-1 on workers goroutines; it stops handing out work at the
// first error and returns every error.
func forEach(ctx context.Context, n, workers int, fn func(context.Context, int) error) error {
	workers = max(1, min(workers, n))
	next := make(chan int)
	var (
		mu   sync.Mutex
		errs []error
		wg   sync.WaitGroup
	)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for range workers {
		wg.Go(func() {
			for i := range next {
				if err := fn(ctx, i); err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
					cancel()
				}
			}
		})
	}
feed:
	for i := range n {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	return errors.Join(errs...)
}

func compact(ids []string) []string {
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		if id != "" {
			out = append(out, id)
		}
	}
	return out
}
