package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"
)

const (
	// usageCloudName is the Cloud every department's Tenant names; the operator's
	// namespace holds its Secret.
	usageCloudName    = "bench-usage"
	operatorNamespace = "whitehall-system"
	// usageInterval is the operator's --usage-interval in phase u: a read comes soon
	// after the restart's first pass is over.
	usageInterval = 90 * time.Second
	// afterRead is the window counted after the read.
	afterRead = time.Minute
)

// usageResult is what one usage read cost, the reader's own calls and everything the
// read set off.
type usageResult struct {
	n       int
	usage   int // GET os-simple-tenant-usage, pages included
	volumes int // GET volumes/detail (all projects), pages included
	// total is every operator call from a quiet moment before the read to a minute after
	// it (proxy when it runs, else the operator's metrics); byService splits it.
	total      int
	byService  map[string]int
	reconciles map[string]float64 // by controller, in the same window
	window     time.Duration
}

// createUsageCloud creates the Cloud whose usage phase u reads, admitting the bench's
// namespaces; every department's Tenant names it.
func (b *bench) createUsageCloud(ctx context.Context) error {
	if err := b.cl.namespace(ctx, operatorNamespace, secretName, b.cloudsData); err != nil {
		return err
	}
	return client.IgnoreAlreadyExists(b.cl.k8s.Create(ctx, &whv1.Cloud{
		ObjectMeta: metav1.ObjectMeta{Name: usageCloudName, Labels: map[string]string{benchLabel: "true"}},
		Spec: whv1.CloudSpec{
			CredentialsSecretRef: whv1.CloudSecretReference{Name: secretName, CloudName: b.cfg.cloud},
			NamespaceSelector:    metav1.LabelSelector{MatchLabels: map[string]string{benchLabel: "true"}},
			Tariff:               &whv1.Tariff{Currency: "GBP", VCPUHour: ptrTo("0.021"), RAMGiBHour: ptrTo("0.0032"), VolumeGiBMonth: ptrTo("0.045")},
		},
	}))
}

// usageRead counts every OpenStack call the operator makes in the minute after one
// usage read of the Cloud that meters the n departments of phase a: the reader's own
// (one all-projects Nova call and one volume listing, whatever n) and whatever its
// status writes set off in the other controllers. The operator restarts with a long
// resync, so nothing else calls OpenStack in the window.
func (b *bench) usageRead(ctx context.Context, n int) error {
	if err := b.restartManagerReading(10*time.Minute, usageInterval); err != nil {
		return err
	}
	if err := b.waitCallsSettle(ctx, n); err != nil {
		return err
	}
	before, err := b.readAt(ctx)
	if err != nil {
		return err
	}
	m0, err := b.mgr.scrape()
	if err != nil {
		return err
	}
	mark, start := b.rec.mark(), time.Now()
	if err := b.waitNextRead(ctx, before); err != nil {
		return err
	}
	logf("usage: read at %s; counting every call for %s", time.Now().Format(time.TimeOnly), afterRead)
	if err := sleepCtx(ctx, afterRead); err != nil {
		return err
	}
	m1, err := b.mgr.scrape()
	if err != nil {
		return err
	}
	res := &usageResult{n: n, window: time.Since(start), reconciles: map[string]float64{}}
	res.total, res.byService = operatorCalls(m0, m1)
	for _, c := range []string{"cloud", "usage", "tenant", "computequota", "testenvironment", "departmentpolicy"} {
		res.reconciles[c] = reconciles(m1, c) - reconciles(m0, c)
	}
	if b.rec != nil {
		events := b.rec.since(mark, "operator")
		res.total = len(events) // the proxy saw each call
		for _, e := range events {
			switch {
			case strings.Contains(e.Path, "os-simple-tenant-usage"):
				res.usage++
			case e.Service == "block-storage" && strings.Contains(e.Path, "/volumes"):
				res.volumes++
			}
		}
		b.rep.addBreakdown(fmt.Sprintf("u: every operator call from before one usage read to %s after it, %d departments metered", afterRead, n), events, n)
	}
	b.rep.usage = res
	logf("usage: %d departments: %d operator calls in %s around one read (the reader's own: %d usage + %d volume); reconciles %v; by service %v",
		n, res.total, res.window.Round(time.Second), res.usage, res.volumes, res.reconciles, res.byService)
	return nil
}

// waitCallsSettle waits until the restarted operator reconciled every department and
// made no OpenStack call for three seconds.
func (b *bench) waitCallsSettle(ctx context.Context, n int) error {
	deadline := time.Now().Add(max(3*time.Minute, time.Duration(n)*time.Second))
	last, still := -1, 0
	for still < 3 {
		s, err := b.mgr.scrape()
		if err != nil {
			return err
		}
		calls, _ := operatorCalls(scrape{}, s)
		switch {
		case reconciles(s, "tenant") < float64(n) || reconciles(s, "computequota") < float64(n) || calls != last:
			still = 0
		default:
			still++
		}
		last = calls
		if time.Now().After(deadline) {
			return fmt.Errorf("the operator's calls did not settle after its restart")
		}
		if err := sleepCtx(ctx, time.Second); err != nil {
			return err
		}
	}
	return nil
}

// readAt is when the Cloud's usage was last read (zero: never).
func (b *bench) readAt(ctx context.Context) (time.Time, error) {
	cloud := &whv1.Cloud{}
	if err := b.cl.k8s.Get(ctx, client.ObjectKey{Name: usageCloudName}, cloud); err != nil {
		return time.Time{}, err
	}
	if u := cloud.Status.Usage; u != nil && u.ReadAt != nil {
		return u.ReadAt.Time, nil
	}
	return time.Time{}, nil
}

// waitNextRead waits until the Cloud reports a read after the one at before.
func (b *bench) waitNextRead(ctx context.Context, before time.Time) error {
	deadline := time.Now().Add(usageInterval + time.Minute)
	for {
		at, err := b.readAt(ctx)
		if err != nil {
			return err
		}
		if at.After(before) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no usage read reported by Cloud %s within %s", usageCloudName, usageInterval+time.Minute)
		}
		if err := sleepCtx(ctx, 100*time.Millisecond); err != nil {
			return err
		}
	}
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}

func ptrTo(s string) *string { return &s }
