package testenvironment

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"

	"k8s.io/client-go/tools/events"
	"k8s.io/utils/ptr"

	"github.com/whitehall-cloud/whitehall-operator/internal/openstack"
	"github.com/whitehall-cloud/whitehall-operator/internal/openstack/openstacktest"
	"github.com/whitehall-cloud/whitehall-operator/internal/policy"
)

// lossyCloud is the fake cloud whose answer to chosen creates is lost after the server
// was made (a reset after Nova accepted the request), and which records whether any
// create reached it with a cancelled context.
type lossyCloud struct {
	*openstacktest.Cloud
	mu        sync.Mutex
	lose      map[string]bool // server names whose answer is lost
	refuse    map[string]error
	cancelled int
	// When set, each create announces itself on arrived, waits for its own gate to
	// close, and announces its end on finished.
	arrived, finished chan string
	gates             map[string]chan struct{}
}

func (c *lossyCloud) CreateServer(ctx context.Context, o openstack.ServerCreate) (*openstack.Server, error) {
	if c.gates != nil {
		c.arrived <- o.Name
		<-c.gates[o.Name]
		defer func() { c.finished <- o.Name }()
	}
	c.mu.Lock()
	lose, refuse := c.lose[o.Name], c.refuse[o.Name]
	if ctx.Err() != nil {
		c.cancelled++
	}
	c.mu.Unlock()
	if refuse != nil {
		return nil, refuse
	}
	s, err := c.Cloud.CreateServer(ctx, o)
	if lose {
		return nil, &url.Error{Op: "Post", URL: "http://nova/v2.1/servers", Err: errors.New("connection reset by peer")}
	}
	return s, err
}

func TestBootWaitsForAnIndexWhoseAnswerWasLost(t *testing.T) {
	ctx := context.Background()
	cloud := &lossyCloud{Cloud: openstacktest.New(), lose: map[string]bool{"burst-1": true}}
	now := time.Date(2027, 1, 10, 9, 0, 0, 0, time.UTC)
	r := &Reconciler{MaxConcurrentCreates: 1, Now: func() time.Time { return now }}
	env := &whv1.TestEnvironment{ObjectMeta: metav1.ObjectMeta{Namespace: "hmrc", Name: "burst", UID: "uid-1"}}
	template := openstack.ServerCreate{Metadata: map[string]string{environmentUIDKey: "uid-1"}}

	b := r.boot(ctx, cloud, env, template, []int{0, 1, 2})
	created, quotaErr, err := b.servers, b.quotaErr, b.err
	if quotaErr != nil || err == nil {
		t.Fatalf("boot() = quota %v, err %v; want the lost answer as an error", quotaErr, err)
	}
	if len(created) != 1 || created[0].Name != "burst-0" {
		t.Fatalf("created %v, want burst-0 only: boots stop after a failure", created)
	}
	if n := cloud.Calls("CreateServer"); n != 2 {
		t.Errorf("CreateServer called %d times, want 2 (burst-2 not started after the failure)", n)
	}

	// Nova does not list burst-1 yet (still registering): the next pass must not boot it.
	listed := []openstack.Server{created[0]}
	uncertain := r.pending.uncertain(env.UID, serverIndexes(env, listed), now)
	p := planServers(env, listed, 3, uncertain)
	if fmt.Sprint(p.create) != "[2]" {
		t.Errorf("plan creates %v while burst-1's create is uncertain, want [2]", p.create)
	}
	// Once Nova lists it, the wait is over and nothing is booted twice.
	listed, err = ownServers(ctx, cloud, env)
	if err != nil {
		t.Fatal(err)
	}
	uncertain = r.pending.uncertain(env.UID, serverIndexes(env, listed), now)
	if len(uncertain) != 0 {
		t.Errorf("still uncertain %v after Nova listed the server", uncertain)
	}
	if p := planServers(env, listed, 3, uncertain); fmt.Sprint(p.create) != "[2]" || len(p.remove) != 0 {
		t.Errorf("plan %+v, want only burst-2 created", p)
	}
}

