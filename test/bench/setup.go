package main

import (
	"sync/atomic"

	"context"
	"fmt"
	"golang.org/x/sync/errgroup"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"
	"github.com/whitehall-cloud/whitehall-operator/test/benchbaseline"
	"github.com/whitehall-cloud/whitehall-operator/test/cloudtest"
)

// setupCloud starts the recording proxy, writes the clouds.yaml every client uses, opens
// the harness's sessions and removes what an earlier run may have left.
func (b *bench) setupCloud(ctx context.Context) error {
	data, err := os.ReadFile(b.cfg.cloudsYAML)
	if err != nil {
		return fmt.Errorf("reading %s: %w", b.cfg.cloudsYAML, err)
	}
	b.cloudsPath = b.cfg.cloudsYAML
	if b.cfg.proxy {
		b.rec = newRecorder()
		// Point auth_url at the proxy; the proxy rewrites the catalog for everything else.
		auth := upstreamURL.Find(data)
		if auth == nil {
			return fmt.Errorf("%s: no http://127.0.0.1:<port> auth_url to proxy; use -no-proxy", b.cfg.cloudsYAML)
		}
		u, err := url.Parse(string(auth))
		if err != nil {
			return err
		}
		addr, err := b.rec.ensure(u.Host)
		if err != nil {
			return err
		}
		data = []byte(strings.ReplaceAll(string(data), string(auth), "http://"+addr))
		b.cloudsPath = filepath.Join(b.cfg.workDir, "clouds.yaml")
		if err := os.WriteFile(b.cloudsPath, data, 0o600); err != nil {
			return err
		}
		logf("recording proxy: %s → %s", u.Host, addr)
	}
	b.cloudsData = data

	if b.probe, err = benchbaseline.Open(ctx, b.cloudsPath, b.cfg.cloud, benchbaseline.HarnessAgent); err != nil {
		return fmt.Errorf("logging in to the dev cloud (is it up? hack/dev-cloud/up.sh): %w", err)
	}
	if b.admin, err = cloudtest.Open(ctx, b.cloudsPath, b.cfg.cloud); err != nil {
		return err
	}
	n, err := b.purgeLeftovers(ctx, projectPrefix)
	if err != nil {
		return fmt.Errorf("removing an earlier run's projects: %w", err)
	}
	if n > 0 {
		logf("removed %d projects an earlier run left", n)
	}
	return nil
}

// purgeLeftovers deletes the projects named prefix* that the operator or the baseline
// created, with anything left in them, as many at a time as the bench's concurrency (an
// interrupted 1,000-department run leaves thousands). The operator's go through
// cloudtest.DeleteOwnedProjects, which checks they carry the operator's owner mark.
func (b *bench) purgeLeftovers(ctx context.Context, prefix string) (int, error) {
	list, err := b.probe.ListProjects(ctx, prefix)
	if err != nil {
		return 0, err
	}
	var count atomic.Int64
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(b.cfg.concurrency)
	for _, p := range list {
		if !p.Owned && !p.Baseline {
			logf("leaving project %s (%s) alone: neither the operator nor the baseline made it", p.Name, p.ID)
			continue
		}
		count.Add(1)
		g.Go(func() error {
			if err := b.probe.PurgeContents(gctx, p.ID); err != nil {
				return err
			}
			if p.Owned {
				return b.admin.DeleteOwnedProjects(gctx, p.Name)
			}
			return b.probe.DeleteProject(gctx, p.ID)
		})
	}
	err = g.Wait()
	return int(count.Load()), err
}

// finalCleanup runs last: nothing the run created stays in the cloud, whatever failed.
func (b *bench) finalCleanup() {
	if b.probe == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	b.stopManager()
	if n, err := b.purgeLeftovers(ctx, projectPrefix); err != nil {
		logf("final clean-up: %v", err)
	} else if n > 0 {
		logf("final clean-up removed %d projects", n)
	}
}

func (r *recorder) closeIfAny() {
	if r != nil {
		r.close()
	}
}

// deptNamespace is the namespace of department i.
func (b *bench) deptNamespace(i int) string { return fmt.Sprintf("bench-%d", i%b.cfg.namespaces) }

// setupNamespaces creates the department namespaces with their credentials Secret, the
// Cloud every Tenant names, and the PeakSeason every ComputeQuota names (its window far
// away until the peak switch).
func (b *bench) setupNamespaces(ctx context.Context) error {
	for i := range b.cfg.namespaces {
		if err := b.cl.namespace(ctx, b.deptNamespace(i), secretName, b.cloudsData); err != nil {
			return err
		}
	}
	if err := b.createUsageCloud(ctx); err != nil {
		return err
	}
	ps := &whv1.PeakSeason{
		ObjectMeta: metav1.ObjectMeta{Name: peakSeason, Labels: map[string]string{benchLabel: "true"}},
		Spec: whv1.PeakSeasonSpec{
			TimeZone: "Europe/London",
			Windows:  []whv1.SeasonWindow{{From: ptr.To("2099-01-01T00:00:00"), To: ptr.To("2099-01-02T00:00:00")}},
		},
	}
	return b.cl.k8s.Create(ctx, ps)
}
