package tenant

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/whitehall-cloud/whitehall-operator/controllers/frame"
	"github.com/whitehall-cloud/whitehall-operator/controllers/lookups"
	"github.com/whitehall-cloud/whitehall-operator/internal/policy"
)

// addressSpace is this process's writer of Tenant network ranges in a governed
// namespace: every allocation and every check of an overlap happens under its lock, and
// what it gives is remembered by Tenant UID until the Tenant is gone, so two Tenants
// reconciled at once never get one block, even when the cache has not caught up with the
// other's status. Across processes (shards) every giving also goes through the claims
// ledger in the API server (ledger.go). After a restart the cache is the memory:
// allocated blocks are in status before any network is made, and a network that exists
// is recorded there; an explicit range found free whose network is not made yet is
// weighed by age again.
type addressSpace struct {
	mu sync.Mutex
	// claims are the ranges given or found free, by Tenant UID.
	claims map[types.UID]rangeClaim
	// reported is the last overlap of an existing network told in an event, by UID.
	reported map[types.UID]string
	// live is the last live read of every Tenant, kept while only this process writes
	// the ledger (liveTenants).
	live liveRead
}

type rangeClaim struct {
	key    client.ObjectKey
	prefix netip.Prefix
}

// release forgets the claims of a Tenant that is gone.
func (a *addressSpace) release(match func(types.UID, rangeClaim) bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for uid, c := range a.claims {
		if match(uid, c) {
			delete(a.claims, uid)
			delete(a.reported, uid)
		}
	}
}

// forget drops the claims of the Tenant of this name, which no longer exists.
func (a *addressSpace) forget(key client.ObjectKey) {
	a.release(func(_ types.UID, c rangeClaim) bool { return c.key == key })
}

// tenantCIDR settles the range of the Tenant's network before anything is written to
// OpenStack: spec.network.cidr, else status.network.cidr, else the next free block of the
// pool of the first policy (by name) governing the namespace that has one. It is recorded
// in status. A step is returned when the reconcile stops here: a block just allocated is
// written to status before the network is made.
// neutron is what Neutron holds (readNeutron), read when a block is to be drawn.
func (r *Reconciler) tenantCIDR(ctx context.Context, t *whv1.Tenant, neutron neutronView) (string, *frame.Step, error) {
	if t.Spec.Network == nil {
		return "", nil, nil
	}
	governing, err := lookups.GoverningPolicies(ctx, r.Client, t.Namespace)
	if err != nil {
		return "", nil, err
	}
	var pools []whv1.DepartmentPolicy
	for _, p := range governing {
		if p.Spec.Networks != nil && p.Spec.Networks.Pool != "" {
			pools = append(pools, p)
		}
	}
	a := &r.cidrs
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.claims == nil {
		a.claims, a.reported = map[types.UID]rangeClaim{}, map[types.UID]string{}
	}
	cidr := t.Spec.Network.CIDR
	if cidr == "" && t.Status.Network != nil {
		cidr = t.Status.Network.CIDR
	}
	if cidr == "" {
		return r.allocate(ctx, t, pools, neutron)
	}
	setStatusCIDR(t, cidr)
	if len(pools) == 0 {
		return cidr, nil, nil // no pool governs the namespace: no range is contested
	}
	self, err := netip.ParsePrefix(cidr)
	if err != nil {
		return "", nil, frame.NewSpecError(whv1.ReasonInvalidConfiguration, fmt.Sprintf("network cidr %q is not a CIDR", cidr))
	}
	me := policy.Claim{Namespace: t.Namespace, Name: t.Name, Prefix: self, Created: t.CreationTimestamp.Time, Held: r.ownsRange(t)}
	var others []policy.Claim
	if me.Held {
		others, err = r.contenders(ctx, t)
	} else {
		// Not its own yet: taken through the ledger, so that no other process gives any of
		// it at the same moment; a range another Tenant was given and has not in status
		// yet blocks it as a held one.
		_, others, err = r.take(ctx, t, func(others []policy.Claim, _ netip.Prefix) (netip.Prefix, error) {
			if blocking := policy.Blocking(me, others); len(blocking) > 0 {
				return netip.Prefix{}, r.refuseRange(ctx, t, pools[0].Name, me, blocking)
			}
			return self.Masked(), nil
		})
	}
	if err != nil {
		return "", nil, err
	}
	me.Held = true
	a.claims[t.UID] = rangeClaim{key: client.ObjectKeyFromObject(t), prefix: self}
	r.reportKept(ctx, t, pools[0].Name, me, others)
	return cidr, nil, nil
}

