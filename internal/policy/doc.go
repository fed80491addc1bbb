// Package policy evaluates DepartmentPolicies: which rules an object breaks, and where a
// Tenant's network goes in a policy's address pool. It is pure: it reads no cluster and
// no cloud, so the controllers (before any write to OpenStack), the DepartmentPolicy's
// status and the tests all get one answer.
//
// The same single-object rules are refused at admission by the ValidatingAdmissionPolicies
// in config/admission; this package is what holds for objects that existed before a
// policy, and for the rules admission cannot see (sums and overlaps across objects).
package policy

import "fmt"

// Rule names a DepartmentPolicy rule by its field path in the spec.
type Rule string

// The rules, by the spec field that sets them.
const (
	RuleRequiredLabels Rule = "requiredLabels"
	RuleRoles          Rule = "roles"
	RuleQuotaCeiling   Rule = "quotaCeiling"
	RuleFlavors        Rule = "environments.flavors"
	RuleImages         Rule = "environments.images"
	RuleMaxReplicas    Rule = "environments.maxReplicas"
	RuleMaxTTL         Rule = "environments.maxTTL"
	RulePool           Rule = "networks.pool"
	RulePrefixLength   Rule = "networks.prefixLength"
)

// Breach is one rule of one policy that an object breaks.
type Breach struct {
	// Policy is the DepartmentPolicy's name.
	Policy string
	Rule   Rule
	// Detail says what breaks it, for a person: "label whitehall.cloud/cost-code is missing".
	Detail string
}

// String is the message users see, in conditions and events, and (in the same words)
// from admission: "DepartmentPolicy <name>: <rule>: <detail>".
func (b Breach) String() string {
	return fmt.Sprintf("DepartmentPolicy %s: %s: %s", b.Policy, b.Rule, b.Detail)
}
