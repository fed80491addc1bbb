package chart

import (
	"slices"
	"strings"
	"testing"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"

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
