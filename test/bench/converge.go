package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"
	"github.com/whitehall-cloud/whitehall-operator/test/benchbaseline"
)

const (
	peakSeason = "bench-peak"
	deptLabel  = "dept"
	// What every department's ComputeQuota holds, and the peak for the switch.
	baseCores, peakCores = 16, 64
)

// measure is one side (operator or baseline) of a measurement.
type measure struct {
	wall, created time.Duration
	calls         int
	median        time.Duration
	medianSource  string
	byService     map[string]int // "identity GET" → calls
	deleteWall    time.Duration
	deleteCalls   int
	leftover      int
	cpu           cpuUse
	// incomplete says why the measurement did not finish ("" when it did).
	incomplete string
}

func (m measure) floor(concurrency int) time.Duration {
	return time.Duration(float64(m.calls) * float64(m.median) / float64(concurrency))
}

type convergeResult struct {
	n        int
	op, base measure
}

func department(i int) benchbaseline.Department {
	return benchbaseline.Department{
		Name: fmt.Sprintf("%sbase-%d", projectPrefix, i), Cores: baseCores, Instances: 8, RAMMiB: 32768,
		Ports: 100, FloatingIPs: 5, GigabytesDisk: 500,
	}
}

// deptObjects are department i's Tenant and ComputeQuota, as the operator gets them.
func (b *bench) deptObjects(i int) (*whv1.Tenant, *whv1.ComputeQuota) {
	return deptObjectsIn(b.deptNamespace(i), i, deptLabel, "op-")
}

// deptObjectsIn are department i's Tenant and ComputeQuota in namespace ns, labelled
// benchLabel=label, its project named projectPrefix+prefix+i.
func deptObjectsIn(ns string, i int, label, prefix string) (*whv1.Tenant, *whv1.ComputeQuota) {
	name := fmt.Sprintf("dept-%d", i)
	labels := map[string]string{benchLabel: label}
	t := &whv1.Tenant{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: labels},
		Spec: whv1.TenantSpec{
			// The bench Cloud: its usage reader meters every department (phase u).
			CloudRef:        &whv1.CloudReference{Name: usageCloudName},
			Project:         whv1.ProjectSpec{Name: ptr.To(fmt.Sprintf("%s%s%d", projectPrefix, prefix, i))},
			RoleAssignments: []whv1.RoleAssignment{{Group: ptr.To("whitehall-devops"), Roles: []string{"member"}}},
		},
	}
	d := department(i)
	cq := &whv1.ComputeQuota{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: labels},
		Spec: whv1.ComputeQuotaSpec{
			TenantRef: whv1.LocalObjectReference{Name: name},
			Baseline: whv1.QuotaSet{
				Compute:      &whv1.ComputeLimits{Cores: i64(d.Cores), Instances: i64(d.Instances), RAMMiB: i64(d.RAMMiB)},
				Network:      &whv1.NetworkLimits{Ports: i64(d.Ports), FloatingIPs: i64(d.FloatingIPs)},
				BlockStorage: &whv1.BlockStorageLimits{Gigabytes: i64(d.GigabytesDisk)},
			},
			Peaks: []whv1.QuotaPeak{{Season: peakSeason, QuotaSet: whv1.QuotaSet{
				Compute: &whv1.ComputeLimits{Cores: i64(peakCores)},
			}}},
		},
	}
	return t, cq
}

func i64(v int) *int64 { return ptr.To(int64(v)) }

// createAll creates objects with workers goroutines.
func (b *bench) createAll(ctx context.Context, objs []client.Object) error {
	var (
		mu   sync.Mutex
		errs []error
		wg   sync.WaitGroup
		next = make(chan client.Object)
	)
	for range b.cfg.concurrency {
		wg.Go(func() {
			for o := range next {
				if err := b.cl.k8s.Create(ctx, o); err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
				}
			}
		})
	}
	for _, o := range objs {
		next <- o
	}
	close(next)
	wg.Wait()
	return errors.Join(errs...)
}

