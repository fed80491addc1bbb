package tenant

import (
	"context"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"
)

// liveReuse is how long a live read of every Tenant serves the givings that follow it,
// while the ledger shows no other writer: long enough that a burst of new Tenants costs
// one read a second rather than one each, short enough that claims whose status is
// written leave the ledger soon (they are pruned with a fresh read).
const liveReuse = time.Second

// liveRead is the last live read of every Tenant (slimmed to what ranges are weighed
// by), and the ledger's resourceVersion as this process last wrote it after that read.
type liveRead struct {
	tenants  []whv1.Tenant
	at       time.Time
	ledgerRV string
}

// wrote records that this process wrote the ledger, at resourceVersion rv, from the
// last live read.
func (l *liveRead) wrote(rv string) { l.ledgerRV = rv }

// liveTenants returns every Tenant, read live after the ledger led. The last read is
// used again when the ledger is as this process last wrote it (no other process wrote
// since, so every claim pruned meanwhile was pruned by this process from that read) and
// it is younger than liveReuse; what this process gave since is in its own claims.
// fresh reports a new read. Called with the lock taken.
func (r *Reconciler) liveTenants(ctx context.Context, led ledger) (tenants []whv1.Tenant, fresh bool, err error) {
	live := &r.cidrs.live
	if rv := led.object.ResourceVersion; rv != "" && rv == live.ledgerRV && time.Since(live.at) < liveReuse {
		return live.tenants, false, nil
	}
	var list whv1.TenantList
	if err := r.APIReader.List(ctx, &list); err != nil {
		return nil, false, err
	}
	*live = liveRead{tenants: slim(list.Items), at: time.Now()}
	return live.tenants, true, nil
}

// slim keeps of each Tenant only what its range is weighed by: the read is kept, and a
// Tenant's credentials, people and conditions need not be.
func slim(tenants []whv1.Tenant) []whv1.Tenant {
	out := make([]whv1.Tenant, 0, len(tenants))
	for i := range tenants {
		t := &tenants[i]
		if t.Spec.Network == nil {
			continue // no range to weigh, and never a claim to keep
		}
		out = append(out, whv1.Tenant{
			ObjectMeta: metav1.ObjectMeta{Namespace: t.Namespace, Name: t.Name, UID: t.UID, CreationTimestamp: t.CreationTimestamp},
			Spec:       whv1.TenantSpec{Network: t.Spec.Network},
			Status:     whv1.TenantStatus{Network: t.Status.Network},
		})
	}
	return out
}
