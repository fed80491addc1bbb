package main

import (
	"context"
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"
)

type memResult struct {
	objects        int
	tenants, quota int
	rssKiB, hwmKiB int
	settle         time.Duration // operator start → every object has a Ready condition
	calls          int
}

// badCloudsYAML is a valid clouds.yaml that names no cloud the Tenants ask for: the
// operator reports CredentialsError without a single request.
const badCloudsYAML = `clouds:
  elsewhere:
    auth: {auth_url: "http://127.0.0.1:1/v3", username: nobody, password: nothing, project_name: none}
`

// memory measures the operator's RSS with objects that make no cloud calls: half
// Tenants whose Secret names no such cloud (CredentialsError), half ComputeQuotas naming
// a Tenant that does not exist (TenantNotReady). The operator is restarted with them in
// place, so it lists and reconciles every one at start, then settles.
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
		ns := fmt.Sprintf("bench-rss-%d", i%spaces)
		if i%2 == 0 {
			res.tenants++
			objs = append(objs, &whv1.Tenant{
				ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("t-%d", i), Labels: labels},
				Spec: whv1.TenantSpec{
					CloudCredentialsRef: &whv1.CloudCredentialsReference{SecretName: "bad-credentials", CloudName: b.cfg.cloud},
				},
			})
			continue
		}
		res.quota++
		objs = append(objs, &whv1.ComputeQuota{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("q-%d", i), Labels: labels},
			Spec: whv1.ComputeQuotaSpec{
				TenantRef: whv1.LocalObjectReference{Name: fmt.Sprintf("ghost-%d", i)},
				Baseline: whv1.QuotaSet{
					Compute: &whv1.ComputeLimits{Cores: i64(16), Instances: i64(8), RAMMiB: i64(32768)},
					Network: &whv1.NetworkLimits{Ports: i64(100)},
				},
			},
		})
	}
	logf("creating %d Tenants (no such cloud in their Secret) and %d ComputeQuotas (no such Tenant)", res.tenants, res.quota)
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
	n := 0
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
