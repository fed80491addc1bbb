package openstack

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/whitehall-cloud/whitehall-operator/internal/quota"
)

// listingSource is a BulkSource whose listings a test sets, counting each call. A
// listing blocks while gate is set, until the gate is closed.
type listingSource struct {
	mu          sync.Mutex
	projects    []Project
	assignments map[string][]Assignment
	network     map[string]quota.Limits
	fail        error
	calls       map[string]int
	gate        chan struct{}
	started     chan struct{} // receives once per listing that reached the gate
}

func newListingSource() *listingSource {
	return &listingSource{
		projects:    []Project{{ID: "p1", Name: "one", Tags: []string{"a"}, Enabled: true, Owner: "uid-1"}, {ID: "p2", Name: "two"}},
		assignments: map[string][]Assignment{"p1": {{GroupID: "g1", RoleID: "member"}}},
		network:     map[string]quota.Limits{"p1": {quota.Networks: 3}},
		calls:       map[string]int{},
	}
}

func (s *listingSource) enter(name string) error {
	s.mu.Lock()
	s.calls[name]++
	gate, started, fail := s.gate, s.started, s.fail
	s.mu.Unlock()
	if gate != nil {
		if started != nil {
			started <- struct{}{}
		}
		<-gate
	}
	return fail
}

func (s *listingSource) ListAllProjects(context.Context) ([]Project, error) {
	if err := s.enter("projects"); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Project, len(s.projects))
	copy(out, s.projects)
	return out, nil
}

func (s *listingSource) ListAllAssignments(context.Context) (map[string][]Assignment, error) {
	if err := s.enter("assignments"); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.assignments), nil
}

func (s *listingSource) ListNetworkQuotas(context.Context) (map[string]quota.Limits, error) {
	if err := s.enter("network"); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.network), nil
}

func (s *listingSource) count(name string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[name]
}

// viewAnswer is what a view answered for one project: nil where it said "read it live".
type viewAnswer struct {
	Project     *Project
	Assignments []Assignment
	Network     quota.Limits
}

func ask(ctx context.Context, v *BulkView, id string) viewAnswer {
	var out viewAnswer
	if p, ok := v.Project(ctx, id); ok {
		out.Project = p
	}
	if a, ok := v.Assignments(ctx, id); ok {
		out.Assignments = a
		if out.Assignments == nil {
			out.Assignments = []Assignment{}
		}
	}
	if n, ok := v.NetworkLimits(ctx, id); ok {
		out.Network = n
	}
	return out
}

func TestBulkViewServes(t *testing.T) {
	one := &Project{ID: "p1", Name: "one", Tags: []string{"a"}, Enabled: true, Owner: "uid-1"}
	cases := []struct {
		reason string
		// before runs on the view after its first refresh.
		before func(v *BulkView, s *listingSource)
		ctx    func() context.Context
		id     string
		want   viewAnswer
	}{
		{
			reason: "after a refresh, a project's entry in every listing is served",
			id:     "p1",
			want:   viewAnswer{Project: one, Assignments: []Assignment{{GroupID: "g1", RoleID: "member"}}, Network: quota.Limits{quota.Networks: 3}},
		},
		{
			reason: "a project with no assignment of its own has none; with no Neutron quota of its own it is read live",
			id:     "p2",
			want:   viewAnswer{Project: &Project{ID: "p2", Name: "two"}, Assignments: []Assignment{}},
		},
		{
			reason: "a project the listing does not hold (new since) is read live in every listing",
			id:     "p3",
		},
		{
			reason: "a read not marked AtRest (deletion, import) is always live",
			ctx:    context.Background,
			id:     "p1",
		},
		{
			reason: "after the operator's own write to the project, its entry of that listing is not served",
			before: func(v *BulkView, _ *listingSource) { v.Wrote(ProjectsListing, "p1") },
			id:     "p1",
			want:   viewAnswer{Assignments: []Assignment{{GroupID: "g1", RoleID: "member"}}, Network: quota.Limits{quota.Networks: 3}},
		},
		{
			reason: "after the operator's own grant and quota write, only the project itself is served",
			before: func(v *BulkView, _ *listingSource) {
				v.Wrote(AssignmentsListing, "p1")
				v.Wrote(NetworkListing, "p1")
			},
			id:   "p1",
			want: viewAnswer{Project: one},
		},
		{
			reason: "a write to another project changes nothing of this one's",
			before: func(v *BulkView, _ *listingSource) { v.wroteAll("p2") },
			id:     "p1",
			want:   viewAnswer{Project: one, Assignments: []Assignment{{GroupID: "g1", RoleID: "member"}}, Network: quota.Limits{quota.Networks: 3}},
		},
	}
	for _, tc := range cases {
		t.Run(tc.reason, func(t *testing.T) {
			s := newListingSource()
			v := NewBulkView(s, time.Minute, "test", nil)
			ctx := AtRest(context.Background())
			v.current(ctx)
			if tc.before != nil {
				tc.before(v, s)
			}
			if tc.ctx != nil {
				ctx = tc.ctx()
			}
			if diff := cmp.Diff(tc.want, ask(ctx, v, tc.id)); diff != "" {
				t.Errorf("%s: served (-want +got):\n%s", tc.reason, diff)
			}
			if n := s.count("projects"); n != 1 {
				t.Errorf("%s: %d project listings, want 1", tc.reason, n)
			}
		})
	}
}

