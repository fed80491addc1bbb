package departmentpolicy

import (
	"context"
	"fmt"
	"net/netip"
	"sync"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"

	"k8s.io/utils/ptr"

	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/whitehall-cloud/whitehall-operator/controllers/frame"
	"github.com/whitehall-cloud/whitehall-operator/controllers/lookups"
	"github.com/whitehall-cloud/whitehall-operator/internal/policy"
)

// Reconciler reports what a DepartmentPolicy governs and how much of it
// breaks the policy: in its status and in whitehall_policy_violations. It writes nothing
// else; the controllers of the governed kinds enforce it on their objects.
type Reconciler struct {
	client.Client
	Intervals frame.Intervals

	// counted is, per policy UID, the violations by kind its last reconcile counted
	// (nil: its selector is invalid and it counts nothing), for the Published hook.
	counted sync.Map
}

// +kubebuilder:rbac:groups=whitehall.cloud,resources=departmentpolicies,verbs=get;list;watch
// +kubebuilder:rbac:groups=whitehall.cloud,resources=departmentpolicies/status,verbs=get;update;patch
// +kubebuilder:rbac:groups="",resources=namespaces,verbs=get;list;watch
// +kubebuilder:rbac:groups=whitehall.cloud,resources=tenants;computequotas;testenvironments,verbs=get;list;watch

// Reconcile counts the namespaces the policy selects and the objects there that break it.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	return frame.Reconcile(ctx, req, &whv1.DepartmentPolicy{}, frame.Kind[*whv1.DepartmentPolicy]{
		Client:        r.Client,
		Intervals:     r.Intervals,
		NoProgressing: true,
		Reconcile:     r.reconcile,
		Forget:        forgetPolicyMetrics,
		Published:     r.publish,
	})
}

// publish publishes what the last reconcile of p counted; a policy that counts nothing
// (an invalid selector) has no series. A reconcile that failed before counting leaves
// the series as they were.
func (r *Reconciler) publish(p *whv1.DepartmentPolicy) {
	v, ok := r.counted.LoadAndDelete(p.UID)
	switch violations, _ := v.(map[string]int); {
	case !ok:
	case violations == nil:
		forgetPolicyMetrics(client.ObjectKeyFromObject(p))
	default:
		recordPolicyMetrics(p.Name, violations)
	}
}

func (r *Reconciler) reconcile(ctx context.Context, p *whv1.DepartmentPolicy) (frame.Step, error) {
	if _, err := metav1.LabelSelectorAsSelector(&p.Spec.NamespaceSelector); err != nil {
		r.counted.Store(p.UID, map[string]int(nil))
		return frame.Step{}, frame.NewSpecError(whv1.ReasonInvalidConfiguration, fmt.Sprintf("namespaceSelector: %v", err))
	}
	var namespaces corev1.NamespaceList
	if err := r.List(ctx, &namespaces); err != nil {
		return frame.Step{}, err
	}
	tally := policyTally{violations: map[string]int{}, tenants: map[client.ObjectKey]bool{}}
	selected := int32(0)
	for i := range namespaces.Items {
		if !lookups.Selects(p, &namespaces.Items[i]) {
			continue
		}
		selected++
		if err := r.countViolations(ctx, p, namespaces.Items[i].Name, &tally); err != nil {
			return frame.Step{}, err
		}
	}
	tally.overlaps(p)
	total := int32(0)
	for _, n := range tally.violations {
		total += int32(n)
	}
	// Pointers, so that 0 is written and shown, not left out.
	p.Status.Namespaces, p.Status.Violations = ptr.To(selected), ptr.To(total)
	r.counted.Store(p.UID, tally.violations)
	return frame.Step{Message: fmt.Sprintf("governs %d namespace(s); %d object(s) break it", selected, total)}, nil
}

// policyTally counts what breaks one policy: by kind, and the Tenants (counted once
// the overlaps between their ranges are known) with their ranges.
type policyTally struct {
	violations map[string]int
	tenants    map[client.ObjectKey]bool
	ranges     []policyRange
}

type policyRange struct {
	key    client.ObjectKey
	prefix netip.Prefix
}

// overlaps marks the Tenants whose ranges overlap another governed Tenant's when p has
// a pool (networks.pool: none overlapping), then counts the Tenants.
func (t *policyTally) overlaps(p *whv1.DepartmentPolicy) {
	if p.Spec.Networks != nil && p.Spec.Networks.Pool != "" {
		for i, a := range t.ranges {
			for _, b := range t.ranges[i+1:] {
				if policy.Overlaps(a.prefix, b.prefix) {
					t.tenants[a.key], t.tenants[b.key] = true, true
				}
			}
		}
	}
	t.violations[policyKindTenant] = len(t.tenants)
}

// countViolations adds the objects of one namespace that break p.
func (r *Reconciler) countViolations(ctx context.Context, p *whv1.DepartmentPolicy, namespace string, tally *policyTally) error {
	by := tally.violations
	var tenants whv1.TenantList
	if err := r.List(ctx, &tenants, client.InNamespace(namespace)); err != nil {
		return err
	}
	for i := range tenants.Items {
		t := &tenants.Items[i]
		if len(policy.TenantBreaches(p, t)) > 0 {
			tally.tenants[client.ObjectKeyFromObject(t)] = true
		}
		if prefix, err := netip.ParsePrefix(policy.TenantCIDR(t)); err == nil && t.Spec.Network != nil {
			tally.ranges = append(tally.ranges, policyRange{client.ObjectKeyFromObject(t), prefix})
		}
	}
	var quotas whv1.ComputeQuotaList
	if err := r.List(ctx, &quotas, client.InNamespace(namespace)); err != nil {
		return err
	}
	sums := policy.QuotaSum(p, quotas.Items)
	for i := range quotas.Items {
		if len(policy.QuotaBreaches(p, &quotas.Items[i])) > 0 || len(sums[quotas.Items[i].UID]) > 0 {
			by[policyKindQuota]++
		}
	}
	var envs whv1.TestEnvironmentList
	if err := r.List(ctx, &envs, client.InNamespace(namespace)); err != nil {
		return err
	}
	for i := range envs.Items {
		if len(policy.EnvironmentBreaches(p, &envs.Items[i])) > 0 {
			by[policyKindEnvironment]++
		}
	}
	return nil
}

// SetupWithManager registers the controller: DepartmentPolicies, and every change that
// may change what they govern or what breaks them (policies are few: each enqueues all).
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager) error {
	all := handler.EnqueueRequestsFromMapFunc(r.allPolicies)
	return ctrl.NewControllerManagedBy(mgr).
		For(&whv1.DepartmentPolicy{}, builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Watches(&corev1.Namespace{}, all, builder.WithPredicates(predicate.LabelChangedPredicate{})).
		// A Tenant's allocated network is in its status.
		Watches(&whv1.Tenant{}, all, builder.WithPredicates(lookups.TenantForPolicies())).
		Watches(&whv1.ComputeQuota{}, all, builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Watches(&whv1.TestEnvironment{}, all, builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Named("departmentpolicy").
		Complete(r)
}

func (r *Reconciler) allPolicies(ctx context.Context, _ client.Object) []reconcile.Request {
	return lookups.ListRequests(ctx, r.Client, &whv1.DepartmentPolicyList{})
}