func TestUncertainCreateWaitEndsWhenNovaNeverListsTheServer(t *testing.T) {
	now := time.Date(2027, 1, 10, 9, 0, 0, 0, time.UTC)
	r := &Reconciler{MaxConcurrentCreates: 2, Now: func() time.Time { return now }, UncertainCreateWait: 10 * time.Second}
	env := &whv1.TestEnvironment{ObjectMeta: metav1.ObjectMeta{Name: "burst", UID: "uid-2"}}
	unavailable := &openstack.Error{Service: "compute", Operation: "POST /v2.1/servers", StatusCode: 503}
	cloud := &lossyCloud{Cloud: openstacktest.New(), refuse: map[string]error{"burst-0": unavailable}}
	if err := r.boot(context.Background(), cloud, env, openstack.ServerCreate{}, []int{0}).err; err == nil {
		t.Fatal("boot() succeeded, want the 503")
	}
	if uncertain := r.pending.uncertain(env.UID, nil, now.Add(9*time.Second)); !uncertain[0] {
		t.Errorf("index 0 not awaited 9s after a 503 on its create")
	}
	if uncertain := r.pending.uncertain(env.UID, nil, now.Add(10*time.Second)); len(uncertain) != 0 {
		t.Errorf("still awaited after the wait ended: %v", uncertain)
	}

	// A clear refusal (4xx) proves nothing was made: nothing is awaited.
	cloud.refuse["burst-0"] = &openstack.Error{Service: "compute", Operation: "POST /v2.1/servers", StatusCode: 400}
	if err := r.boot(context.Background(), cloud, env, openstack.ServerCreate{}, []int{0}).err; err == nil {
		t.Fatal("boot() succeeded, want the 400")
	}
	if uncertain := r.pending.uncertain(env.UID, nil, now); len(uncertain) != 0 {
		t.Errorf("awaited %v after a 400", uncertain)
	}
}

func TestBootNeverCancelsCreatesAlreadySent(t *testing.T) {
	refused := &openstack.Error{Service: "compute", Operation: "POST /v2.1/servers", StatusCode: 400}
	names := []string{"burst-0", "burst-1", "burst-2"}
	cloud := &lossyCloud{Cloud: openstacktest.New(), refuse: map[string]error{"burst-0": refused},
		arrived: make(chan string, 3), finished: make(chan string, 3), gates: map[string]chan struct{}{}}
	for _, n := range names {
		cloud.gates[n] = make(chan struct{})
	}
	r := &Reconciler{MaxConcurrentCreates: 3, Now: time.Now}
	env := &whv1.TestEnvironment{ObjectMeta: metav1.ObjectMeta{Name: "burst", UID: "uid-3"}}
	done := make(chan struct{})
	var created []openstack.Server
	go func() {
		defer close(done)
		created = r.boot(context.Background(), cloud, env, openstack.ServerCreate{}, []int{0, 1, 2}).servers
	}()
	// All three are sent; burst-0 is refused first, the other two answer after that.
	for range names {
		<-cloud.arrived
	}
	close(cloud.gates["burst-0"])
	<-cloud.finished
	close(cloud.gates["burst-1"])
	close(cloud.gates["burst-2"])
	<-done
	if cloud.cancelled != 0 {
		t.Errorf("%d creates reached the cloud with a cancelled context", cloud.cancelled)
	}
	if len(created) != 2 {
		t.Errorf("created %d servers, want the 2 already sent when burst-0 failed", len(created))
	}
}