// refuseRange is the error of a range other Tenants' claims keep from the Tenant, told in
// an event once per change.
func (r *Reconciler) refuseRange(ctx context.Context, t *whv1.Tenant, policyName string, me policy.Claim, blocking []policy.Claim) error {
	msg := policy.Breach{Policy: policyName, Rule: policy.RulePool, Detail: policy.OverlapDetail(me, blocking, frame.MaxListed) +
		"; nothing is created for it until the range is free"}.String()
	if c := meta.FindStatusCondition(t.Status.Conditions, whv1.ConditionReady); c == nil || c.Message != msg {
		frame.Notify(ctx, r.Recorder, t, corev1.EventTypeWarning, whv1.ReasonPolicyViolation, "CreateNetwork", "%s", msg)
	}
	return frame.NewSpecError(whv1.ReasonPolicyViolation, msg)
}

// allocate gives the Tenant the next free block of the first pool: free of every range
// a Tenant of a governed namespace owns or may still get (policy.Taken), and of every
// block given and not yet in status, by this process or another (the ledger). The block
// is claimed at once, in the ledger and in memory, and written to status before anything
// else.
func (r *Reconciler) allocate(ctx context.Context, t *whv1.Tenant, pools []whv1.DepartmentPolicy, neutron neutronView) (string, *frame.Step, error) {
	if len(pools) == 0 {
		return "", nil, frame.NewSpecError(whv1.ReasonInvalidConfiguration, fmt.Sprintf(
			"spec.network.cidr is required: no DepartmentPolicy with networks.pool governs namespace %s", t.Namespace))
	}
	p := pools[0]
	pool, err := netip.ParsePrefix(p.Spec.Networks.Pool)
	if err != nil {
		return "", nil, frame.NewSpecError(whv1.ReasonInvalidConfiguration, fmt.Sprintf("DepartmentPolicy %s: networks.pool %q is not a CIDR", p.Name, p.Spec.Networks.Pool))
	}
	bits := whv1.DefaultPrefixLength
	if l := p.Spec.Networks.PrefixLength; l != nil {
		bits = int(*l)
	}
	block, _, err := r.take(ctx, t, func(others []policy.Claim, own netip.Prefix) (netip.Prefix, error) {
		return drawBlock(p.Name, pool, bits, policy.Taken(others), neutron, own)
	})
	if err != nil {
		return "", nil, err
	}
	return r.claimBlock(ctx, t, p.Name, block)
}

// drawBlock chooses the Tenant's block of the pool, free of used (the other Tenants'
// ranges) and of Neutron's subnets: the one the ledger holds for it already (given, its
// status not written), else the range of the network it has (its cluster lost), else
// the lowest free block.
func drawBlock(policyName string, pool netip.Prefix, bits int, used []netip.Prefix, neutron neutronView, own netip.Prefix) (netip.Prefix, error) {
	all := append(slices.Clone(used), neutron.used...)
	if own.IsValid() && pool.Masked().Contains(own.Addr()) && own.Bits() == bits && !slices.ContainsFunc(all, func(u netip.Prefix) bool { return policy.Overlaps(own, u) }) {
		return own, nil
	}
	if own, ok := neutron.ownBlock(pool, used); ok {
		return own, nil
	}
	block, err := policy.Allocate(pool, bits, all)
	switch {
	case errors.Is(err, policy.ErrPoolExhausted):
		return netip.Prefix{}, frame.NewSpecError(whv1.ReasonPoolExhausted, policy.Breach{Policy: policyName, Rule: policy.RulePool, Detail: fmt.Sprintf(
			"no free /%d left in %s; a block is freed when a Tenant holding one is deleted", bits, pool.Masked())}.String())
	case err != nil:
		return netip.Prefix{}, frame.NewSpecError(whv1.ReasonInvalidConfiguration, policy.Breach{Policy: policyName, Rule: policy.RulePool, Detail: err.Error()}.String())
	}
	return block, nil
}

// claimBlock gives the Tenant the block and stops the reconcile, so it is in status
// before the network is made. Called with the lock taken.
func (r *Reconciler) claimBlock(ctx context.Context, t *whv1.Tenant, policyName string, block netip.Prefix) (string, *frame.Step, error) {
	r.cidrs.claims[t.UID] = rangeClaim{key: client.ObjectKeyFromObject(t), prefix: block}
	setStatusCIDR(t, block.String())
	msg := fmt.Sprintf("allocated %s from the pool of DepartmentPolicy %s; the network is created next", block, policyName)
	frame.Notify(ctx, r.Recorder, t, corev1.EventTypeNormal, whv1.ReasonNetworkAllocated, "AllocateNetwork", "Allocated %s from the pool of DepartmentPolicy %s", block, policyName)
	// Stop here: the frame writes status, and the next pass (at once) makes the network.
	return "", &frame.Step{Reason: whv1.ReasonNetworkAllocated, Message: msg, Wake: time.Millisecond}, nil
}

// ownsRange reports whether the Tenant's range is its own already: its network exists, the
// range was allocated to it (status without spec), or it was found free and taken.
// Called with the lock taken.
func (r *Reconciler) ownsRange(t *whv1.Tenant) bool {
	if _, ok := r.cidrs.claims[t.UID]; ok {
		return true
	}
	return statusOwns(t)
}

