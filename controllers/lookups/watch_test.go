package lookups

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"

	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
)

func readyCondition(status metav1.ConditionStatus) []metav1.Condition {
	return []metav1.Condition{{Type: whv1.ConditionReady, Status: status, Reason: "R", LastTransitionTime: metav1.Now()}}
}

// Each watch passes what its dependents read, and never the usage reader's writes.
func TestWatchesPassWhatDependentsRead(t *testing.T) {
	tenant := &whv1.Tenant{ObjectMeta: metav1.ObjectMeta{Name: "dept", Generation: 1}}
	tenant.Status.ProjectID = "p1"
	tenant.Status.Conditions = readyCondition(metav1.ConditionTrue)
	cloud := &whv1.Cloud{ObjectMeta: metav1.ObjectMeta{Name: "whitehall", Generation: 1}}
	cloud.Status.Conditions = readyCondition(metav1.ConditionTrue)
	quota := &whv1.ComputeQuota{ObjectMeta: metav1.ObjectMeta{Name: "dept", Generation: 1}}

	tenantEdit := func(edit func(*whv1.Tenant)) client.Object {
		t := tenant.DeepCopy()
		edit(t)
		return t
	}
	predicates := map[string]func() predicate.Predicate{
		"tenant→quota": TenantForQuotas, "tenant→environment": TenantForEnvironments, "tenant→policy": TenantForPolicies,
		"cloud→tenant": CloudForTenants, "quota→environment": QuotaForEnvironments,
	}
	for _, tc := range []struct {
		reason   string
		old, new client.Object
		want     map[string]bool // by predicate; those not named are not asked
	}{{
		reason: "the usage reader writes a Tenant's status.usage",
		old:    tenant, new: tenantEdit(func(t *whv1.Tenant) { t.Status.Usage = &whv1.TenantUsage{ReadAt: &metav1.Time{}} }),
		want: map[string]bool{"tenant→quota": false, "tenant→environment": false, "tenant→policy": false},
	}, {
		reason: "a Tenant gets its project",
		old:    tenant, new: tenantEdit(func(t *whv1.Tenant) { t.Status.ProjectID = "p2" }),
		want: map[string]bool{"tenant→quota": true, "tenant→environment": true, "tenant→policy": false},
	}, {
		reason: "a Tenant's network is complete",
		old:    tenant, new: tenantEdit(func(t *whv1.Tenant) { t.Status.Network = &whv1.TenantNetworkStatus{NetworkID: "n"} }),
		want: map[string]bool{"tenant→quota": false, "tenant→environment": true, "tenant→policy": true},
	}, {
		reason: "a Tenant stops being Ready",
		old:    tenant, new: tenantEdit(func(t *whv1.Tenant) { t.Status.Conditions = readyCondition(metav1.ConditionFalse) }),
		want: map[string]bool{"tenant→quota": true, "tenant→environment": true},
	}, {
		reason: "a Tenant's spec changes",
		old:    tenant, new: tenantEdit(func(t *whv1.Tenant) { t.Generation = 2 }),
		want: map[string]bool{"tenant→quota": true, "tenant→environment": true, "tenant→policy": true},
	}, {
		reason: "the usage reader writes the Cloud's status.usage",
		old:    cloud, new: func() client.Object {
			c := cloud.DeepCopy()
			c.Status.Usage = &whv1.CloudUsage{Month: "2026-12"}
			return c
		}(),
		want: map[string]bool{"cloud→tenant": false},
	}, {
		reason: "the Cloud stops being Ready",
		old:    cloud, new: func() client.Object {
			c := cloud.DeepCopy()
			c.Status.Conditions = readyCondition(metav1.ConditionFalse)
			return c
		}(),
		want: map[string]bool{"cloud→tenant": true},
	}, {
		reason: "a ComputeQuota's resync reads the project's usage",
		old:    quota, new: func() client.Object {
			q := quota.DeepCopy()
			q.Status.Usage = whv1.QuotaSet{Compute: &whv1.ComputeLimits{}}
			return q
		}(),
		want: map[string]bool{"quota→environment": false},
	}, {
		reason: "a ComputeQuota raises the limits in force",
		old:    quota, new: func() client.Object {
			q := quota.DeepCopy()
			q.Status.Effective = whv1.QuotaSet{Compute: &whv1.ComputeLimits{}}
			return q
		}(),
		want: map[string]bool{"quota→environment": true},
	}} {
		got := map[string]bool{}
		for name := range tc.want {
			got[name] = predicates[name]().Update(event.UpdateEvent{ObjectOld: tc.old, ObjectNew: tc.new})
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("%s: which watches pass it (-want +got):\n%s", tc.reason, diff)
		}
	}
}
