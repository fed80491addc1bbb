package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"
	"github.com/whitehall-cloud/whitehall-operator/test/benchbaseline"
)

const burstNamespace = "bench-burst"

type burstResult struct {
	servers      int
	op, base     measure
	opReady      time.Duration // until the TestEnvironment reported Ready
	opErrors     int           // servers seen in ERROR on the way
	opReconciles float64
	baseErr      int
}

// waitActive polls the project's servers (one list call per second, by the harness)
// until want of them named prefix* are ACTIVE; it returns how many were seen in ERROR.
func (b *bench) waitActive(ctx context.Context, projectID, prefix string, want int, timeout time.Duration, tick func()) (int, error) {
	deadline := time.Now().Add(timeout)
	errored := map[string]bool{}
	lastLog := time.Now()
	for {
		st, err := b.probe.ServerStatuses(ctx, projectID, prefix)
		if err != nil {
			return len(errored), err
		}
		active := 0
		for name, s := range st {
			switch s {
			case "ACTIVE":
				active++
			case "ERROR":
				errored[name] = true
			}
		}
		if tick != nil {
			tick()
		}
		if active >= want {
			return len(errored), nil
		}
		if time.Now().After(deadline) {
			return len(errored), fmt.Errorf("after %s: %d of %d servers ACTIVE (%d listed)", timeout, active, want, len(st))
		}
		if time.Since(lastLog) > 15*time.Second {
			logf("  %d/%d servers ACTIVE", active, want)
			lastLog = time.Now()
		}
		select {
		case <-ctx.Done():
			return len(errored), ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

func (b *bench) burst(ctx context.Context, servers int) error {
	res := &burstResult{servers: servers}
	b.rep.burst = res
	conc := b.cfg.concurrency
	limits := benchbaseline.BurstLimits{Instances: servers + 10, Cores: servers + 10, RAMMiB: (servers + 10) * 512, Ports: servers + 20}
	timeout := 5*time.Minute + time.Duration(servers)*6*time.Second

	// The baseline: a project with a network and raised quota (not timed), then servers
	// booted conc at a time, timed until the last is ACTIVE.
	logf("baseline: preparing a project with a network")
	base, err := benchbaseline.Open(ctx, b.cloudsPath, b.cfg.cloud, benchbaseline.BaselineAgent)
	if err != nil {
		return err
	}
	bp, err := base.PrepareBurst(ctx, projectPrefix+"burst-base", "10.61.0.0/24", limits)
	cleanupBase := func() error {
		if bp == nil || bp.ProjectID == "" {
			return nil
		}
		return b.probe.PurgeProject(ctx, bp.ProjectID)
	}
	if err != nil {
		return errors.Join(err, cleanupBase())
	}
	logf("baseline: booting %d servers, %d at a time", servers, conc)
	mark := base.Stats.Mark()
	start := time.Now()
	bootErr := bp.Boot(ctx, servers, conc, "burst", "m1.tiny", "cirros")
	if bootErr == nil {
		res.baseErr, bootErr = b.waitActive(ctx, bp.ProjectID, "burst-", servers, timeout, nil)
	}
	res.base.wall = time.Since(start)
	calls := base.Stats.Since(mark)
	res.base.calls, res.base.median = len(calls), benchbaseline.Median(calls)
	logf("baseline: %d servers ACTIVE in %s; deleting them", servers, res.base.wall.Round(time.Millisecond))
	start = time.Now()
	cleanErr := cleanupBase()
	res.base.deleteWall = time.Since(start)
	if bootErr != nil || cleanErr != nil {
		return fmt.Errorf("baseline: %w", errors.Join(bootErr, cleanErr))
	}
	time.Sleep(10 * time.Second) // let Nova finish with the deleted servers before the next burst

	// The operator: a Tenant with a network and a ComputeQuota raising the limits, both
	// Ready before the clock starts; then a TestEnvironment of servers replicas.
	if b.mgr == nil {
		if err := b.restartManager(10 * time.Minute); err != nil {
			return err
		}
	}
	if err := b.cl.namespace(ctx, burstNamespace, secretName, b.cloudsData); err != nil {
		return err
	}
	labels := map[string]string{benchLabel: "burst"}
	tenant := &whv1.Tenant{
		ObjectMeta: metav1.ObjectMeta{Namespace: burstNamespace, Name: "burst", Labels: labels},
		Spec: whv1.TenantSpec{
			CloudCredentialsRef: &whv1.CloudCredentialsReference{SecretName: secretName, CloudName: b.cfg.cloud},
			Project:             whv1.ProjectSpec{Name: ptr.To(projectPrefix + "burst-op")},
			Network:             &whv1.TenantNetwork{CIDR: "10.60.0.0/24"},
		},
	}
	cq := &whv1.ComputeQuota{
		ObjectMeta: metav1.ObjectMeta{Namespace: burstNamespace, Name: "burst", Labels: labels},
		Spec: whv1.ComputeQuotaSpec{
			TenantRef: whv1.LocalObjectReference{Name: "burst"},
			Baseline: whv1.QuotaSet{
				Compute: &whv1.ComputeLimits{Instances: i64(limits.Instances), Cores: i64(limits.Cores), RAMMiB: i64(limits.RAMMiB)},
				Network: &whv1.NetworkLimits{Ports: i64(limits.Ports)},
			},
		},
	}
	cleanupOp := func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		start := time.Now()
		_, err1 := b.cl.kubectl(ctx, "-n", burstNamespace, "delete", "testenvironments", "--all", "--wait", "--timeout=8m")
		res.op.deleteWall = time.Since(start)
		_, err2 := b.cl.kubectl(ctx, "-n", burstNamespace, "delete", "computequotas,tenants", "--all", "--wait", "--timeout=5m")
		left, err3 := b.purgeLeftovers(ctx, projectPrefix+"burst-op")
		res.op.leftover = left
		return errors.Join(err1, err2, err3)
	}
	logf("operator: a Tenant with a network and a ComputeQuota")
	if err := b.createAll(ctx, []client.Object{tenant, cq}); err != nil {
		return errors.Join(err, cleanupOp())
	}
	if err := b.waitReady(ctx, "burst", 1, 3*time.Minute); err != nil {
		return errors.Join(err, cleanupOp())
	}
	if err := b.cl.k8s.Get(ctx, client.ObjectKeyFromObject(tenant), tenant); err != nil {
		return errors.Join(err, cleanupOp())
	}
	env := &whv1.TestEnvironment{
		ObjectMeta: metav1.ObjectMeta{Namespace: burstNamespace, Name: "burst", Labels: labels},
		Spec: whv1.TestEnvironmentSpec{
			TenantRef: whv1.LocalObjectReference{Name: "burst"},
			Replicas:  ptr.To(int32(servers)),
			Template:  whv1.ServerTemplate{Flavor: "m1.tiny", Image: "cirros"},
		},
	}
	m0, err := b.mgr.scrape()
	if err != nil {
		return errors.Join(err, cleanupOp())
	}
	recMark := b.rec.mark()
	logf("operator: TestEnvironment with %d replicas", servers)
	start = time.Now()
	if err := b.cl.k8s.Create(ctx, env); err != nil {
		return errors.Join(err, cleanupOp())
	}
	readyCheck := func() {
		if res.opReady > 0 {
			return
		}
		e := &whv1.TestEnvironment{}
		if b.cl.k8s.Get(ctx, client.ObjectKeyFromObject(env), e) == nil && e.Status.ReadyReplicas == int32(servers) {
			res.opReady = time.Since(start)
		}
	}
	res.opErrors, err = b.waitActive(ctx, tenant.Status.ProjectID, "burst-", servers, timeout, readyCheck)
	res.op.wall = time.Since(start)
	for wait := time.Now().Add(time.Minute); err == nil && res.opReady == 0 && time.Now().Before(wait); {
		time.Sleep(250 * time.Millisecond)
		readyCheck()
	}
	if m1, serr := b.mgr.scrape(); serr == nil {
		res.op.calls, res.op.byService = operatorCalls(m0, m1)
		res.op.median, res.op.medianSource = b.operatorMedian(recMark, m0, m1)
		res.opReconciles = reconciles(m1, "testenvironment") - reconciles(m0, "testenvironment")
	}
	if b.rec != nil {
		b.rep.addBreakdown(fmt.Sprintf("d: burst of %d — operator", servers), b.rec.since(recMark, "operator"), 0)
	}
	logf("operator: %d servers ACTIVE in %s; deleting the environment", servers, res.op.wall.Round(time.Millisecond))
	return errors.Join(err, cleanupOp())
}
