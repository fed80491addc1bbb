package main

import (
	"context"
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"
)

type memResult struct {
	objects              int
	tenants, quota, envs int
	rssKiB, hwmKiB       int
	settle               time.Duration // operator start → every object has a Ready condition
	calls                int
}

// badCloudsYAML is a valid clouds.yaml that names no cloud the Tenants ask for: the
// operator reports CredentialsError without a single request.
const badCloudsYAML = `clouds:
  elsewhere:
    auth: {auth_url: "http://127.0.0.1:1/v3", username: nobody, password: nothing, project_name: none}
`

// memory measures the operator's RSS with objects that make no cloud calls: a third
// Tenants whose Secret names no such cloud (CredentialsError), a third ComputeQuotas and
// a third TestEnvironments naming a Tenant that does not exist (TenantNotReady). The
// operator is restarted with them in place, so it lists and reconciles every one at
// start, then settles.
func (b *bench) memory(ctx context.Context, objects int) error {
	res := &memResult{objects: objects}
	b.rep.mem = res
	b.stopManager()
	const spaces = 10
	for i := range spaces {
		if err := b.cl.namespace(ctx, fmt.Sprintf("bench-rss-%d", i), "bad-credentials", []byte(badCloudsYAML)); err != nil {
			return err
		}
	}
	labels := map[string]string{benchLabel: "rss"}
	objs := make([]client.Object, 0, objects)
	for i := range objects {
		objs = append(objs, res.rssObject(fmt.Sprintf("bench-rss-%d", i%spaces), i, b.cfg.cloud, labels))
	}
	logf("creating %d Tenants (no such cloud in their Secret), %d ComputeQuotas and %d TestEnvironments (no such Tenant)", res.tenants, res.quota, res.envs)
	if err := b.createAll(ctx, objs); err != nil {
		return err
	}
	if err := b.restartManager(10 * time.Minute); err != nil {
		return err
	}
	start := time.Now()
	m0, err := b.mgr.scrape()
	if err != nil {
		return err
	}
	for {
		done, err := b.conditioned(ctx)
		if err != nil {
			return err
		}
		if done == objects {
			break
		}
		if time.Since(start) > 5*time.Minute {
			return fmt.Errorf("only %d of %d objects got a Ready condition", done, objects)
		}
		time.Sleep(500 * time.Millisecond)
	}
	res.settle = time.Since(start)
	logf("every object reconciled in %s; letting the operator settle", res.settle.Round(time.Millisecond))
	time.Sleep(20 * time.Second)
	for range 5 {
		r, h, err := rss(b.mgr.pid())
		if err != nil {
			return err
		}
		res.rssKiB, res.hwmKiB = max(res.rssKiB, r), h
		time.Sleep(time.Second)
	}
	if m1, err := b.mgr.scrape(); err == nil {
		res.calls, _ = operatorCalls(m0, m1)
	}
	return nil
}

// rssObject is the i-th object of the memory measurement, counted in res: Tenant,
// ComputeQuota and TestEnvironment in turn.
func (res *memResult) rssObject(ns string, i int, cloud string, labels map[string]string) client.Object {
	om := metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("o-%d", i), Labels: labels}
	ghost := whv1.LocalObjectReference{Name: fmt.Sprintf("ghost-%d", i)}
	switch i % 3 {
	case 0:
		res.tenants++
		return &whv1.Tenant{ObjectMeta: om, Spec: whv1.TenantSpec{
			CloudCredentialsRef: &whv1.CloudCredentialsReference{SecretName: "bad-credentials", CloudName: cloud},
		}}
	case 1:
		res.quota++
		return &whv1.ComputeQuota{ObjectMeta: om, Spec: whv1.ComputeQuotaSpec{
			TenantRef: ghost,
			Baseline: whv1.QuotaSet{
				Compute: &whv1.ComputeLimits{Cores: i64(16), Instances: i64(8), RAMMiB: i64(32768)},
				Network: &whv1.NetworkLimits{Ports: i64(100)},
			},
		}}
	default:
		res.envs++
		return &whv1.TestEnvironment{ObjectMeta: om, Spec: whv1.TestEnvironmentSpec{
			TenantRef: ghost, Replicas: ptr.To[int32](2),
			Template: whv1.ServerTemplate{Flavor: "m1.small", Image: "cirros"},
		}}
	}
}

// conditioned counts the RSS objects that carry a Ready condition for their generation.
func (b *bench) conditioned(ctx context.Context) (int, error) {
	sel := client.MatchingLabels{benchLabel: "rss"}
	var tl whv1.TenantList
	if err := b.cl.k8s.List(ctx, &tl, sel); err != nil {
		return 0, err
	}
	var ql whv1.ComputeQuotaList
	if err := b.cl.k8s.List(ctx, &ql, sel); err != nil {
		return 0, err
	}
	var el whv1.TestEnvironmentList
	if err := b.cl.k8s.List(ctx, &el, sel); err != nil {
		return 0, err
	}
	n := 0
	for _, e := range el.Items {
		if c := meta.FindStatusCondition(e.Status.Conditions, whv1.ConditionReady); c != nil && c.ObservedGeneration == e.Generation {
			n++
		}
	}
	for _, t := range tl.Items {
		if c := meta.FindStatusCondition(t.Status.Conditions, whv1.ConditionReady); c != nil && c.ObservedGeneration == t.Generation {
			n++
		}
	}
	for _, q := range ql.Items {
		if c := meta.FindStatusCondition(q.Status.Conditions, whv1.ConditionReady); c != nil && c.ObservedGeneration == q.Generation {
			n++
		}
	}
	return n, nil
}
