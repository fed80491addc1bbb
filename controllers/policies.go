package controllers

import (
	"context"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/controller-runtime/pkg/client"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"
)

// +kubebuilder:rbac:groups=whitehall.cloud,resources=departmentpolicies,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=namespaces,verbs=get;list;watch

// governingPolicies returns the DepartmentPolicies whose namespaceSelector selects the
// namespace, by name. A namespace no policy selects is governed by none. A policy whose
// selector cannot be parsed governs nothing (the API refuses such selectors; this is a
// guard, not a rule).
func governingPolicies(ctx context.Context, c client.Reader, namespace string) ([]whv1.DepartmentPolicy, error) {
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
		if selects(&p, ns) {
			out = append(out, p)
		}
	}
	slices.SortFunc(out, func(a, b whv1.DepartmentPolicy) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// selects reports whether the policy governs the namespace.
func selects(p *whv1.DepartmentPolicy, ns *corev1.Namespace) bool {
	selector, err := metav1.LabelSelectorAsSelector(&p.Spec.NamespaceSelector)
	return err == nil && selector.Matches(labels.Set(ns.Labels))
}