// waitReady waits until n Tenants and n ComputeQuotas with the label value are Ready.
// It watches rather than lists: listing hundreds of objects several times a second
// would cost the API server — on the same two cores as the cloud — more CPU than the
// operator's own work, and slow the very thing being measured.
func (b *bench) waitReady(ctx context.Context, value string, n int, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	sel := client.MatchingLabels{benchLabel: value}
	state := map[string]string{} // "<kind>/<namespace>/<name>" → Ready reason ("" when Ready)
	count := func() (tenants, quotas int, reasons map[string]int) {
		reasons = map[string]int{}
		for key, reason := range state {
			kind, _, _ := strings.Cut(key, "/")
			switch {
			case reason != "":
				reasons[kind+"/"+reason]++
			case kind == "Tenant":
				tenants++
			default:
				quotas++
			}
		}
		return tenants, quotas, reasons
	}
	lists := map[string]client.ObjectList{"Tenant": &whv1.TenantList{}, "ComputeQuota": &whv1.ComputeQuotaList{}}
	watches := map[string]watch.Interface{}
	defer func() {
		for _, w := range watches {
			w.Stop()
		}
	}()
	merged := make(chan watchEvent)
	start := func(kind string) error {
		// Without a resource version the watch begins with every current object.
		w, err := b.cl.k8s.Watch(ctx, lists[kind], sel)
		if err != nil {
			return err
		}
		watches[kind] = w
		go func() {
			for ev := range w.ResultChan() {
				select {
				case merged <- watchEvent{kind: kind, ev: ev}:
				case <-ctx.Done():
					return
				}
			}
			select {
			case merged <- watchEvent{kind: kind, closed: true}:
			case <-ctx.Done():
			}
		}()
		return nil
	}
	for kind := range lists {
		if err := start(kind); err != nil {
			return err
		}
	}
	logTick := time.NewTicker(15 * time.Second)
	defer logTick.Stop()
	for {
		tr, qr, reasons := count()
		if tr == n && qr == n {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("after %s: %d/%d Tenants and %d/%d ComputeQuotas Ready; not ready: %v", timeout, tr, n, qr, n, reasons)
		case <-logTick.C:
			logf("  %d/%d Tenants, %d/%d ComputeQuotas Ready", tr, n, qr, n)
		case e := <-merged:
			if e.closed { // the API server ends watches now and then: start again
				if err := start(e.kind); err != nil {
					return err
				}
				continue
			}
			obj, ok := e.ev.Object.(client.Object)
			if !ok {
				continue // a watch error status: the channel closes next
			}
			key := e.kind + "/" + obj.GetNamespace() + "/" + obj.GetName()
			if e.ev.Type == watch.Deleted {
				delete(state, key)
				continue
			}
			state[key] = readyReason(obj)
		}
	}
}

type watchEvent struct {
	kind   string
	ev     watch.Event
	closed bool
}

// readyReason is "" when the object is Ready for its current generation, else the reason
// it is not ("none" without a Ready condition).
func readyReason(obj client.Object) string {
	var conds []metav1.Condition
	switch o := obj.(type) {
	case *whv1.Tenant:
		conds = o.Status.Conditions
	case *whv1.ComputeQuota:
		conds = o.Status.Conditions
	}
	c := meta.FindStatusCondition(conds, whv1.ConditionReady)
	switch {
	case c == nil:
		return "none"
	case c.Status == metav1.ConditionTrue && c.ObservedGeneration == obj.GetGeneration():
		return ""
	default:
		return c.Reason
	}
}

// operatorCalls is the operator's OpenStack call count between two scrapes, in total and
// by "service METHOD".
func operatorCalls(before, after scrape) (int, map[string]int) {
	key := func(l map[string]string) string { return l["service"] + " " + l["method"] }
	b, a := before.requests(key), after.requests(key)
	out := map[string]int{}
	total := 0
	for k, v := range a {
		if d := int(math.Round(v - b[k])); d > 0 {
			out[k] = d
			total += d
		}
	}
	return total, out
}

