package chart

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/onsi/gomega"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/whitehall-cloud/whitehall-operator/internal/policy"
)

// departmentPolicyKinds name the ValidatingAdmissionPolicies of
// config/admission/department-policies.yaml: whitehall-department-policy-<kind>.
var departmentPolicyKinds = []string{"tenants", "computequotas", "testenvironments", "testenvironments-scale"}

// departmentRules are the rules refused at admission, each by the policies named.
var departmentRules = map[policy.Rule][]string{
	policy.RuleRequiredLabels: {"tenants"},
	policy.RuleRoles:          {"tenants"},
	policy.RulePool:           {"tenants"},
	policy.RulePrefixLength:   {"tenants"},
	policy.RuleQuotaCeiling:   {"computequotas"},
	policy.RuleFlavors:        {"testenvironments"},
	policy.RuleImages:         {"testenvironments"},
	policy.RuleMaxReplicas:    {"testenvironments", "testenvironments-scale"},
	policy.RuleMaxTTL:         {"testenvironments"},
}

// TestDepartmentPoliciesRender checks the shape of the DepartmentPolicy admission
// policies as rendered: every DepartmentPolicy is their parameter and every one is
// evaluated, a policy governs only the namespaces it selects (one selector expression,
// the same in each), and every rule is refused with a message in the controllers' words.
func TestDepartmentPoliciesRender(t *testing.T) {
	t.Parallel()
	objs := render(t)
	var selected string
	covered := map[policy.Rule][]string{}
	for _, kind := range departmentPolicyKinds {
		name := "whitehall-department-policy-" + kind
		vap := get[admissionregistrationv1.ValidatingAdmissionPolicy](t, objs, "ValidatingAdmissionPolicy", name)
		binding := get[admissionregistrationv1.ValidatingAdmissionPolicyBinding](t, objs, "ValidatingAdmissionPolicyBinding", name)

		if pk := vap.Spec.ParamKind; pk == nil || pk.APIVersion != "whitehall.cloud/v1alpha1" || pk.Kind != "DepartmentPolicy" {
			t.Errorf("%s: paramKind %+v, want whitehall.cloud/v1alpha1 DepartmentPolicy", name, pk)
		}
		if fp := vap.Spec.FailurePolicy; fp == nil || *fp != admissionregistrationv1.Fail {
			t.Errorf("%s: failurePolicy %v, want Fail", name, fp)
		}
		ref := binding.Spec.ParamRef
		if binding.Spec.PolicyName != name || ref == nil || ref.Name != "" || ref.Namespace != "" ||
			ref.Selector == nil || len(ref.Selector.MatchLabels)+len(ref.Selector.MatchExpressions) != 0 ||
			ref.ParameterNotFoundAction == nil || *ref.ParameterNotFoundAction != admissionregistrationv1.AllowAction {
			t.Errorf("%s: binding %s paramRef %+v: want every DepartmentPolicy (selector {}) and Allow without one", name, binding.Spec.PolicyName, ref)
		}
		if !slices.Equal(binding.Spec.ValidationActions, []admissionregistrationv1.ValidationAction{admissionregistrationv1.Deny}) {
			t.Errorf("%s: validationActions %v, want [Deny]", name, binding.Spec.ValidationActions)
		}
		for _, v := range vap.Spec.Variables {
			if v.Name != "selected" {
				continue
			}
			if selected == "" {
				selected = v.Expression
			} else if v.Expression != selected {
				t.Errorf("%s: variable selected differs from the other policies':\n%s\nwant\n%s", name, v.Expression, selected)
			}
		}
		if len(vap.Spec.Validations) == 0 {
			t.Errorf("%s: no validations", name)
		}
		for _, v := range vap.Spec.Validations {
			if !strings.HasPrefix(v.Expression, "!variables.selected || ") {
				t.Errorf("%s: validation %q does not start with !variables.selected ||: it would govern namespaces the policy does not select", name, v.Expression)
			}
			rule, ok := messageRule(v.MessageExpression)
			if !ok {
				t.Errorf("%s: messageExpression %q does not start 'DepartmentPolicy ' + params.metadata.name + ': <rule>: '", name, v.MessageExpression)
				continue
			}
			covered[rule] = append(covered[rule], kind)
			if v.Reason == nil || *v.Reason != "Forbidden" {
				t.Errorf("%s: rule %s: reason %v, want Forbidden", name, rule, v.Reason)
			}
		}
	}
	if selected == "" {
		t.Error("no policy has the variable selected")
	}
	for rule, kinds := range departmentRules {
		if !slices.Equal(covered[rule], kinds) {
			t.Errorf("rule %s is refused by %v, want %v", rule, covered[rule], kinds)
		}
	}
	for rule := range covered {
		if _, ok := departmentRules[rule]; !ok {
			t.Errorf("a message names rule %q, which is not one of internal/policy's", rule)
		}
	}
}

