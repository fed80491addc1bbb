package tenant

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"

	"github.com/whitehall-cloud/whitehall-operator/controllers/frame"
	"github.com/whitehall-cloud/whitehall-operator/internal/policy"
)

// ledgerFullRetry is how soon a giving refused by a full ledger is tried again.
const ledgerFullRetry = 5 * time.Second

// decideRange chooses the Tenant's range from the other Tenants' claims (read live, with
// the ranges given and not yet in status counted as held) and the range the ledger holds
// for it already (invalid for none). An error gives nothing.
type decideRange func(others []policy.Claim, own netip.Prefix) (netip.Prefix, error)

// take gives the Tenant a range through the ledger (ledger.go): read it live, read every
// Tenant live after it, decide, and record the claim with the resourceVersion read. A
// conflict (another process gave a range meanwhile) reads both again and decides again.
// Nothing is given unless the write succeeds. It returns the range and the claims it was
// weighed against. Called with the lock taken; no OpenStack call is made here.
func (r *Reconciler) take(ctx context.Context, t *whv1.Tenant, decide decideRange) (netip.Prefix, []policy.Claim, error) {
	var err error
	for range ledgerAttempts {
		var led ledger
		if led, err = r.readLedger(ctx); err != nil {
			return netip.Prefix{}, nil, err
		}
		var tenants []whv1.Tenant
		var fresh bool
		if tenants, fresh, err = r.liveTenants(ctx, led); err != nil {
			return netip.Prefix{}, nil, err
		}
		if fresh {
			// Only from a read newer than every claim: a read used again lacks the Tenants
			// made since, whose claims are not gone but in flight.
			led.prune(tenants)
		}
		var others []policy.Claim
		if others, err = r.claimsOf(ctx, t, tenants, led.given(t.UID)); err != nil {
			return netip.Prefix{}, nil, err
		}
		var block netip.Prefix
		if block, err = decide(others, led.own(t.UID)); err != nil {
			return netip.Prefix{}, nil, err
		}
		if led.put(pendingClaim{Namespace: t.Namespace, Name: t.Name, UID: t.UID, Block: block.String(), Since: r.Now().UTC()}) != nil {
			return netip.Prefix{}, nil, frame.RetryAfter(frame.NewWaitingError(whv1.ReasonTransientError, fmt.Sprintf(
				"%d network ranges are being given at once, the most the operator keeps in flight; retrying", MaxPendingClaims)), ledgerFullRetry)
		}
		if err = r.writeLedger(ctx, &led); err == nil {
			r.cidrs.live.wrote(led.object.ResourceVersion)
			return block, others, nil
		}
		if !apierrors.IsConflict(err) && !apierrors.IsAlreadyExists(err) {
			return netip.Prefix{}, nil, err
		}
		ctrl.LoggerFrom(ctx).V(1).Info("network claims ledger changed meanwhile; deciding again", "block", block.String())
	}
	return netip.Prefix{}, nil, err // still conflicting: the frame retries with back-off
}

// claimsOf are the claims of the other Tenants of tenants, with the ranges given by this
// process or the ledger (given) in place of what their status shows, held.
func (r *Reconciler) claimsOf(ctx context.Context, t *whv1.Tenant, tenants []whv1.Tenant, given map[types.UID]rangeClaim) ([]policy.Claim, error) {
	for uid, c := range r.cidrs.claims {
		given[uid] = c
	}
	governed, err := r.poolNamespaces(ctx)
	if err != nil {
		return nil, err
	}
	return otherClaims(t, tenants, governed, given), nil
}

// otherClaims are the ranges of the Tenants other than t in namespaces governed by a
// policy with a pool: a range in given replaces the Tenant's own and is held, and one of
// a Tenant that tenants does not have yet (a read older than the giving) is held too.
func otherClaims(t *whv1.Tenant, tenants []whv1.Tenant, governed func(string) bool, given map[types.UID]rangeClaim) []policy.Claim {
	var out []policy.Claim
	seen := map[types.UID]bool{t.UID: true}
	for i := range tenants {
		u := &tenants[i]
		seen[u.UID] = true
		if u.UID == t.UID || u.Spec.Network == nil || !governed(u.Namespace) {
			continue
		}
		prefix, err := netip.ParsePrefix(tenantRange(u))
		held := statusOwns(u)
		if c, ok := given[u.UID]; ok {
			prefix, err, held = c.prefix, nil, true
		}
		if err != nil {
			continue // no range yet
		}
		out = append(out, policy.Claim{Namespace: u.Namespace, Name: u.Name, Prefix: prefix, Created: u.CreationTimestamp.Time, Held: held})
	}
	for uid, c := range given {
		if !seen[uid] && governed(c.key.Namespace) {
			out = append(out, policy.Claim{Namespace: c.key.Namespace, Name: c.key.Name, Prefix: c.prefix, Held: true})
		}
	}
	return out
}

// readLedger reads the ledger live: the cache may not have another process's claim yet.
func (r *Reconciler) readLedger(ctx context.Context) (ledger, error) {
	var cm corev1.ConfigMap
	err := r.APIReader.Get(ctx, client.ObjectKey{Namespace: r.Access.OperatorNamespace, Name: LedgerName}, &cm)
	switch {
	case apierrors.IsNotFound(err):
		return newLedger(r.Access.OperatorNamespace), nil
	case err != nil:
		return ledger{}, err
	}
	return decodeLedger(&cm)
}

// writeLedger writes the ledger at the resourceVersion it was read at (an Update, never
// a patch without it), or creates it: a conflict means another process wrote first. On
// success l holds the object written, with its new resourceVersion.
func (r *Reconciler) writeLedger(ctx context.Context, l *ledger) error {
	cm, err := l.encode()
	if err != nil {
		return err
	}
	if cm.ResourceVersion == "" {
		err = r.Create(ctx, cm)
	} else {
		err = r.Update(ctx, cm)
	}
	if err == nil {
		l.object = cm
	}
	return err
}

// releasePending drops the claim of a Tenant whose deletion is done, so its block is free
// for a Tenant waiting at once. Best effort: a claim left is pruned by the next giving,
// since its Tenant is gone; deletion never waits on the ledger.
func (r *Reconciler) releasePending(ctx context.Context, t *whv1.Tenant) {
	if t.Spec.Network == nil {
		return
	}
	r.cidrs.mu.Lock()
	defer r.cidrs.mu.Unlock()
	var err error
	for range ledgerAttempts {
		var led ledger
		if led, err = r.readLedger(ctx); err != nil || !led.remove(t.UID) {
			break
		}
		if err = r.writeLedger(ctx, &led); !apierrors.IsConflict(err) {
			break
		}
	}
	if err != nil && !errors.Is(err, context.Canceled) {
		ctrl.LoggerFrom(ctx).Info("could not release the Tenant's pending network claim; the next allocation prunes it", "error", err.Error())
	}
}
