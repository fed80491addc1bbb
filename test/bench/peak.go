package main

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"
	"github.com/whitehall-cloud/whitehall-operator/test/benchbaseline"
)

type peakResult struct {
	n          int
	lead       time.Duration
	settled    time.Duration // before the boundary (negative: after), when every quota knew it
	allVisible time.Duration // boundary → the last project's Nova cores at the peak
	medianSeen time.Duration
	firstSeen  time.Duration
	early      int
	missing    int
	passTime   time.Duration // one sequential read of every project
	// From the recording proxy: boundary → Nova answered the operator's write of the
	// peak (the quota is in OpenStack from that instant), for the last and the median.
	ackLast, ackMedian time.Duration
	acks               int
	// When the operator sent its first and its last write, from the boundary: how
	// exactly it woke, and how long writes queued behind --concurrency.
	sentFirst, sentLast time.Duration
	lagMean             float64
	lagMax              float64
	lagCount            float64
	quotaWrites         float64
	calls               int
	byService           map[string]int
	// floor is the plain program writing the same peak to as many projects of its own
	// with as many workers: start → Nova answered its last write.
	floor time.Duration
}

// peakSwitch opens a one-off window of the departments' PeakSeason shortly after they
// converged and times, from the boundary, until Nova shows the peak cores for every
// project: read sequentially, project by project, by the harness.
//
// The floor is measured after it: the baseline writes the same peak cores to its own n
// projects (baseIDs) with as many workers, one Nova write each.
func (b *bench) peakSwitch(ctx context.Context, n int, base *benchbaseline.Client, baseIDs []string) error {
	res := &peakResult{n: n}
	b.rep.peaks = append(b.rep.peaks, res)

	// Each department's project, from its Tenant.
	var tl whv1.TenantList
	if err := b.cl.k8s.List(ctx, &tl, client.MatchingLabels{benchLabel: deptLabel}); err != nil {
		return err
	}
	pending := map[string]bool{}
	for _, t := range tl.Items {
		pending[t.Status.ProjectID] = true
	}

	// Editing the season makes every quota using it reconcile (a read per service)
	// before the boundary: give that time, so the switch itself is measured.
	res.lead = b.cfg.peakLead + time.Duration(n)*150*time.Millisecond
	london, err := time.LoadLocation("Europe/London")
	if err != nil {
		return err
	}
	// Whole seconds: one-off windows are written to the second.
	boundary := time.Now().Add(res.lead).Truncate(time.Second).Add(time.Second)
	res.lead = time.Until(boundary)
	stamp := func(t time.Time) *string { return ptr.To(t.In(london).Format("2006-01-02T15:04:05")) }
	ps := &whv1.PeakSeason{}
	if err := b.cl.k8s.Get(ctx, client.ObjectKey{Name: peakSeason}, ps); err != nil {
		return err
	}
	orig := ps.DeepCopy()
	editMark := b.rec.mark()
	ps.Spec.Windows = []whv1.SeasonWindow{{From: stamp(boundary), To: stamp(boundary.Add(30 * time.Minute))}}
	if err := b.cl.k8s.Patch(ctx, ps, client.MergeFrom(orig)); err != nil {
		return err
	}
	logf("peak switch: window opens at %s (in %s)", boundary.Format("15:04:05"), time.Until(boundary).Round(time.Second))

	// Wait until every quota has the boundary as its next transition.
	for {
		var ql whv1.ComputeQuotaList
		if err := b.cl.k8s.List(ctx, &ql, client.MatchingLabels{benchLabel: deptLabel}); err != nil {
			return err
		}
		known := 0
		for _, q := range ql.Items {
			if q.Status.NextTransition != nil && q.Status.NextTransition.Time.Equal(boundary) {
				known++
			}
		}
		if known == n || time.Now().After(boundary) {
			res.settled = time.Until(boundary)
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if res.settled < 0 {
		logf("peak switch: the season edit was still being reconciled at the boundary; raise -peak-lead")
	}

	// Mark the log just before the boundary, so a quota raised early would show (a write
	// sent before it; without the proxy, a read at the peak before it).
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(time.Until(boundary) - 1500*time.Millisecond):
	}
	m0, err := b.mgr.scrape()
	if err != nil {
		return err
	}
	var switchMark int
	if b.rec != nil {
		switchMark = b.rec.mark()
		b.rep.addBreakdown(fmt.Sprintf("c: season edit %s before the boundary — operator, %d quotas", res.lead.Round(time.Second), n),
			b.rec.between(editMark, switchMark, "operator"), n)
	}
	var seen []time.Duration
	timeout := boundary.Add(2*time.Minute + time.Duration(n)*500*time.Millisecond)
	if b.rec != nil {
		// The proxy sees each write land; reading Nova meanwhile would compete with the
		// writes for Nova's one API worker. Read only once they have all been answered,
		// to check that Nova holds the peak for every project.
		for time.Now().Before(timeout) && ctx.Err() == nil && b.rec.count(switchMark, "operator", "compute", "PUT", 200) < n {
			time.Sleep(50 * time.Millisecond)
		}
	}
	first := true
	for len(pending) > 0 && time.Now().Before(timeout) && ctx.Err() == nil {
		passStart := time.Now()
		for _, id := range slices.Sorted(maps.Keys(pending)) {
			cores, err := b.probe.ComputeCores(ctx, id)
			if err != nil {
				return err
			}
			if cores != peakCores {
				continue
			}
			at := time.Since(boundary)
			if at < 0 {
				res.early++
			}
			seen = append(seen, at)
			delete(pending, id)
		}
		if first {
			res.passTime, first = time.Since(passStart), false
		}
	}
	res.missing = len(pending)
	time.Sleep(2 * time.Second) // let the last writes' metrics land
	m1, err := b.mgr.scrape()
	if err != nil {
		return err
	}
	if len(seen) > 0 {
		slices.Sort(seen)
		res.firstSeen, res.allVisible, res.medianSeen = seen[0], seen[len(seen)-1], median(seen)
	}
	lag := deltaHistogram(m0, m1, "whitehall_season_transition_lag_seconds")
	res.lagMean, res.lagMax, res.lagCount = lag.mean(), lag.maxBound(), lag.count
	res.quotaWrites = m1.sum("whitehall_quota_writes_total", nil) - m0.sum("whitehall_quota_writes_total", nil)
	res.calls, res.byService = operatorCalls(m0, m1)
	if b.rec != nil {
		events := b.rec.since(switchMark, "operator")
		b.rep.addBreakdown(fmt.Sprintf("c: peak switch — operator, %d quotas", n), events, n)
		var acks, sent []time.Duration
		for _, e := range events {
			if e.Service == "compute" && e.Method == "PUT" && e.Code == 200 {
				acks = append(acks, e.Start.Add(e.Latency).Sub(boundary))
				sent = append(sent, e.Start.Sub(boundary))
			}
		}
		if len(acks) > 0 {
			slices.Sort(acks)
			slices.Sort(sent)
			res.acks, res.ackLast, res.ackMedian = len(acks), acks[len(acks)-1], median(acks)
			res.sentFirst, res.sentLast = sent[0], sent[len(sent)-1]
		}
	}
	logf("peak switch: %d/%d projects at the peak, the last %s after the boundary", len(seen), n, res.allVisible.Round(time.Millisecond))
	if res.missing > 0 {
		return fmt.Errorf("%d projects never showed the peak", res.missing)
	}
	start := time.Now()
	if err := base.SetCores(ctx, baseIDs, peakCores, b.cfg.concurrency); err != nil {
		return fmt.Errorf("baseline peak writes: %w", err)
	}
	res.floor = time.Since(start)
	logf("peak switch: the baseline wrote %d peaks in %s", len(baseIDs), res.floor.Round(time.Millisecond))
	return nil
}