// messageRule returns the rule a messageExpression names in its fixed prefix.
func messageRule(expr string) (policy.Rule, bool) {
	const prefix = "'DepartmentPolicy ' + params.metadata.name + ': "
	rest, ok := strings.CutPrefix(expr, prefix)
	if !ok {
		return "", false
	}
	rule, _, ok := strings.Cut(rest, ": ")
	return policy.Rule(rule), ok && rule != ""
}

// testDepartmentPolicies makes a DepartmentPolicy selecting a namespace of its own and
// asks the installed chart's admission policies (server-side dry runs) to refuse a
// Tenant, a ComputeQuota and a TestEnvironment that break it there, and to let them
// pass once they meet it, or in a namespace it does not select. Run after the chart is
// installed; it deletes its policy when done.
func testDepartmentPolicies(ctx context.Context, t *testing.T, k8s client.Client, tenant *unstructured.Unstructured) {
	const (
		governed   = "dp-chart"
		ungoverned = "dp-chart-other"
		name       = "chart-test"
	)
	g := gomega.NewWithT(t)
	for ns, labels := range map[string]map[string]string{governed: {"chart-test/department-policy": "true"}, ungoverned: nil} {
		if err := k8s.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns, Labels: labels}}); err != nil {
			t.Fatal(err)
		}
	}
	dp := manifest(t, `apiVersion: whitehall.cloud/v1alpha1
kind: DepartmentPolicy
metadata: {name: `+name+`}
spec:
  namespaceSelector: {matchLabels: {chart-test/department-policy: "true"}}
  requiredLabels: [whitehall.cloud/cost-code]
  quotaCeiling: {compute: {cores: 8}}
  environments: {flavors: [m1.tiny], maxReplicas: 2}
`)
	// The CRD was installed a moment ago: served once Established.
	g.Eventually(func() error { return k8s.Create(ctx, dp) }, 20*time.Second, 100*time.Millisecond).Should(gomega.Succeed())
	t.Cleanup(func() { _ = k8s.Delete(context.Background(), dp) })

	in := func(ns string, u *unstructured.Unstructured) *unstructured.Unstructured {
		u = u.DeepCopy()
		u.SetNamespace(ns)
		return u
	}
	labelled := tenant.DeepCopy()
	labelled.SetLabels(map[string]string{"whitehall.cloud/cost-code": "HMRC-001"})
	quota := func(cores int) *unstructured.Unstructured {
		return manifest(t, fmt.Sprintf(`apiVersion: whitehall.cloud/v1alpha1
kind: ComputeQuota
metadata: {name: q}
spec:
  tenantRef: {name: self-assessment}
  baseline: {compute: {cores: %d}}
`, cores))
	}
	environment := func(flavor string) *unstructured.Unstructured {
		return manifest(t, `apiVersion: whitehall.cloud/v1alpha1
kind: TestEnvironment
metadata: {name: e}
spec:
  tenantRef: {name: self-assessment}
  replicas: 2
  template: {flavor: `+flavor+`, image: cirros}
`)
	}
	for _, tc := range []struct {
		obj     *unstructured.Unstructured
		refused string // "" when it passes
	}{
		// The policy is enforced a moment after it is made: the first case waits for it.
		{in(governed, tenant), "DepartmentPolicy chart-test: requiredLabels: label whitehall.cloud/cost-code is missing"},
		{in(governed, labelled), ""},
		{in(ungoverned, tenant), ""},
		{in(governed, quota(9)), "DepartmentPolicy chart-test: quotaCeiling: baseline compute.cores 9 is over the ceiling 8"},
		{in(governed, quota(8)), ""},
		{in(governed, environment("m1.large")), "DepartmentPolicy chart-test: environments.flavors: flavor m1.large is not one of m1.tiny"},
		{in(governed, environment("m1.tiny")), ""},
		{in(ungoverned, environment("m1.large")), ""},
	} {
		what := fmt.Sprintf("%s %s/%s", tc.obj.GetKind(), tc.obj.GetNamespace(), tc.obj.GetName())
		create := func() string {
			if err := k8s.Create(ctx, tc.obj.DeepCopy(), client.DryRunAll); err != nil {
				return err.Error()
			}
			return ""
		}
		if tc.refused != "" {
			g.Eventually(create, 20*time.Second, 100*time.Millisecond).Should(gomega.ContainSubstring(tc.refused), what)
		} else {
			g.Expect(create()).To(gomega.BeEmpty(), what)
		}
	}
}

// manifest parses one object.
func manifest(t *testing.T, yamlText string) *unstructured.Unstructured {
	t.Helper()
	objs, err := parseManifests(yamlText)
	if err != nil || len(objs) != 1 {
		t.Fatalf("want one object (%v):\n%s", err, yamlText)
	}
	return objs[0]
}