func TestPollIntervalStretchesWithTheServersOnTheirWay(t *testing.T) {
	r := &Reconciler{BuildPoll: 2 * time.Second}
	for _, tc := range []struct {
		desired, replicas, ready int32
		want                     time.Duration
	}{
		{1, 1, 0, 2 * time.Second},
		{10, 10, 1, 2 * time.Second},
		{10, 10, 0, 4 * time.Second},
		{50, 50, 0, 10 * time.Second},
		{500, 500, 0, 10 * time.Second},
		{0, 30, 0, 8 * time.Second}, // scaling down: the servers going count
		{50, 50, 50, 2 * time.Second},
	} {
		env := &whv1.TestEnvironment{Status: whv1.TestEnvironmentStatus{DesiredReplicas: tc.desired, Replicas: tc.replicas, ReadyReplicas: tc.ready}}
		if got := r.pollInterval(env); got != tc.want {
			t.Errorf("desired %d, replicas %d, ready %d: poll %s, want %s", tc.desired, tc.replicas, tc.ready, got, tc.want)
		}
	}
}

func TestRetryDelayDoublesUpToTwentyTimesTheBase(t *testing.T) {
	for _, tc := range []struct {
		reason string
		count  int32
		want   time.Duration
	}{
		{"the first failure waits the base", 1, 30 * time.Second},
		{"the second twice that", 2, time.Minute},
		{"the fifth 16 times", 5, 8 * time.Minute},
		{"the sixth is capped at 10m", 6, 10 * time.Minute},
		{"a long run never overflows", 1 << 30, 10 * time.Minute},
		{"a count of zero is the base", 0, 30 * time.Second},
	} {
		if got := retryDelay(30*time.Second, tc.count); got != tc.want {
			t.Errorf("%s: retryDelay(30s, %d) = %s, want %s", tc.reason, tc.count, got, tc.want)
		}
	}
}

func TestServerIndexTakesOnlyItsOwnNames(t *testing.T) {
	env := &whv1.TestEnvironment{ObjectMeta: metav1.ObjectMeta{Name: "web"}}
	for _, tc := range []struct {
		reason, name string
		want         int
	}{
		{"its own server", "web-0", 0},
		{"its own index 1", "web-1", 1},
		{"environment web-1's server", "web-1-0", -1},
		{"an index the operator never writes", "web-01", -1},
		{"a signed index", "web-+1", -1},
		{"another prefix", "webx-0", -1},
		{"no index", "web-", -1},
	} {
		if got := serverIndex(env, tc.name); got != tc.want {
			t.Errorf("%s: serverIndex(web, %q) = %d, want %d", tc.reason, tc.name, got, tc.want)
		}
	}
}

