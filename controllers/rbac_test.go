package controllers

import (
	"os"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	rbacv1 "k8s.io/api/rbac/v1"
	"sigs.k8s.io/yaml"
)

// TestRBACIsTheMinimum holds the generated ClusterRole to the permissions the
// controllers need, each for a stated reason. A marker that grants more fails here.
func TestRBACIsTheMinimum(t *testing.T) {
	want := map[string]string{ // "group/resource verb" → why
		"/secrets get":                                       "read clouds.yaml, identity stores and user data",
		"/secrets list":                                      "the Secret informer (operator namespace, and Secrets it wrote)",
		"/secrets watch":                                     "a rotated Secret re-reconciles; an edited credential Secret is rewritten",
		"/secrets create":                                    "a project identity's store (operator namespace) and a department's credential Secret",
		"/secrets update":                                    "owner references on a credential Secret",
		"/secrets patch":                                     "a rotated credential, a repaired credential Secret",
		"/secrets delete":                                    "a deleted Tenant's identity store and credential Secret",
		"/namespaces get":                                    "a Cloud's namespaceSelector is matched against the namespace's labels",
		"/namespaces list":                                   "the Namespace informer",
		"/namespaces watch":                                  "a namespace labelled later is admitted at once",
		"whitehall.cloud/clouds get":                         "reconcile, and resolve a Tenant's cloud",
		"whitehall.cloud/clouds list":                        "informer",
		"whitehall.cloud/clouds watch":                       "informer",
		"whitehall.cloud/clouds update":                      "the finalizer held while Tenants use the Cloud",
		"whitehall.cloud/clouds patch":                       "the finalizer held while Tenants use the Cloud",
		"whitehall.cloud/clouds/finalizers update":           "finalizers under OwnerReferencesPermissionEnforcement",
		"whitehall.cloud/clouds/status get":                  "status",
		"whitehall.cloud/clouds/status update":               "status",
		"whitehall.cloud/clouds/status patch":                "status",
		"events.k8s.io/events create":                        "events a person cares about",
		"events.k8s.io/events patch":                         "event series",
		"whitehall.cloud/tenants get":                        "reconcile",
		"whitehall.cloud/tenants list":                       "informer, and dependants",
		"whitehall.cloud/tenants watch":                      "informer",
		"whitehall.cloud/tenants update":                     "the finalizer",
		"whitehall.cloud/tenants patch":                      "the finalizer",
		"whitehall.cloud/tenants/status get":                 "status",
		"whitehall.cloud/tenants/status update":              "status",
		"whitehall.cloud/tenants/status patch":               "status",
		"whitehall.cloud/tenants/finalizers update":          "owner references and finalizers under OwnerReferencesPermissionEnforcement",
		"whitehall.cloud/computequotas get":                  "reconcile",
		"whitehall.cloud/computequotas list":                 "informer, committed peak quota",
		"whitehall.cloud/computequotas watch":                "informer",
		"whitehall.cloud/computequotas update":               "the finalizer that returns the project to its baseline",
		"whitehall.cloud/computequotas patch":                "the finalizer that returns the project to its baseline",
		"whitehall.cloud/computequotas/finalizers update":    "finalizers under OwnerReferencesPermissionEnforcement",
		"whitehall.cloud/computequotas/status get":           "status",
		"whitehall.cloud/computequotas/status update":        "status",
		"whitehall.cloud/computequotas/status patch":         "status",
		"whitehall.cloud/departmentpolicies get":             "reconcile, and the policies governing a namespace",
		"whitehall.cloud/departmentpolicies list":            "informer",
		"whitehall.cloud/departmentpolicies watch":           "a changed policy re-checks the objects it governs",
		"whitehall.cloud/departmentpolicies/status get":      "status",
		"whitehall.cloud/departmentpolicies/status update":   "status",
		"whitehall.cloud/departmentpolicies/status patch":    "status",
		"whitehall.cloud/peakseasons get":                    "reconcile",
		"whitehall.cloud/peakseasons list":                   "informer",
		"whitehall.cloud/peakseasons watch":                  "informer",
		"whitehall.cloud/usagereports create":                "the usage reader writes a month's statement once",
		"whitehall.cloud/usagereports get":                   "a statement already written stands (read through the cache)",
		"whitehall.cloud/usagereports list":                  "the cache",
		"whitehall.cloud/usagereports watch":                 "the cache",
		"whitehall.cloud/peakseasons/status get":             "status",
		"whitehall.cloud/peakseasons/status update":          "status",
		"whitehall.cloud/peakseasons/status patch":           "status",
		"whitehall.cloud/testenvironments get":               "reconcile",
		"whitehall.cloud/testenvironments list":              "informer",
		"whitehall.cloud/testenvironments watch":             "informer",
		"whitehall.cloud/testenvironments update":            "the finalizer",
		"whitehall.cloud/testenvironments patch":             "the finalizer",
		"whitehall.cloud/testenvironments delete":            "the TTL, and a deleted Tenant's environments",
		"whitehall.cloud/testenvironments/status get":        "status",
		"whitehall.cloud/testenvironments/status update":     "status",
		"whitehall.cloud/testenvironments/status patch":      "status",
		"whitehall.cloud/testenvironments/finalizers update": "finalizers under OwnerReferencesPermissionEnforcement",
		"authentication.k8s.io/tokenreviews create":          "the metrics endpoint authenticates a scraper's token",
		"authorization.k8s.io/subjectaccessreviews create":   "the metrics endpoint authorizes a scraper for GET /metrics",
	}

	data, err := os.ReadFile("../config/rbac/role.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var role rbacv1.ClusterRole
	if err := yaml.Unmarshal(data, &role); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, rule := range role.Rules {
		for _, g := range rule.APIGroups {
			for _, r := range rule.Resources {
				for _, v := range rule.Verbs {
					if g == "*" || r == "*" || v == "*" {
						t.Errorf("wildcard in rule %+v", rule)
					}
					got = append(got, g+"/"+r+" "+v)
				}
			}
		}
	}
	var wanted []string
	for k := range want {
		wanted = append(wanted, k)
	}
	slices.Sort(got)
	slices.Sort(wanted)
	if diff := cmp.Diff(wanted, got); diff != "" {
		t.Errorf("the ClusterRole differs from the minimum (-want +got):\n%s", diff)
	}

}