func TestBulkViewNotServedWhenNotAtRest(t *testing.T) {
	s := newListingSource()
	v := NewBulkView(s, time.Minute, "test", nil)
	if got := ask(context.Background(), v, "p1"); got.Project != nil {
		t.Errorf("a live read was served: %+v", got)
	}
	if n := s.count("projects"); n != 0 {
		t.Errorf("reads not at rest listed the cloud %d times, want 0", n)
	}
	var nilView *BulkView // a service user's login has none
	if _, ok := nilView.Project(AtRest(context.Background()), "p1"); ok {
		t.Error("a login with no view served a read")
	}
	nilView.Wrote(ProjectsListing, "p1") // must not panic
}

// A write made while the listing is under way may be missing from it: not served.
func TestBulkViewWriteDuringListing(t *testing.T) {
	s := newListingSource()
	v := NewBulkView(s, time.Minute, "test", nil)
	s.gate, s.started = make(chan struct{}), make(chan struct{}, 3)
	done := make(chan struct{})
	go func() { defer close(done); v.current(AtRest(context.Background())) }()
	<-s.started // the listing began
	v.Wrote(ProjectsListing, "p1")
	close(s.gate)
	<-done
	if p, ok := v.Project(AtRest(context.Background()), "p1"); ok {
		t.Errorf("the entry of a project written during the listing was served: %+v", p)
	}
	// The next refresh began after the write: it is served again.
	v.now = func() time.Time { return time.Now().Add(2 * time.Minute) }
	s.mu.Lock()
	s.gate = nil
	s.mu.Unlock()
	if _, ok := v.Project(AtRest(context.Background()), "p1"); !ok {
		t.Error("a listing begun after the write did not serve the project")
	}
	if n := len(v.wrote[ProjectsListing]); n != 0 {
		t.Errorf("%d writes remembered after a listing saw them, want 0 (memory stays bounded)", n)
	}
}

func TestBulkViewRefreshesOnceForConcurrentReaders(t *testing.T) {
	s := newListingSource()
	v := NewBulkView(s, time.Minute, "test", nil)
	ctx := AtRest(context.Background())
	v.current(ctx)
	later := time.Now().Add(61 * time.Second) // expired
	v.now = func() time.Time { return later }
	const readers = 50
	var wg sync.WaitGroup
	misses := make(chan string, readers)
	for i := range readers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, ok := v.Project(ctx, "p1"); !ok {
				misses <- fmt.Sprint("reader ", i)
			}
		}()
	}
	wg.Wait()
	close(misses)
	for m := range misses {
		t.Errorf("%s was not served", m)
	}
	for _, l := range []string{"projects", "assignments", "network"} {
		if n := s.count(l); n != 2 {
			t.Errorf("%s listed %d times, want 2 (one at first, one for all %d readers once expired)", l, n, readers)
		}
	}
}

func TestBulkViewFailedListingGoesLive(t *testing.T) {
	s := newListingSource()
	s.fail = errors.New("403 Forbidden")
	v := NewBulkView(s, time.Minute, "test", nil)
	if got := ask(AtRest(context.Background()), v, "p1"); got.Project != nil || got.Network != nil || got.Assignments != nil {
		t.Errorf("a failed listing served %+v", got)
	}
	if n := s.count("projects"); n != 1 {
		t.Errorf("a failed listing was tried %d times within its period, want 1", n)
	}
}

