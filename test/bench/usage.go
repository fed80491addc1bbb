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

// usageCloudName is the Cloud phase u creates; the operator's namespace holds its Secret.
const (
	usageCloudName    = "bench-usage"
	operatorNamespace = "whitehall-system"
)

// usageResult is what one usage read cost.
type usageResult struct {
	n        int
	wall     time.Duration
	usage    int // GET os-simple-tenant-usage, pages included
	volumes  int // GET volumes/detail (all projects), pages included
	identity int // the new Cloud's login, shared with the Cloud controller
	total    int // every operator call between the Cloud's creation and its first read
}

// usageRead measures what one usage read costs with the n departments of phase a in the
// cloud: a Cloud appears, and the harness counts the operator's OpenStack calls until the
// Cloud reports its first read. The read asks Nova and Cinder for every project at once,
// so its cost does not grow with n (only with the pages the cloud splits its answer into:
// 1,000 servers a page).
func (b *bench) usageRead(ctx context.Context, n int) error {
	if err := b.cl.namespace(ctx, operatorNamespace, secretName, b.cloudsData); err != nil {
		return err
	}
	m0, err := b.mgr.scrape()
	if err != nil {
		return err
	}
	mark := b.rec.mark()
	start := time.Now()
	cloud := &whv1.Cloud{
		ObjectMeta: metav1.ObjectMeta{Name: usageCloudName, Labels: map[string]string{benchLabel: "true"}},
		Spec: whv1.CloudSpec{
			CredentialsSecretRef: whv1.CloudSecretReference{Name: secretName, CloudName: b.cfg.cloud},
			Tariff:               &whv1.Tariff{Currency: "GBP", VCPUHour: ptrTo("0.021"), RAMGiBHour: ptrTo("0.0032"), VolumeGiBMonth: ptrTo("0.045")},
		},
	}
	if err := b.cl.k8s.Create(ctx, cloud); err != nil {
		return err
	}
	defer func() { _ = b.cl.k8s.Delete(context.Background(), cloud) }()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		if err := b.cl.k8s.Get(ctx, client.ObjectKeyFromObject(cloud), cloud); err == nil && cloud.Status.Usage != nil && cloud.Status.Usage.ReadAt != nil {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no usage read reported by Cloud %s within 2 minutes", usageCloudName)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	res := &usageResult{n: n, wall: time.Since(start)}
	m1, err := b.mgr.scrape()
	if err != nil {
		return err
	}
	res.total, _ = operatorCalls(m0, m1)
	if b.rec != nil {
		events := b.rec.since(mark, "operator")
		var read []event
		for _, e := range events {
			switch {
			case strings.Contains(e.Path, "os-simple-tenant-usage"):
				res.usage++
				read = append(read, e)
			case e.Service == "block-storage" && strings.Contains(e.Path, "/volumes"):
				res.volumes++
				read = append(read, e)
			case e.Service == "identity":
				res.identity++
			}
		}
		b.rep.addBreakdown(fmt.Sprintf("u: one usage read, %d departments in the cloud — operator", n), read, 0)
	}
	b.rep.usage = res
	logf("usage: one read with %d departments: %d usage + %d volume calls (%d operator calls in all while the Cloud came up)", n, res.usage, res.volumes, res.total)
	return nil
}

func ptrTo(s string) *string { return &s }