// operatorMedian is the operator's median call latency over a phase: measured per call
// by the proxy when it runs, else estimated from the operator's histogram.
func (b *bench) operatorMedian(mark int, before, after scrape) (time.Duration, string) {
	if b.rec != nil {
		if ev := b.rec.since(mark, "operator"); len(ev) > 0 {
			return median(latencies(ev)), "measured per call"
		}
	}
	h := deltaHistogram(before, after, "whitehall_openstack_request_duration_seconds")
	q := h.quantile(0.5)
	if math.IsNaN(q) {
		return 0, "no calls"
	}
	return time.Duration(q * float64(time.Second)), "histogram estimate"
}

func (b *bench) converge(ctx context.Context, n int) error {
	res := &convergeResult{n: n}
	b.rep.converge = append(b.rep.converge, res)
	conc := b.cfg.concurrency

	// The baseline first: a plain program with conc workers, its own login included.
	logf("baseline: %d departments, %d workers", n, conc)
	depts := make([]benchbaseline.Department, n)
	for i := range depts {
		depts[i] = department(i)
	}
	baseMark := b.rec.mark()
	start, cpu0 := time.Now(), b.sampleCPU()
	base, err := benchbaseline.Open(ctx, b.cloudsPath, b.cfg.cloud, benchbaseline.BaselineAgent)
	if err != nil {
		return err
	}
	r, convErr := base.Converge(ctx, depts, conc, "whitehall-devops", "member")
	all := base.Stats.Since(0)
	res.base = measure{wall: time.Since(start), calls: len(all), median: benchbaseline.Median(all), medianSource: "measured per call", byService: map[string]int{},
		cpu: cpu0.until(b.sampleCPU())}
	for _, c := range all {
		res.base.byService[c.Service+" "+c.Method]++
	}
	if b.rec != nil {
		b.rep.addBreakdown(fmt.Sprintf("a: converge %d — baseline", n), b.rec.since(baseMark, "baseline"), n)
	}
	// The baseline's projects are deleted after the operator's: deleting a project leaves a
	// revocation event in Keystone that every later token validation scans, so deleting
	// them first would make the cloud slower for the operator's turn than for the
	// baseline's.
	baselineDeleted := false
	deleteBaseline := func() error {
		if baselineDeleted {
			return nil
		}
		baselineDeleted = true
		mark := base.Stats.Mark()
		start := time.Now()
		delErr := base.DeleteProjects(ctx, r.ProjectIDs, conc)
		res.base.deleteWall, res.base.deleteCalls = time.Since(start), len(base.Stats.Since(mark))
		if convErr != nil || delErr != nil {
			res.base.incomplete = errors.Join(convErr, delErr).Error()
			_, _ = b.purgeLeftovers(ctx, projectPrefix+"base-")
			return fmt.Errorf("baseline: %w", errors.Join(convErr, delErr))
		}
		logf("baseline: deleted %d departments in %s", n, res.base.deleteWall.Round(time.Millisecond))
		return nil
	}
	if convErr != nil {
		return deleteBaseline()
	}
	defer func() { _ = deleteBaseline() }() // on every early return below
	logf("baseline: %d departments in %s, %d calls", n, res.base.wall.Round(time.Millisecond), res.base.calls)

	// The operator, fresh: its login and name lookups are part of the work, as the
	// baseline's are.
	if err := b.restartManager(10 * time.Minute); err != nil {
		return errors.Join(err, deleteBaseline())
	}
	if b.rep.idleRSS == 0 {
		time.Sleep(3 * time.Second)
		b.rep.idleRSS, _, _ = rss(b.mgr.pid())
	}
	// A peak switch of an earlier size left the season open: close it again, so every
	// size converges to the baseline.
	if err := b.farSeason(ctx); err != nil {
		return err
	}
	objs := make([]client.Object, 0, 2*n)
	for i := range n {
		t, cq := b.deptObjects(i)
		objs = append(objs, t, cq)
	}
	m0, err := b.mgr.scrape()
	if err != nil {
		return err
	}
	opMark := b.rec.mark()
	logf("operator: creating %d Tenants and %d ComputeQuotas", n, n)
	start, cpu0 = time.Now(), b.sampleCPU()
	if err := b.createAll(ctx, objs); err != nil {
		return err
	}
	res.op.created = time.Since(start)
	readyErr := b.waitReady(ctx, deptLabel, n, max(5*time.Minute, time.Duration(n)*3*time.Second))
	res.op.wall, res.op.cpu = time.Since(start), cpu0.until(b.sampleCPU())
	m1, err := b.mgr.scrape()
	if err != nil {
		return err
	}
	res.op.calls, res.op.byService = operatorCalls(m0, m1)
	res.op.median, res.op.medianSource = b.operatorMedian(opMark, m0, m1)
	if b.rec != nil {
		b.rep.addBreakdown(fmt.Sprintf("a: converge %d — operator", n), b.rec.since(opMark, "operator"), n)
	}
	if readyErr != nil {
		res.op.incomplete = readyErr.Error()
		_ = b.deleteDepartments(ctx, res)
		return errors.Join(fmt.Errorf("operator: %w", readyErr), deleteBaseline())
	}
	logf("operator: %d departments Ready in %s, %d calls", n, res.op.wall.Round(time.Millisecond), res.op.calls)

	var errs []error
	if b.cfg.has('c') && slices.Contains(b.cfg.peakSizes, n) {
		if err := b.peakSwitch(ctx, n, base, r.ProjectIDs); err != nil {
			errs = append(errs, fmt.Errorf("c: peak switch %d: %w", n, err))
		}
	}
	if b.cfg.has('b') && n == b.cfg.steadyN {
		if err := b.steady(ctx, n); err != nil {
			errs = append(errs, fmt.Errorf("b: steady state: %w", err))
		}
	}
	if b.cfg.has('u') && n == slices.Max(b.cfg.sizes) {
		if err := b.usageRead(ctx, n); err != nil {
			errs = append(errs, fmt.Errorf("u: usage read: %w", err))
		}
	}
	if b.cfg.has('s') && n == slices.Max(b.cfg.sizes) {
		// Before these departments are deleted: both sides meet the cloud with the same
		// projects deleted before them (each leaves Keystone a revocation event).
		if err := b.shards(ctx, n); err != nil {
			errs = append(errs, fmt.Errorf("s: two shards: %w", err))
		}
	}
	if err := b.deleteDepartments(ctx, res); err != nil {
		errs = append(errs, fmt.Errorf("deleting: %w", err))
	}
	errs = append(errs, deleteBaseline())
	return errors.Join(errs...)
}

