package tenant

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"
)

// The network claims ledger: the ranges given to a Tenant (drawn from a pool, or an
// explicit range found free and taken) whose giving its status does not show yet, kept in
// one ConfigMap in the operator's namespace. Every operator process (one per shard)
// reads it live before it gives a range and writes it with the resourceVersion it read,
// so of two processes giving at once one is refused with a conflict and draws again,
// seeing the other's claim: a block is never given twice, whatever each process's
// cache has seen. A claim leaves once the Tenant's status, read live, holds the range
// (every later giver reads Tenants live after the ledger, so sees it there) or once the
// Tenant is gone: the ledger holds only what is in flight, not one line per Tenant.
// One ledger for every pool, not one per pool: pools of two policies may overlap, and an
// explicit range may span pools; one object is what makes every giving one sequence.

// LedgerName is the ConfigMap, in the operator's namespace, that holds the claims in
// flight. A fixed name: nothing a department or policy writes is part of it.
const LedgerName = "whitehall-network-claims"

// ledgerKey is the ConfigMap key holding the claims, as JSON.
const ledgerKey = "claims.json"

// MaxPendingClaims bounds the ledger: more ranges in flight at once than this and the
// next giving waits (and retries) instead of growing the object toward the API server's
// limit. A claim is in flight for one reconcile, so this is never reached in practice.
const MaxPendingClaims = 1000

// ledgerAttempts is how often a giving re-reads the ledger after a conflict before the
// reconcile is retried with back-off.
const ledgerAttempts = 5

// errLedgerFull is returned by put when the ledger holds MaxPendingClaims claims.
var errLedgerFull = errors.New("network claims ledger is full")

// pendingClaim is one range given and not yet seen in the Tenant's status.
type pendingClaim struct {
	Namespace string    `json:"namespace"`
	Name      string    `json:"name"`
	UID       types.UID `json:"uid"`
	Block     string    `json:"block"`
	Since     time.Time `json:"since"`
}

// prefix is the claim's range; invalid when the ledger was edited by hand.
func (c pendingClaim) prefix() netip.Prefix {
	p, err := netip.ParsePrefix(c.Block)
	if err != nil {
		return netip.Prefix{}
	}
	return p.Masked()
}

// ledger is the ConfigMap as read and the claims it holds.
type ledger struct {
	// object is the ConfigMap read, carrying its resourceVersion; one without a
	// resourceVersion is created.
	object *corev1.ConfigMap
	claims []pendingClaim
}

// newLedger is the ledger of a namespace that has none yet.
func newLedger(namespace string) ledger {
	return ledger{object: &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{
		Namespace: namespace, Name: LedgerName,
		Labels: map[string]string{"app.kubernetes.io/managed-by": "whitehall-operator"},
	}}}
}

// decodeLedger reads the claims of the ConfigMap. One that does not decode gives no range
// (the reconcile fails) rather than forgetting claims in flight.
func decodeLedger(cm *corev1.ConfigMap) (ledger, error) {
	l := ledger{object: cm}
	data, ok := cm.Data[ledgerKey]
	if !ok || data == "" {
		return l, nil
	}
	if err := json.Unmarshal([]byte(data), &l.claims); err != nil {
		return ledger{}, fmt.Errorf("ConfigMap %s/%s: %s does not decode (delete it only when no Tenant is being given a range): %w",
			cm.Namespace, cm.Name, ledgerKey, err)
	}
	return l, nil
}

// encode returns the ConfigMap to write, with the resourceVersion it was read at.
func (l ledger) encode() (*corev1.ConfigMap, error) {
	data, err := json.Marshal(l.claims)
	if err != nil {
		return nil, err
	}
	cm := l.object.DeepCopy()
	if cm.Data == nil {
		cm.Data = map[string]string{}
	}
	cm.Data[ledgerKey] = string(data)
	return cm, nil
}

// prune drops the claims whose Tenant's status (in tenants, read live after the ledger)
// shows its range as its own to anyone reading it (allocated, or its network made), and
// those of Tenants gone or that no longer want that range.
func (l *ledger) prune(tenants []whv1.Tenant) {
	byUID := make(map[types.UID]*whv1.Tenant, len(tenants))
	for i := range tenants {
		byUID[tenants[i].UID] = &tenants[i]
	}
	l.claims = slices.DeleteFunc(l.claims, func(c pendingClaim) bool {
		t, ok := byUID[c.UID]
		return !ok || !wantsRange(t, c.prefix()) || statusOwns(t)
	})
}

// wantsRange reports whether the Tenant may still be given the range: it has a network,
// and its spec names that range or none.
func wantsRange(t *whv1.Tenant, block netip.Prefix) bool {
	n := t.Spec.Network
	if n == nil || !block.IsValid() {
		return false
	}
	if n.CIDR == "" {
		return true
	}
	p, err := netip.ParsePrefix(n.CIDR)
	return err == nil && p.Masked() == block
}

// own is the range the ledger holds for the Tenant (given, its status not written yet).
func (l ledger) own(uid types.UID) netip.Prefix {
	for _, c := range l.claims {
		if c.UID == uid {
			return c.prefix()
		}
	}
	return netip.Prefix{}
}

// given are the ranges the ledger holds for Tenants other than uid.
func (l ledger) given(uid types.UID) map[types.UID]rangeClaim {
	out := map[types.UID]rangeClaim{}
	for _, c := range l.claims {
		if p := c.prefix(); c.UID != uid && p.IsValid() {
			out[c.UID] = rangeClaim{key: client.ObjectKey{Namespace: c.Namespace, Name: c.Name}, prefix: p}
		}
	}
	return out
}

// put records the claim, replacing any of the same Tenant; errLedgerFull when the
// ledger already holds MaxPendingClaims of other Tenants.
func (l *ledger) put(c pendingClaim) error {
	l.remove(c.UID)
	if len(l.claims) >= MaxPendingClaims {
		return errLedgerFull
	}
	l.claims = append(l.claims, c)
	return nil
}

// remove drops the Tenant's claim and reports whether there was one.
func (l *ledger) remove(uid types.UID) bool {
	n := len(l.claims)
	l.claims = slices.DeleteFunc(l.claims, func(c pendingClaim) bool { return c.UID == uid })
	return len(l.claims) != n
}
