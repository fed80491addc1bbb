package openstack

import (
	"context"
	"maps"
	"slices"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"
	"golang.org/x/sync/singleflight"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/whitehall-cloud/whitehall-operator/internal/quota"
)

// Observe in bulk, act per department. At rest each object's resync used to read its
// project, its role assignments and its Neutron quota one by one. A BulkView lists the
// three once per cloud and per resync period and serves those reads from the listing;
// what differs from the previous listing is passed on (ViewFeed) so the object it
// belongs to is reconciled at once, with the existing code.
//
// The view is refreshed lazily, by the first read after it expired; concurrent readers
// share that one refresh (singleflight). A cloud nobody reads costs nothing, and the
// view lives and dies with its login (the Factory drops unused logins): no goroutine per
// cloud to start and stop. At rest, objects read it all through the period, so a
// refresh comes within one period of the last.
//
// What it never does: serve an entry of a project the operator wrote to after the
// listing began (that read is live), serve a read not marked AtRest (deletion, import,
// take-back: live), or hold a credential. It serves only what the caller asks by ID.

// atRestKey marks a context whose reads may be served from the bulk view.
type atRestKey struct{}

// AtRest marks ctx's reads of a project, of its role assignments and of its Neutron
// limits as an object's look at rest: the cloud's bulk view serves them when it holds a
// current entry. Reads without the mark are always live.
func AtRest(ctx context.Context) context.Context { return context.WithValue(ctx, atRestKey{}, true) }

func atRest(ctx context.Context) bool { v, _ := ctx.Value(atRestKey{}).(bool); return v }

// BulkSource lists what a BulkView holds, one call each, with the admin's login.
type BulkSource interface {
	// ListAllProjects returns every project of the cloud.
	ListAllProjects(ctx context.Context) ([]Project, error)
	// ListAllAssignments returns the direct role assignments on projects, by project ID.
	ListAllAssignments(ctx context.Context) (map[string][]Assignment, error)
	// ListNetworkQuotas returns the Neutron limits of the projects with a quota of
	// their own, by project ID.
	ListNetworkQuotas(ctx context.Context) (map[string]quota.Limits, error)
}

// Listing names one of the view's listings: what an operator's write makes stale.
type Listing string

// The listings of a BulkView.
const (
	ProjectsListing    Listing = "projects"
	AssignmentsListing Listing = "role_assignments"
	NetworkListing     Listing = "network_quotas"
)

var listings = []Listing{ProjectsListing, AssignmentsListing, NetworkListing}

// snapshot is one refresh: the three listings as they were when it began. A listing
// that failed is nil, and none of its entries is served.
type snapshot struct {
	// seq is the view's write count when the listing began: a write counted at or
	// after it may be missing from the listing.
	seq         uint64
	began       time.Time
	projects    map[string]Project
	assignments map[string][]Assignment
	network     map[string]quota.Limits
}

// BulkView is one cloud's (one admin login's) view of its projects, role assignments
// and Neutron quotas, refreshed at most once per period. It is safe for concurrent use.
// Its memory is bounded by the cloud's projects: one small entry each per listing.
type BulkView struct {
	source BulkSource
	period time.Duration
	feed   *ViewFeed
	// cloud labels the view's metrics: the auth URL, never a credential.
	cloud string
	now   func() time.Time

	mu sync.Mutex
	// seq counts the operator's writes; wrote is, by listing and project, the count of
	// the last write since the snapshot began.
	seq   uint64
	wrote map[Listing]map[string]uint64
	snap  *snapshot

	refresh singleflight.Group
}

// NewBulkView returns the view of source, refreshed at most once per period (the
// resync period), passing what changed to feed (nil: to no one). cloud labels its
// metrics.
func NewBulkView(source BulkSource, period time.Duration, cloud string, feed *ViewFeed) *BulkView {
	v := &BulkView{source: source, period: period, feed: feed, cloud: cloud, now: time.Now,
		wrote: map[Listing]map[string]uint64{}}
	for _, l := range listings {
		v.wrote[l] = map[string]uint64{}
	}
	return v
}

// Project returns the project with id from the view, when ctx is AtRest and the view
// holds a current entry of it; ok false means: read it live.
func (v *BulkView) Project(ctx context.Context, id string) (_ *Project, ok bool) {
	s := v.serving(ctx, ProjectsListing, id)
	if s == nil {
		return nil, false
	}
	p, found := s.projects[id]
	if !found {
		v.count(ProjectsListing, false)
		return nil, false // new since the listing, or gone: only a live read tells
	}
	p.Tags = slices.Clone(p.Tags)
	v.count(ProjectsListing, true)
	return &p, true
}