func TestBulkViewPassesOnChanges(t *testing.T) {
	cases := []struct {
		reason string
		change func(s *listingSource)
		// wrote is a project the operator wrote to between the two refreshes.
		wrote string
		want  []string
	}{
		{reason: "nothing changed: nothing passed on", change: func(*listingSource) {}},
		{reason: "a name changed", change: func(s *listingSource) { s.projects[0].Name = "renamed" }, want: []string{"p1"}},
		{reason: "a tag changed", change: func(s *listingSource) { s.projects[1].Tags = []string{"x"} }, want: []string{"p2"}},
		{reason: "the owner property changed", change: func(s *listingSource) { s.projects[0].Owner = "" }, want: []string{"p1"}},
		{reason: "a project vanished", change: func(s *listingSource) { s.projects = s.projects[:1] }, want: []string{"p2"}},
		{reason: "an assignment was removed", change: func(s *listingSource) { delete(s.assignments, "p1") }, want: []string{"p1"}},
		{reason: "a foreign assignment was added", change: func(s *listingSource) {
			s.assignments["p2"] = []Assignment{{UserID: "stranger", RoleID: "admin"}}
		}, want: []string{"p2"}},
		{reason: "a Neutron limit changed", change: func(s *listingSource) { s.network["p1"] = quota.Limits{quota.Networks: 9} }, want: []string{"p1"}},
		{reason: "a Neutron quota was reset to the defaults", change: func(s *listingSource) { delete(s.network, "p1") }, want: []string{"p1"}},
		{reason: "the operator's own write is no change to wake its object for", change: func(s *listingSource) {
			s.network["p1"] = quota.Limits{quota.Networks: 9}
			s.projects[1].Name = "renamed"
		}, wrote: "p1", want: []string{"p2"}},
	}
	for _, tc := range cases {
		t.Run(tc.reason, func(t *testing.T) {
			s := newListingSource()
			feed := NewViewFeed()
			woken := feed.Subscribe()
			v := NewBulkView(s, time.Minute, "test", feed)
			v.current(AtRest(context.Background()))
			s.mu.Lock()
			tc.change(s)
			s.mu.Unlock()
			if tc.wrote != "" {
				v.Wrote(NetworkListing, tc.wrote)
			}
			v.now = func() time.Time { return time.Now().Add(2 * time.Minute) }
			v.current(AtRest(context.Background()))
			var got []string
			select {
			case got = <-woken:
			default:
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("%s: passed on (-want +got):\n%s", tc.reason, diff)
			}
		})
	}
}

// generatedSource lists n projects, each with two role assignments and a Neutron
// quota, made afresh by every listing as a decoded answer would be.
type generatedSource struct{ n int }

func (g generatedSource) ListAllProjects(context.Context) ([]Project, error) {
	out := make([]Project, 0, g.n)
	for i := range g.n {
		out = append(out, Project{ID: fmt.Sprintf("%032x", i), Name: fmt.Sprintf("department-%d-service", i), DomainID: "default",
			Description: fmt.Sprintf("service %d of a department, managed by whitehall", i), Tags: []string{strings.Clone("whitehall"), strings.Clone("department")},
			Enabled: true, Owner: fmt.Sprintf("0b7e2a54-7d1e-4c1a-9d8e-%012x", i), OwnerNamespace: fmt.Sprintf("department-%d", i),
			OwnerName: "service", OwnerCluster: fmt.Sprintf("4c1a9d8e-7d1e-4c1a-9d8e-%012x", 1)})
	}
	return out, nil
}

func (g generatedSource) ListAllAssignments(context.Context) (map[string][]Assignment, error) {
	out := map[string][]Assignment{}
	for i := range g.n {
		out[fmt.Sprintf("%032x", i)] = []Assignment{{GroupID: fmt.Sprintf("%032x", i+g.n), RoleID: fmt.Sprintf("%032x", 1)},
			{UserID: fmt.Sprintf("%032x", i+2*g.n), RoleID: fmt.Sprintf("%032x", 2)}}
	}
	return out, nil
}

func (g generatedSource) ListNetworkQuotas(context.Context) (map[string]quota.Limits, error) {
	out := map[string]quota.Limits{}
	for i := range g.n {
		out[fmt.Sprintf("%032x", i)] = quota.Limits{quota.Networks: 10, quota.Subnets: 10, quota.Ports: 50, quota.Routers: 2}
	}
	return out, nil
}

// TestBulkViewSize measures the view's memory per 1,000 projects, each with two role
// assignments and a Neutron quota, as docs/operations.md reports it.
func TestBulkViewSize(t *testing.T) {
	const n = 1000
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	v := NewBulkView(generatedSource{n: n}, time.Minute, "test", nil)
	v.current(AtRest(context.Background()))
	runtime.GC()
	runtime.ReadMemStats(&after)
	size := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	t.Logf("bulk view of %d projects: %d KiB", n, size/1024)
	if size > 4<<20 {
		t.Errorf("the view of %d projects takes %d KiB, more than 4 MiB", n, size/1024)
	}
	runtime.KeepAlive(v)
}
