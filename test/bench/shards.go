package main

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

const (
	// shardDeptLabel labels phase s's departments (benchLabel=shard), apart from a's.
	shardDeptLabel = "shard"
	// shardLabel chooses the shard that handles a namespace (DESIGN: label sharding).
	shardLabel = "whitehall.cloud/shard"
	// otherShard is the second shard of phase s; the first is the default shard.
	otherShard = "b"
	// parkedShard holds a's namespaces during s: no replica runs it.
	parkedShard = "parked"
)

// shardResult is phase s: the departments of phase a's largest size converged by two
// operator processes, the default shard and shard b, each with the same flags as the
// one replica of phase a.
type shardResult struct {
	n          int
	wall       time.Duration
	calls      int
	perShard   [2]int // calls made by the default shard and by shard b
	deleteWall time.Duration
	leftover   int
	incomplete string
}

// shardNamespace is department i's namespace in phase s: its own namespaces, every other
// one labelled for shard b, so that each shard gets half the departments.
func (b *bench) shardNamespace(i int) string { return fmt.Sprintf("bench-s-%d", i%b.cfg.namespaces) }

// shards converges n departments of their own (benchLabel=shard, projects whbench-sh-)
// with two shards running, then deletes them; a's departments stay for a to delete.
func (b *bench) shards(ctx context.Context, n int) error {
	res := &shardResult{n: n}
	b.rep.shards = res
	if err := b.shardNamespaces(ctx); err != nil {
		return err
	}
	// a's departments stay (so that both sides meet the cloud alike) but are parked on a
	// shard nobody runs: the two shards measured look at their own departments only.
	if err := b.labelNamespaces(ctx, b.deptNamespace, parkedShard); err != nil {
		return err
	}
	defer func() { _ = b.labelNamespaces(context.WithoutCancel(ctx), b.deptNamespace, "") }()
	// Shards run with leader election, as the chart runs them.
	if err := b.restartManagerWith(managerOpts{resync: 10 * time.Minute, leaderElect: true}); err != nil {
		return err
	}
	second, err := startManager(managerOpts{
		bin: b.cfg.managerBin, kubeconfig: b.cl.kubeconfig, shard: otherShard, leaderElect: true,
		logPath: filepath.Join(b.cfg.repoRoot, ".local", "bench", "manager-shard-"+otherShard+".log"),
		resync:  10 * time.Minute, concurrency: b.cfg.concurrency, creates: b.cfg.concurrency,
	})
	if err != nil {
		return err
	}
	defer second.stop()
	if err := b.farSeason(ctx); err != nil {
		return err
	}
	managers := [2]*manager{b.mgr, second}
	var before [2]scrape
	for i, m := range managers {
		if before[i], err = m.scrape(); err != nil {
			return err
		}
	}
	objs := make([]client.Object, 0, 2*n)
	for i := range n {
		t, cq := deptObjectsIn(b.shardNamespace(i), i, shardDeptLabel, "sh-")
		objs = append(objs, t, cq)
	}
	logf("shards: creating %d Tenants and %d ComputeQuotas over two shards", n, n)
	mark := b.rec.mark()
	start := time.Now()
	if err := b.createAll(ctx, objs); err != nil {
		return err
	}
	readyErr := b.waitReady(ctx, shardDeptLabel, n, max(5*time.Minute, time.Duration(n)*3*time.Second))
	res.wall = time.Since(start)
	for i, m := range managers {
		after, err := m.scrape()
		if err != nil {
			return err
		}
		res.perShard[i], _ = operatorCalls(before[i], after)
		res.calls += res.perShard[i]
	}
	if b.rec != nil {
		b.rep.addBreakdown(fmt.Sprintf("s: converge %d on two shards — both operators", n), b.rec.since(mark, "operator"), n)
	}
	if readyErr != nil {
		res.incomplete = readyErr.Error()
	} else {
		logf("shards: %d departments Ready in %s, %d calls (%d default shard, %d shard %s)", n, res.wall.Round(time.Millisecond),
			res.calls, res.perShard[0], res.perShard[1], otherShard)
	}
	return errors.Join(readyErr, b.deleteShardDepartments(ctx, res))
}

// shardNamespaces creates phase s's namespaces, every other one labelled for shard b.
func (b *bench) shardNamespaces(ctx context.Context) error {
	for i := range b.cfg.namespaces {
		if err := b.cl.namespace(ctx, b.shardNamespace(i), secretName, b.cloudsData); err != nil {
			return err
		}
	}
	return b.labelNamespaces(ctx, func(i int) string {
		if i%2 == 0 {
			return "" // the default shard's
		}
		return b.shardNamespace(i)
	}, otherShard)
}

// labelNamespaces sets the shard label of the namespaces named(i) for every i (none when
// the name is empty) to shard, or removes it when shard is empty.
func (b *bench) labelNamespaces(ctx context.Context, named func(int) string, shard string) error {
	for i := range b.cfg.namespaces {
		name := named(i)
		if name == "" {
			continue
		}
		ns := &corev1.Namespace{}
		if err := b.cl.k8s.Get(ctx, client.ObjectKey{Name: name}, ns); err != nil {
			return err
		}
		orig := ns.DeepCopy()
		if shard == "" {
			delete(ns.Labels, shardLabel)
		} else {
			ns.Labels[shardLabel] = shard
		}
		if err := b.cl.k8s.Patch(ctx, ns, client.MergeFrom(orig)); err != nil {
			return err
		}
	}
	return nil
}

// deleteShardDepartments deletes phase s's departments with both shards running and
// removes anything left (and says how much).
func (b *bench) deleteShardDepartments(ctx context.Context, res *shardResult) error {
	start := time.Now()
	sel := "--selector=" + benchLabel + "=" + shardDeptLabel
	_, err1 := b.cl.kubectl(ctx, "delete", "computequotas,tenants", "--all-namespaces", sel, "--wait=false")
	err2 := b.waitGone(ctx, shardDeptLabel, max(5*time.Minute, time.Duration(res.n)*3*time.Second))
	res.deleteWall = time.Since(start)
	left, err3 := b.purgeLeftovers(ctx, projectPrefix+"sh-")
	res.leftover = left
	logf("shards: deleted in %s; %d projects left behind", res.deleteWall.Round(time.Millisecond), left)
	return errors.Join(err1, err2, err3)
}

// oneReplica is the wall time of phase a at the same size, for the comparison.
func (r *report) oneReplica(n int) time.Duration {
	for _, cr := range r.converge {
		if cr.n == n && cr.op.incomplete == "" {
			return cr.op.wall
		}
	}
	return 0
}
