package plugin

import (
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"
)

func condition(condType string, status metav1.ConditionStatus, reason, message string) metav1.Condition {
	return metav1.Condition{Type: condType, Status: status, Reason: reason, Message: message}
}

func ready(reason, message string) metav1.Condition {
	return condition(whv1.ConditionReady, metav1.ConditionTrue, reason, message)
}

func notReady(reason, message string) metav1.Condition {
	return condition(whv1.ConditionReady, metav1.ConditionFalse, reason, message)
}

func objectMeta(ns, name string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Namespace: ns, Name: name}
}

// healthyTenant is a Tenant with every part: people, network, credential, a policy.
func healthyTenant() *whv1.Tenant {
	expires := metav1.NewTime(time.Date(2027, 3, 1, 9, 0, 0, 0, time.UTC))
	rotates := metav1.NewTime(time.Date(2027, 1, 30, 9, 0, 0, 0, time.UTC))
	return &whv1.Tenant{
		ObjectMeta: objectMeta("dwp", "benefits"),
		Spec: whv1.TenantSpec{
			CloudRef: &whv1.CloudReference{Name: "whitehall"},
			RoleAssignments: []whv1.RoleAssignment{
				{Group: ptr.To("dwp-devops"), Roles: []string{"member", "reader"}},
				{User: ptr.To("alice"), UserDomain: ptr.To("staff"), Roles: []string{"reader"}},
			},
			Network:               &whv1.TenantNetwork{ExternalNetwork: ptr.To("public")},
			ApplicationCredential: &whv1.ApplicationCredentialSpec{SecretName: "benefits-cloud"},
		},
		Status: whv1.TenantStatus{
			ProjectID: "p-dwp", ProjectName: "dwp_benefits", ServiceUserID: "svc",
			// The operator's own service user is granted its role too: not one of the people.
			RoleAssignments: []whv1.AppliedRoleAssignment{{GroupID: "g1", RoleIDs: []string{"r1", "r2"}}, {UserID: "u1", RoleIDs: []string{"r2"}},
				{UserID: "svc", RoleIDs: []string{"r2"}}},
			Network: &whv1.TenantNetworkStatus{CIDR: "10.20.0.0/24", NetworkID: "n1", SubnetID: "s1", RouterID: "r1"},
			ApplicationCredential: &whv1.ApplicationCredentialStatus{
				ID: "ac1", ExpiresAt: &expires, RotateAt: &rotates,
			},
			Conditions: []metav1.Condition{
				ready(whv1.ReasonReady, "project, people, network and credential match the spec"),
				condition(whv1.ConditionPolicyViolation, metav1.ConditionFalse, whv1.ReasonWithinPolicy, "every policy holds"),
			},
		},
	}
}

// healthyQuota is a ComputeQuota of healthyTenant in its peak, one field over usage.
func healthyQuota() whv1.ComputeQuota {
	return whv1.ComputeQuota{
		ObjectMeta: objectMeta("dwp", "benefits"),
		Spec:       whv1.ComputeQuotaSpec{TenantRef: whv1.LocalObjectReference{Name: "benefits"}},
		Status: whv1.ComputeQuotaStatus{
			ActiveSeasons: []string{"self-assessment"},
			Effective: whv1.QuotaSet{
				Compute:      &whv1.ComputeLimits{Cores: ptr.To[int64](40), RAMMiB: ptr.To[int64](81920)},
				BlockStorage: &whv1.BlockStorageLimits{Gigabytes: ptr.To[int64](-1)},
			},
			Usage: whv1.QuotaSet{
				Compute: &whv1.ComputeLimits{Cores: ptr.To[int64](12), RAMMiB: ptr.To[int64](90000)},
			},
			Conditions: []metav1.Condition{ready(whv1.ReasonReady, "")},
		},
	}
}

// plainTenant is a Ready Tenant with a project and nothing else.
func plainTenant(ns, name string) *whv1.Tenant {
	return &whv1.Tenant{
		ObjectMeta: objectMeta(ns, name),
		Spec:       whv1.TenantSpec{CloudCredentialsRef: &whv1.CloudCredentialsReference{SecretName: "clouds", CloudName: "dev"}},
		Status: whv1.TenantStatus{
			ProjectID: "p-" + ns, ProjectName: ns + "_" + name,
			Conditions: []metav1.Condition{ready(whv1.ReasonReady, "")},
		},
	}
}

// failingTenant's project name belongs to another Tenant.
func failingTenant() *whv1.Tenant {
	return &whv1.Tenant{
		ObjectMeta: objectMeta("hmrc", "tax"),
		Spec:       whv1.TenantSpec{CloudRef: &whv1.CloudReference{Name: "whitehall"}},
		Status: whv1.TenantStatus{Conditions: []metav1.Condition{
			notReady(whv1.ReasonAlreadyOwned, `project name "hmrc_tax" in domain default belongs to another Tenant`),
		}},
	}
}

func environment(ns, name, tenant string, readyReplicas, desired int32, c metav1.Condition) whv1.TestEnvironment {
	return whv1.TestEnvironment{
		ObjectMeta: objectMeta(ns, name),
		Spec:       whv1.TestEnvironmentSpec{TenantRef: whv1.LocalObjectReference{Name: tenant}},
		Status:     whv1.TestEnvironmentStatus{ReadyReplicas: readyReplicas, DesiredReplicas: desired, Conditions: []metav1.Condition{c}},
	}
}
