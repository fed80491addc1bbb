package lookups

import (
	"context"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"

	"k8s.io/apimachinery/pkg/api/meta"

	"k8s.io/apimachinery/pkg/labels"

	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/recorder"

	"github.com/whitehall-cloud/whitehall-operator/controllers/frame"
	"github.com/whitehall-cloud/whitehall-operator/internal/policy"
)

// +kubebuilder:rbac:groups=whitehall.cloud,resources=departmentpolicies,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=namespaces,verbs=get;list;watch

// GoverningPolicies returns the DepartmentPolicies whose namespaceSelector selects the
// namespace, by name. A namespace no policy selects is governed by none. A policy whose
// selector cannot be parsed governs nothing (the API refuses such selectors; this is a
// guard, not a rule).
func GoverningPolicies(ctx context.Context, c client.Reader, namespace string) ([]whv1.DepartmentPolicy, error) {
	var list whv1.DepartmentPolicyList
	if err := c.List(ctx, &list); err != nil {
		return nil, err
	}
	if len(list.Items) == 0 {
		return nil, nil
	}
	ns := &corev1.Namespace{}
	if err := c.Get(ctx, client.ObjectKey{Name: namespace}, ns); err != nil {
		return nil, err
	}
	var out []whv1.DepartmentPolicy
	for _, p := range list.Items {
		if Selects(&p, ns) {
			out = append(out, p)
		}
	}
	slices.SortFunc(out, func(a, b whv1.DepartmentPolicy) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// Selects reports whether the policy governs the namespace.
func Selects(p *whv1.DepartmentPolicy, ns *corev1.Namespace) bool {
	selector, err := metav1.LabelSelectorAsSelector(&p.Spec.NamespaceSelector)
	return err == nil && selector.Matches(labels.Set(ns.Labels))
}

// PolicyChecker evaluates the DepartmentPolicies governing one object's namespace, the
// one path the Tenant, ComputeQuota and TestEnvironment controllers share. An object no
// policy governs has no PolicyViolation condition; one governed has it True (reason
// PolicyViolation, the breaches) or False (WithinPolicy), and a Warning event when a
// breach is new. The caller decides what a breach withholds: never tearing down.
type PolicyChecker struct {
	Reader   client.Reader
	Recorder recorder.EventRecorder
}

// Check returns the breaches of obj (rules gives them for one policy) and records them
// in conditions.
func (pc PolicyChecker) Check(ctx context.Context, obj client.Object, conditions *[]metav1.Condition,
	rules func(*whv1.DepartmentPolicy) []policy.Breach) ([]policy.Breach, error) {
	governing, err := GoverningPolicies(ctx, pc.Reader, obj.GetNamespace())
	if err != nil {
		return nil, err
	}
	if len(governing) == 0 {
		meta.RemoveStatusCondition(conditions, whv1.ConditionPolicyViolation)
		return nil, nil
	}
	var breaches []policy.Breach
	names := make([]string, 0, len(governing))
	for i := range governing {
		breaches = append(breaches, rules(&governing[i])...)
		names = append(names, governing[i].Name)
	}
	cond := metav1.Condition{
		Type: whv1.ConditionPolicyViolation, Status: metav1.ConditionFalse, Reason: whv1.ReasonWithinPolicy,
		Message: "within DepartmentPolicy " + strings.Join(names, ", "), ObservedGeneration: obj.GetGeneration(),
	}
	if len(breaches) > 0 {
		cond.Status, cond.Reason, cond.Message = metav1.ConditionTrue, whv1.ReasonPolicyViolation, frame.BoundedMessage(breachMessage(breaches))
	}
	prev := meta.FindStatusCondition(*conditions, whv1.ConditionPolicyViolation)
	if len(breaches) > 0 && (prev == nil || prev.Status != metav1.ConditionTrue || prev.Message != cond.Message) {
		frame.Notify(ctx, pc.Recorder, obj, corev1.EventTypeWarning, whv1.ReasonPolicyViolation, "CheckPolicy", "%s", cond.Message)
	}
	meta.SetStatusCondition(conditions, cond)
	return breaches, nil
}

// breachMessage is the breaches, each as users see it, joined.
func breachMessage(breaches []policy.Breach) string {
	msgs := make([]string, 0, len(breaches))
	for _, b := range breaches {
		msgs = append(msgs, b.String())
	}
	return strings.Join(msgs, "; ")
}

// PolicyViolation is the error of an object a breach withholds something from: it is
// not Ready, with reason PolicyViolation, and waits for a change to it or to a policy.
func PolicyViolation(breaches []policy.Breach, consequence string) error {
	return frame.NewSpecError(whv1.ReasonPolicyViolation, breachMessage(breaches)+": "+consequence)
}

// GovernedBy returns a map function that enqueues the objects newList lists in the
// namespaces a DepartmentPolicy selects: a policy added, changed or removed re-checks
// them (an update maps both the old and the new policy, so namespaces it no longer
// selects are re-checked too).
func GovernedBy(c client.Reader, newList func() client.ObjectList) handler.MapFunc {
	return func(ctx context.Context, o client.Object) []reconcile.Request {
		p := o.(*whv1.DepartmentPolicy)
		var namespaces corev1.NamespaceList
		if err := c.List(ctx, &namespaces); err != nil {
			ctrl.LoggerFrom(ctx).Error(err, "listing namespaces")
			return nil
		}
		var reqs []reconcile.Request
		for i := range namespaces.Items {
			if Selects(p, &namespaces.Items[i]) {
				reqs = append(reqs, ListRequests(ctx, c, newList(), client.InNamespace(namespaces.Items[i].Name))...)
			}
		}
		return reqs
	}
}

// InNamespace returns a map function that enqueues the objects newList lists in the
// namespace o (a namespace's labels decide which policies govern it).
func InNamespace(c client.Reader, newList func() client.ObjectList) handler.MapFunc {
	return func(ctx context.Context, o client.Object) []reconcile.Request {
		return ListRequests(ctx, c, newList(), client.InNamespace(o.GetName()))
	}
}