func TestNoteFailuresCountsEachFailedServerOnceWithNovasFault(t *testing.T) {
	ctx := context.Background()
	cloud := openstacktest.New()
	now := time.Date(2027, 1, 10, 9, 0, 0, 0, time.UTC)
	rec := events.NewFakeRecorder(10)
	r := &Reconciler{Recorder: rec, ServerRetry: 30 * time.Second}
	env := &whv1.TestEnvironment{ObjectMeta: metav1.ObjectMeta{Namespace: "hmrc", Name: "burst", UID: "uid-4"}}
	const fault = "No valid host was found."
	for _, n := range []string{"burst-0", "burst-1"} {
		if _, err := cloud.CreateServer(ctx, openstack.ServerCreate{Name: n}); err != nil {
			t.Fatal(err)
		}
	}
	cloud.FailServer("burst-1", fault)
	list := func() []openstack.Server {
		l, err := cloud.ListServers(ctx, serverPattern(env))
		if err != nil {
			t.Fatal(err)
		}
		return l
	}

	r.noteFailures(ctx, cloud, env, list(), 2, now)
	want := []whv1.ServerFailure{{Name: "burst-1", ServerID: list()[1].ID, Count: 1, Fault: fault, RetryAt: &metav1.Time{Time: now.Add(30 * time.Second)}}}
	if diff := cmp.Diff(want, env.Status.Failures); diff != "" {
		t.Errorf("first failure recorded with Nova's fault (-want +got):\n%s", diff)
	}
	if n := cloud.Calls("GetServer"); n != 1 {
		t.Errorf("GetServer called %d times, want 1: the listing leaves the fault out", n)
	}
	if e := <-rec.Events; !strings.Contains(e, "Warning ServerFailed") || !strings.Contains(e, fault) {
		t.Errorf("event %q, want a ServerFailed warning quoting Nova", e)
	}
	if got := backingOff(env, now.Add(29*time.Second)); !got[1] || len(got) != 1 {
		t.Errorf("backingOff 29s later = %v, want index 1", got)
	}
	if p := planServers(env, list(), 2, backingOff(env, now.Add(29*time.Second))); len(p.create) != 0 || len(p.remove) != 1 {
		t.Errorf("plan %+v: the ERROR server goes, its index waits", p)
	}
	if got := backingOff(env, now.Add(30*time.Second)); len(got) != 0 {
		t.Errorf("backingOff once the back-off ended = %v, want none", got)
	}

	// The same server seen again is not a new failure.
	r.noteFailures(ctx, cloud, env, list(), 2, now.Add(5*time.Second))
	if diff := cmp.Diff(want, env.Status.Failures); diff != "" || cloud.Calls("GetServer") != 1 {
		t.Errorf("the same ERROR server counted again (-want +got):\n%s", diff)
	}

	// Its replacement fails too: the back-off doubles.
	if err := cloud.DeleteServer(ctx, list()[1].ID); err != nil {
		t.Fatal(err)
	}
	if _, err := cloud.CreateServer(ctx, openstack.ServerCreate{Name: "burst-1"}); err != nil {
		t.Fatal(err)
	}
	cloud.FailServer("burst-1", fault)
	later := now.Add(31 * time.Second)
	r.noteFailures(ctx, cloud, env, list(), 2, later)
	if f := env.Status.Failures; len(f) != 1 || f[0].Count != 2 || !f[0].RetryAt.Time.Equal(later.Add(time.Minute).Truncate(time.Second)) {
		t.Errorf("second failure: %+v, want count 2 and a retry a minute later", f)
	}

	// ACTIVE again: forgotten. An index no longer wanted is forgotten too.
	cloud.SetServerStatus("burst-1", "ACTIVE")
	r.noteFailures(ctx, cloud, env, list(), 2, later)
	if len(env.Status.Failures) != 0 {
		t.Errorf("failures %+v after the server came up, want none", env.Status.Failures)
	}
	cloud.FailServer("burst-1", fault)
	r.noteFailures(ctx, cloud, env, list(), 1, later)
	if len(env.Status.Failures) != 0 {
		t.Errorf("failures %+v for an index above replicas, want none", env.Status.Failures)
	}
}

func TestBootLimit(t *testing.T) {
	maxReplicas := func(name string, n int32) *whv1.DepartmentPolicy {
		return &whv1.DepartmentPolicy{ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: whv1.DepartmentPolicySpec{Environments: &whv1.EnvironmentRules{MaxReplicas: ptr.To(n)}}}
	}
	over := func(p *whv1.DepartmentPolicy) []policy.Breach {
		return []policy.Breach{{Policy: p.Name, Rule: policy.RuleMaxReplicas, Detail: "replicas 9 is more than its maximum"}}
	}
	for _, tc := range []struct {
		name string
		add  func(l *bootLimit)
		want int
	}{
		{"no breach: no bound", func(l *bootLimit) { l.add(maxReplicas("a", 3), nil) }, -1},
		{"maxReplicas alone: up to it", func(l *bootLimit) { l.add(maxReplicas("a", 3), over(maxReplicas("a", 3))) }, 3},
		{"two policies: the lower", func(l *bootLimit) {
			l.add(maxReplicas("a", 3), over(maxReplicas("a", 3)))
			l.add(maxReplicas("b", 2), over(maxReplicas("b", 2)))
		}, 2},
		{"any other rule: nothing new", func(l *bootLimit) {
			l.add(maxReplicas("a", 3), append(over(maxReplicas("a", 3)), policy.Breach{Policy: "a", Rule: policy.RuleFlavors}))
		}, 0},
	} {
		l := bootLimit{servers: -1}
		tc.add(&l)
		if l.servers != tc.want {
			t.Errorf("%s: limit %d, want %d", tc.name, l.servers, tc.want)
		}
	}
}