// deleteDepartments deletes the ComputeQuotas and Tenants with kubectl and waits, then
// removes anything the operator left as a safety net (and says how much).
func (b *bench) deleteDepartments(ctx context.Context, res *convergeResult) error {
	if b.mgr == nil {
		return errors.New("no operator running")
	}
	m0, err := b.mgr.scrape()
	if err != nil {
		return err
	}
	mark := b.rec.mark()
	logf("operator: deleting the departments with kubectl")
	start := time.Now()
	// kubectl's own --wait waits for one object after the other; ask it not to, and
	// watch the lot disappear instead.
	sel := "--selector=" + benchLabel + "=" + deptLabel
	_, err1 := b.cl.kubectl(ctx, "delete", "computequotas,tenants", "--all-namespaces", sel, "--wait=false")
	err2 := b.waitGone(ctx, deptLabel, max(5*time.Minute, time.Duration(res.n)*3*time.Second))
	res.op.deleteWall = time.Since(start)
	if m1, err := b.mgr.scrape(); err == nil {
		res.op.deleteCalls, _ = operatorCalls(m0, m1)
	}
	if b.rec != nil {
		b.rep.addBreakdown(fmt.Sprintf("delete %d departments — operator", res.n), b.rec.since(mark, "operator"), res.n)
	}
	left, err3 := b.purgeLeftovers(ctx, projectPrefix+"op-")
	res.op.leftover = left
	logf("operator: deleted in %s; %d projects left behind", res.op.deleteWall.Round(time.Millisecond), left)
	return errors.Join(err1, err2, err3)
}