// Assignments returns the direct role assignments on project id from the view, as
// Project does.
func (v *BulkView) Assignments(ctx context.Context, id string) (_ []Assignment, ok bool) {
	s := v.serving(ctx, AssignmentsListing, id)
	if s == nil {
		return nil, false
	}
	if _, listed := s.projects[id]; !listed {
		// A project the listing does not know: its assignments may be missing too.
		v.count(AssignmentsListing, false)
		return nil, false
	}
	v.count(AssignmentsListing, true)
	return slices.Clone(s.assignments[id]), true
}

// NetworkLimits returns the Neutron limits of project id from the view, as Project
// does. A project with no quota of its own is not served: read live.
func (v *BulkView) NetworkLimits(ctx context.Context, id string) (_ quota.Limits, ok bool) {
	s := v.serving(ctx, NetworkListing, id)
	if s == nil {
		return nil, false
	}
	limits, found := s.network[id]
	v.count(NetworkListing, found)
	if !found {
		return nil, false
	}
	return maps.Clone(limits), true
}

// Wrote records that the operator wrote to project id what listing holds: no listing
// begun before now serves it. Call it once the write is answered, failed or not (a
// failed write may have landed).
func (v *BulkView) Wrote(listing Listing, id string) {
	if v == nil {
		return
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	v.seq++
	v.wrote[listing][id] = v.seq
}

// wroteAll is Wrote for every listing: the project was deleted.
func (v *BulkView) wroteAll(id string) {
	for _, l := range listings {
		v.Wrote(l, id)
	}
}

// serving returns the current snapshot when it may serve listing's entry of id (nil
// when not: ctx is not AtRest, the listing failed, or the operator wrote to id since the
// listing began), refreshing it first when it expired.
func (v *BulkView) serving(ctx context.Context, listing Listing, id string) *snapshot {
	if v == nil || !atRest(ctx) || id == "" {
		return nil
	}
	v.current(ctx)
	v.mu.Lock()
	defer v.mu.Unlock()
	// The snapshot current now, not the one current() saw: a refresh in between forgot
	// the writes it has seen, and they are checked against it alone.
	s := v.snap
	if s == nil || !s.listed(listing) || v.wrote[listing][id] >= s.seq {
		v.count(listing, false)
		return nil
	}
	return s
}

// listed reports whether the snapshot holds listing (its listing did not fail).
func (s *snapshot) listed(listing Listing) bool {
	switch listing {
	case ProjectsListing:
		return s.projects != nil
	case AssignmentsListing:
		return s.projects != nil && s.assignments != nil
	default:
		return s.network != nil
	}
}

// current returns the snapshot, refreshed first when it is older than the period.
// Concurrent callers of an expired view wait for one refresh.
func (v *BulkView) current(ctx context.Context) *snapshot {
	v.mu.Lock()
	s := v.snap
	v.mu.Unlock()
	if s != nil && v.now().Sub(s.began) < v.period {
		return s
	}
	r, _, _ := v.refresh.Do("", func() (any, error) {
		v.mu.Lock()
		s := v.snap
		v.mu.Unlock()
		if s != nil && v.now().Sub(s.began) < v.period {
			return s, nil // refreshed while this caller waited
		}
		// The refresh serves every waiter: one caller's cancelled reconcile must not
		// fail it for the others (each request has the client's timeout).
		return v.list(context.WithoutCancel(ctx)), nil
	})
	return r.(*snapshot)
}

// list lists the three at once and makes the result current, passing on what changed.
func (v *BulkView) list(ctx context.Context) *snapshot {
	v.mu.Lock()
	next := &snapshot{seq: v.seq + 1, began: v.now()}
	v.mu.Unlock()
	var g errgroup.Group
	g.Go(func() error {
		list, err := v.source.ListAllProjects(ctx)
		next.projects = byID(list, v.outcome(ctx, ProjectsListing, err))
		return nil
	})
	g.Go(func() error {
		list, err := v.source.ListAllAssignments(ctx)
		next.assignments = nonNil(list, v.outcome(ctx, AssignmentsListing, err))
		return nil
	})
	g.Go(func() error {
		list, err := v.source.ListNetworkQuotas(ctx)
		next.network = nonNil(list, v.outcome(ctx, NetworkListing, err))
		return nil
	})
	_ = g.Wait() // the listings report failure as a nil listing
	next.keepListedProjects()
	v.mu.Lock()
	prev := v.snap
	var wake []string
	if prev != nil {
		wake = slices.DeleteFunc(changed(prev, next), v.wroteSince(prev.seq))
	}
	v.snap = next
	v.forgetWrites(next.seq)
	v.mu.Unlock()
	v.published(next)
	v.feed.publish(wake)
	return next
}

// wroteSince reports whether the operator wrote to a project since the write count
// seq: a change the listings show there is most likely its own, and its object needs no
// wake (a season boundary would otherwise wake every quota it wrote, all at once, one
// period later). A person's change made in the same period is still caught: the
// object's own resync reads it from the view. Callers hold v.mu.
func (v *BulkView) wroteSince(seq uint64) func(string) bool {
	return func(id string) bool {
		for _, l := range listings {
			if v.wrote[l][id] >= seq {
				return true
			}
		}
		return false
	}
}

// keepListedProjects drops the entries of projects the projects listing does not hold:
// Neutron keeps the quotas of deleted projects, and the view's memory is bounded by the
// cloud's projects. A project new since that listing is read live anyway.
func (s *snapshot) keepListedProjects() {
	if s.projects == nil {
		return
	}
	maps.DeleteFunc(s.network, func(id string, _ quota.Limits) bool { _, ok := s.projects[id]; return !ok })
	maps.DeleteFunc(s.assignments, func(id string, _ []Assignment) bool { _, ok := s.projects[id]; return !ok })
}

// outcome records how a listing went, and says why when it failed: until the next
// refresh, the reads it would have served are live.
func (v *BulkView) outcome(ctx context.Context, listing Listing, err error) error {
	v.refreshed(listing, err == nil)
	if err != nil {
		log.FromContext(ctx).Info("a bulk listing failed: reads at rest of what it holds are live until the next refresh",
			"cloud", v.cloud, "listing", listing, "error", err.Error())
	}
	return err
}

// forgetWrites drops the writes every listing from now on has seen: the map holds only
// the projects written since the current snapshot began. Callers hold v.mu.
func (v *BulkView) forgetWrites(seq uint64) {
	for _, l := range listings {
		maps.DeleteFunc(v.wrote[l], func(_ string, at uint64) bool { return at < seq })
	}
}

// byID indexes a projects listing by ID; nil when the listing failed.
func byID(list []Project, err error) map[string]Project {
	if err != nil {
		return nil
	}
	out := make(map[string]Project, len(list))
	for _, p := range list {
		out[p.ID] = p
	}
	return out
}

// nonNil is a listing, never nil unless it failed.
func nonNil[V any](m map[string]V, err error) map[string]V {
	if err != nil {
		return nil
	}
	if m == nil {
		m = map[string]V{}
	}
	return m
}

// changed returns the projects whose entry in any listing both snapshots hold differs
// (changed, appeared or vanished), sorted.
func changed(prev, next *snapshot) []string {
	ids := map[string]bool{}
	if prev.projects != nil && next.projects != nil {
		diffKeys(ids, prev.projects, next.projects, func(a, b Project) bool {
			return a.Name == b.Name && a.Description == b.Description && a.Enabled == b.Enabled &&
				a.DomainID == b.DomainID && slices.Equal(a.Tags, b.Tags) && a.Owner == b.Owner &&
				a.OwnerNamespace == b.OwnerNamespace && a.OwnerName == b.OwnerName &&
				a.OwnerCluster == b.OwnerCluster && a.PreviousOwner == b.PreviousOwner
		})
	}
	if prev.assignments != nil && next.assignments != nil {
		diffKeys(ids, prev.assignments, next.assignments, sameAssignments)
	}
	if prev.network != nil && next.network != nil {
		diffKeys(ids, prev.network, next.network, maps.Equal[quota.Limits])
	}
	return slices.Sorted(maps.Keys(ids))
}

// diffKeys adds to ids the keys whose value differs between a and b, or that only one
// of them has.
func diffKeys[V any](ids map[string]bool, a, b map[string]V, equal func(V, V) bool) {
	for id, va := range a {
		if vb, ok := b[id]; !ok || !equal(va, vb) {
			ids[id] = true
		}
	}
	for id := range b {
		if _, ok := a[id]; !ok {
			ids[id] = true
		}
	}
}

// sameAssignments compares two projects' assignments as sets.
func sameAssignments(a, b []Assignment) bool {
	if len(a) != len(b) {
		return false
	}
	set := make(map[Assignment]int, len(a))
	for _, x := range a {
		set[x]++
	}
	for _, x := range b {
		if set[x] == 0 {
			return false
		}
		set[x]--
	}
	return true
}

// ViewFeed passes on the projects a BulkView's refresh found changed, to every
// subscriber. A subscriber that falls behind misses a batch rather than holding up the
// refresh: each object still has its own resync, which the view serves.
type ViewFeed struct {
	mu   sync.Mutex
	subs []chan []string
}

// NewViewFeed returns a feed with no subscriber.
func NewViewFeed() *ViewFeed { return &ViewFeed{} }

// Subscribe returns a channel of the project IDs each refresh found changed.
func (f *ViewFeed) Subscribe() <-chan []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	ch := make(chan []string, 64)
	f.subs = append(f.subs, ch)
	return ch
}

// publish hands ids to every subscriber that has room for them.
func (f *ViewFeed) publish(ids []string) {
	if f == nil || len(ids) == 0 {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, ch := range f.subs {
		select {
		case ch <- ids:
			viewWakes.Add(float64(len(ids)))
		default:
			viewWakesDropped.Add(float64(len(ids)))
		}
	}
}