// statusOwns reports whether the Tenant's status shows its range as its own: its network
// exists, or the range was allocated to it (status without spec).
func statusOwns(t *whv1.Tenant) bool {
	s := t.Status.Network
	return s != nil && (s.NetworkID != "" || (s.CIDR != "" && t.Spec.Network != nil && t.Spec.Network.CIDR == ""))
}

// contenders are the ranges of the other Tenants, in any namespace governed by a policy
// with a pool, as the cache has them and as this writer gave them (a status the cache
// has not caught up with). Called with the lock taken.
func (r *Reconciler) contenders(ctx context.Context, t *whv1.Tenant) ([]policy.Claim, error) {
	var tenants whv1.TenantList
	// Read only, under the lock, on every reconcile of a networked Tenant: no copies.
	if err := r.List(ctx, &tenants, client.UnsafeDisableDeepCopy); err != nil {
		return nil, err
	}
	return r.claimsOf(ctx, t, tenants.Items, map[types.UID]rangeClaim{})
}

// poolNamespaces reports, for a namespace, whether a policy with a pool governs it.
func (r *Reconciler) poolNamespaces(ctx context.Context) (func(string) bool, error) {
	var list whv1.DepartmentPolicyList
	if err := r.List(ctx, &list); err != nil {
		return nil, err
	}
	var namespaces corev1.NamespaceList
	if err := r.List(ctx, &namespaces, client.UnsafeDisableDeepCopy); err != nil {
		return nil, err
	}
	in := map[string]bool{}
	for i := range namespaces.Items {
		for j := range list.Items {
			if p := &list.Items[j]; p.Spec.Networks != nil && p.Spec.Networks.Pool != "" && lookups.Selects(p, &namespaces.Items[i]) {
				in[namespaces.Items[i].Name] = true
				break
			}
		}
	}
	return func(ns string) bool { return in[ns] }, nil
}

// tenantRange is the Tenant's range: spec.network.cidr, else status.network.cidr.
func tenantRange(t *whv1.Tenant) string { return policy.TenantCIDR(t) }

// setStatusCIDR records the range in use.
func setStatusCIDR(t *whv1.Tenant, cidr string) {
	if t.Status.Network == nil {
		t.Status.Network = &whv1.TenantNetworkStatus{}
	}
	t.Status.Network.CIDR = cidr
}

// reportKept tells in an event, once per change, that the Tenant's range, its own
// already, overlaps another Tenant's that is its own too (both were made before a policy
// said they may not be): neither is torn down. Called with the lock taken.
func (r *Reconciler) reportKept(ctx context.Context, t *whv1.Tenant, policyName string, me policy.Claim, others []policy.Claim) {
	msg := ""
	if over := policy.Overlapping(me, others); len(over) > 0 {
		msg = policy.Breach{Policy: policyName, Rule: policy.RulePool, Detail: policy.OverlapDetail(me, over, frame.MaxListed) +
			"; both keep running: nothing is torn down"}.String()
	}
	if msg == r.cidrs.reported[t.UID] {
		return
	}
	r.cidrs.reported[t.UID] = msg
	if msg != "" {
		frame.Notify(ctx, r.Recorder, t, corev1.EventTypeWarning, whv1.ReasonPolicyViolation, "CheckNetwork", "%s", msg)
	}
}

// tenantsOfPolicy enqueues the Tenants of the namespaces a DepartmentPolicy selects (on
// an update, before and after: both are mapped), to apply what changed.
func (r *Reconciler) tenantsOfPolicy(ctx context.Context, o client.Object) []reconcile.Request {
	p := o.(*whv1.DepartmentPolicy)
	var namespaces corev1.NamespaceList
	if err := r.List(ctx, &namespaces); err != nil {
		return nil
	}
	var reqs []reconcile.Request
	for i := range namespaces.Items {
		if lookups.Selects(p, &namespaces.Items[i]) {
			reqs = append(reqs, lookups.ListRequests(ctx, r.Client, &whv1.TenantList{}, client.InNamespace(namespaces.Items[i].Name))...)
		}
	}
	return reqs
}

// tenantsAwaitingRange releases the range of a Tenant that is gone and enqueues the
// Tenants waiting for one (pool exhausted, or a range another Tenant owned).
func (r *Reconciler) tenantsAwaitingRange(ctx context.Context, o client.Object) []reconcile.Request {
	r.cidrs.release(func(uid types.UID, _ rangeClaim) bool { return uid == o.GetUID() })
	var tenants whv1.TenantList
	if err := r.List(ctx, &tenants); err != nil {
		return nil
	}
	var reqs []reconcile.Request
	for _, t := range tenants.Items {
		c := meta.FindStatusCondition(t.Status.Conditions, whv1.ConditionReady)
		if t.Spec.Network != nil && c != nil && (c.Reason == whv1.ReasonPoolExhausted || c.Reason == whv1.ReasonPolicyViolation) {
			reqs = append(reqs, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&t)})
		}
	}
	return reqs
}