// waitGone waits until no Tenant or ComputeQuota with the label value is left.
func (b *bench) waitGone(ctx context.Context, value string, timeout time.Duration) error {
	sel := client.MatchingLabels{benchLabel: value}
	deadline := time.Now().Add(timeout)
	for {
		var tl whv1.TenantList
		if err := b.cl.k8s.List(ctx, &tl, sel); err != nil {
			return err
		}
		var ql whv1.ComputeQuotaList
		if err := b.cl.k8s.List(ctx, &ql, sel); err != nil {
			return err
		}
		if len(tl.Items) == 0 && len(ql.Items) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			reasons := map[string]int{}
			for _, t := range tl.Items {
				if c := meta.FindStatusCondition(t.Status.Conditions, whv1.ConditionReady); c != nil {
					reasons[c.Reason]++
				}
			}
			return fmt.Errorf("after %s: %d Tenants and %d ComputeQuotas still there (Tenant reasons %v)", timeout, len(tl.Items), len(ql.Items), reasons)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// farSeason moves the PeakSeason's window to 2099, if it is not there already.
func (b *bench) farSeason(ctx context.Context) error {
	ps := &whv1.PeakSeason{}
	if err := b.cl.k8s.Get(ctx, client.ObjectKey{Name: peakSeason}, ps); err != nil {
		return err
	}
	far := []whv1.SeasonWindow{{From: ptr.To("2099-01-01T00:00:00"), To: ptr.To("2099-01-02T00:00:00")}}
	if len(ps.Spec.Windows) == 1 && ptr.Deref(ps.Spec.Windows[0].From, "") == *far[0].From {
		return nil
	}
	orig := ps.DeepCopy()
	ps.Spec.Windows = far
	return b.cl.k8s.Patch(ctx, ps, client.MergeFrom(orig))
}

// steady restarts the operator with a short resync period and, once its first pass is
// over, counts its calls over two resync periods.
func (b *bench) steady(ctx context.Context, n int) error {
	res := &steadyResult{n: n, resync: b.cfg.resync}
	b.rep.steady = res
	// The restart itself is measured too: the calls per second of the first resync
	// period, when every object is looked at for the first time since.
	var err error
	if res.restart, err = b.measureRestart(n, managerOpts{resync: b.cfg.resync}); err != nil {
		return err
	}
	m0, err := b.mgr.scrape()
	if err != nil {
		return err
	}
	mark := b.rec.mark()
	window := 2*b.cfg.resync + b.cfg.resync/5 + 2*time.Second // two periods plus their jitter
	logf("steady state: watching %s with --resync-period=%s", window, b.cfg.resync)
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(window):
	}
	m1, err := b.mgr.scrape()
	if err != nil {
		return err
	}
	res.window = window
	res.reconciles = map[string]float64{}
	for _, c := range []string{"tenant", "computequota", "peakseason"} {
		res.reconciles[c] = reconciles(m1, c) - reconciles(m0, c)
	}
	res.calls, res.byService = operatorCalls(m0, m1)
	res.quotaWrites = m1.sum("whitehall_quota_writes_total", nil) - m0.sum("whitehall_quota_writes_total", nil)
	if b.rec != nil {
		ev := b.rec.since(mark, "operator")
		res.endpoints = byEndpoint(ev)
		b.rep.addBreakdown(fmt.Sprintf("b: steady state, %d departments over %s", n, window.Round(time.Second)), ev, n)
	}
	if b.cfg.restartBefore != "" {
		// After this build's own: an older build writes status without the fields it
		// does not know (status.lastSyncTime), which this build's restart would miss.
		if res.restartBefore, err = b.measureRestart(n, managerOpts{bin: b.cfg.restartBefore, resync: b.cfg.resync}); err != nil {
			return fmt.Errorf("the earlier build's restart: %w", err)
		}
	}
	return nil
}

// measureRestart restarts the operator with o and counts its calls in the first resync
// period (and its jitter): all of them and the most in one second. It returns once the
// period is over and every object was reconciled.
func (b *bench) measureRestart(n int, o managerOpts) (callRate, error) {
	mark, at := b.rec.mark(), time.Now()
	if err := b.restartManagerWith(o); err != nil {
		return callRate{}, err
	}
	// The first pass after a start reads everything once (a cold start, not steady
	// state): wait until each object was reconciled and the calls stop.
	deadline := time.Now().Add(max(2*time.Minute, o.resync+o.resync/5, time.Duration(n)*time.Second))
	for {
		s, err := b.mgr.scrape()
		if err != nil {
			return callRate{}, err
		}
		if reconciles(s, "tenant") >= float64(n) && reconciles(s, "computequota") >= float64(n) {
			break
		}
		if time.Now().After(deadline) {
			return callRate{}, fmt.Errorf("the operator did not reconcile every object after its restart")
		}
		time.Sleep(500 * time.Millisecond)
	}
	time.Sleep(3 * time.Second)
	if b.rec == nil {
		return callRate{}, nil
	}
	period := o.resync + o.resync/10
	if wait := time.Until(at.Add(period)); wait > 0 {
		time.Sleep(wait)
	}
	return perSecond(b.rec.since(mark, "operator"), at, period), nil
}

func reconciles(s scrape, controller string) float64 {
	return s.sum("controller_runtime_reconcile_total", map[string]string{"controller": controller})
}

type steadyResult struct {
	// restart is the operator's calls in the first resync period after its restart;
	// restartBefore the same for the earlier build (-restart-before).
	restart, restartBefore callRate
	n                      int
	resync                 time.Duration
	window                 time.Duration
	reconciles             map[string]float64
	calls                  int
	byService              map[string]int
	quotaWrites            float64
	endpoints              []endpointCount
}

// periods is how many resync periods the window held.
func (s *steadyResult) periods() float64 { return s.window.Seconds() / s.resync.Seconds() }

// perCloud reports whether an endpoint is a listing of the whole cloud, whose cost is per
// Cloud, not per department: its path names no one object ({id}) and its query filters
// on no project (scope.project.id, project_id, tenant_id; the proxy keeps query keys).
func perCloud(key string) bool {
	_, query, _ := strings.Cut(key, "?")
	return !strings.Contains(key, "{id}") && !strings.Contains(query, "project") && !strings.Contains(query, "tenant_id")
}

// cloudReads are the GET listings of the whole cloud in the window (recorded by the
// proxy; none without it), by service.
func (s *steadyResult) cloudReads() map[string]int {
	out := map[string]int{}
	for _, e := range s.endpoints {
		svc, rest, _ := strings.Cut(e.Key, " ")
		if strings.HasPrefix(rest, "GET ") && perCloud(e.Key) {
			out[svc] += e.Count
		}
	}
	return out
}

// perDepartment returns a service's reads and writes per department per resync period,
// the listings of the whole cloud left out (cloudReads counts them, per period).
func (s *steadyResult) perDepartment(service string) (reads, writes float64) {
	if s.n <= 0 || s.window <= 0 {
		return math.NaN(), math.NaN()
	}
	for k, v := range s.byService {
		svc, method, _ := strings.Cut(k, " ")
		if svc != service {
			continue
		}
		if method == "GET" {
			reads += float64(v)
		} else {
			writes += float64(v)
		}
	}
	reads -= float64(s.cloudReads()[service])
	per := float64(s.n) * s.periods()
	return reads / per, writes / per
}

// callRate is how a burst of calls spread over a window: all of them, and the most in
// any one second of it.
type callRate struct {
	calls, peak int
	window      time.Duration
}

// perSecond counts the events that started within window of from, by second.
func perSecond(events []event, from time.Time, window time.Duration) callRate {
	out := callRate{window: window}
	seconds := map[int64]int{}
	for _, e := range events {
		at := e.Start.Sub(from)
		if at < 0 || at >= window {
			continue
		}
		out.calls++
		sec := int64(at / time.Second)
		seconds[sec]++
		out.peak = max(out.peak, seconds[sec])
	}
	return out
}
