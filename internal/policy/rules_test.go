package policy

import (
	"slices"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"
)

func messages(bs []Breach) []string {
	out := make([]string, 0, len(bs))
	for _, b := range bs {
		out = append(out, b.String())
	}
	return out
}

func expectMessages(t *testing.T, got []Breach, want ...string) {
	t.Helper()
	if g := messages(got); !slices.Equal(g, want) {
		t.Errorf("breaches:\n got %q\nwant %q", g, want)
	}
}

func TestTenantBreaches(t *testing.T) {
	p := &whv1.DepartmentPolicy{ObjectMeta: metav1.ObjectMeta{Name: "central"}, Spec: whv1.DepartmentPolicySpec{
		RequiredLabels: []string{"whitehall.cloud/cost-code", "whitehall.cloud/owner"},
		Roles:          []string{"member", "reader"},
		Networks:       &whv1.NetworkRules{Pool: "10.128.0.0/12"},
	}}
	good := &whv1.Tenant{
		ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"whitehall.cloud/cost-code": "CC1", "whitehall.cloud/owner": "ann"}},
		Spec: whv1.TenantSpec{
			RoleAssignments:       []whv1.RoleAssignment{{Group: ptr.To("g"), Roles: []string{"member"}}},
			ApplicationCredential: &whv1.ApplicationCredentialSpec{SecretName: "s", Roles: []string{"reader"}},
			Network:               &whv1.TenantNetwork{CIDR: "10.130.4.0/24"},
		},
	}
	expectMessages(t, TenantBreaches(p, good))

	bad := good.DeepCopy()
	bad.Labels["whitehall.cloud/owner"] = ""
	delete(bad.Labels, "whitehall.cloud/cost-code")
	bad.Spec.RoleAssignments = append(bad.Spec.RoleAssignments, whv1.RoleAssignment{User: ptr.To("u"), Roles: []string{"admin", "member"}})
	bad.Spec.ApplicationCredential.Roles = []string{"admin", "load-balancer_member"}
	bad.Spec.Network.CIDR = "10.0.0.0/24"
	expectMessages(t, TenantBreaches(p, bad),
		"DepartmentPolicy central: requiredLabels: label whitehall.cloud/cost-code is missing",
		"DepartmentPolicy central: requiredLabels: label whitehall.cloud/owner is empty",
		"DepartmentPolicy central: roles: role admin is not one of member, reader",
		"DepartmentPolicy central: roles: role load-balancer_member is not one of member, reader",
		"DepartmentPolicy central: networks.pool: cidr 10.0.0.0/24 is not inside the pool 10.128.0.0/12",
	)

	// The allocated range counts when the spec names none; a range larger than the pool
	// is not inside it.
	allocated := good.DeepCopy()
	allocated.Spec.Network.CIDR = ""
	allocated.Status.Network = &whv1.TenantNetworkStatus{CIDR: "10.0.0.0/8"}
	expectMessages(t, TenantBreaches(p, allocated),
		"DepartmentPolicy central: networks.pool: cidr 10.0.0.0/8 is not inside the pool 10.128.0.0/12")
	allocated.Status.Network.CIDR = "10.143.255.0/24"
	expectMessages(t, TenantBreaches(p, allocated))
	allocated.Status.Network.CIDR = "fd00::/64"
	expectMessages(t, TenantBreaches(p, allocated),
		"DepartmentPolicy central: networks.pool: cidr fd00::/64 is not inside the pool 10.128.0.0/12")

	// A range the Tenant names itself is no larger than the pool's blocks (/24 by
	// default); an allocated one always is.
	wide := good.DeepCopy()
	wide.Spec.Network.CIDR = "10.128.0.0/20"
	expectMessages(t, TenantBreaches(p, wide),
		"DepartmentPolicy central: networks.prefixLength: cidr 10.128.0.0/20 is larger than the /24 blocks of the pool")
	p20 := p.DeepCopy()
	p20.Spec.Networks.PrefixLength = ptr.To[int32](20)
	expectMessages(t, TenantBreaches(p20, wide))

	// A policy with no rules holds for any Tenant.
	expectMessages(t, TenantBreaches(&whv1.DepartmentPolicy{ObjectMeta: metav1.ObjectMeta{Name: "empty"}}, bad))
}

func TestEnvironmentBreaches(t *testing.T) {
	p := &whv1.DepartmentPolicy{ObjectMeta: metav1.ObjectMeta{Name: "central"}, Spec: whv1.DepartmentPolicySpec{
		Environments: &whv1.EnvironmentRules{
			Flavors: []string{"m1.tiny", "m1.small"}, Images: []string{"cirros"},
			MaxReplicas: ptr.To[int32](5), MaxTTL: &metav1.Duration{Duration: 336 * time.Hour},
		},
	}}
	good := &whv1.TestEnvironment{Spec: whv1.TestEnvironmentSpec{
		Replicas: ptr.To[int32](5),
		Template: whv1.ServerTemplate{Flavor: "m1.small", Image: "cirros"},
		Peaks:    []whv1.ReplicaPeak{{Season: "winter", Replicas: 5}},
		TTL:      &metav1.Duration{Duration: 336 * time.Hour},
	}}
	expectMessages(t, EnvironmentBreaches(p, good))

	bad := good.DeepCopy()
	bad.Spec.Replicas = ptr.To[int32](6)
	bad.Spec.Template = whv1.ServerTemplate{Flavor: "m1.large", Image: "ubuntu"}
	bad.Spec.Peaks = append(bad.Spec.Peaks, whv1.ReplicaPeak{Season: "budget", Replicas: 50})
	bad.Spec.TTL = &metav1.Duration{Duration: 400 * time.Hour}
	expectMessages(t, EnvironmentBreaches(p, bad),
		"DepartmentPolicy central: environments.flavors: flavor m1.large is not one of m1.tiny, m1.small",
		"DepartmentPolicy central: environments.images: image ubuntu is not one of cirros",
		"DepartmentPolicy central: environments.maxReplicas: replicas 6 is over the maximum 5",
		"DepartmentPolicy central: environments.maxReplicas: peak budget replicas 50 is over the maximum 5",
		"DepartmentPolicy central: environments.maxTTL: ttl 400h0m0s is longer than 336h0m0s",
	)
	bad.Spec.TTL = nil
	expectMessages(t, EnvironmentBreaches(p, bad)[4:],
		"DepartmentPolicy central: environments.maxTTL: a ttl is required, at most 336h0m0s")
}

func computeQuota(name string, created int, baseline whv1.QuotaSet, peaks ...whv1.QuotaPeak) whv1.ComputeQuota {
	return whv1.ComputeQuota{
		ObjectMeta: metav1.ObjectMeta{
			Name: name, Namespace: "dept", UID: types.UID(name),
			CreationTimestamp: metav1.NewTime(time.Date(2026, 1, 1, 0, 0, created, 0, time.UTC)),
		},
		Spec: whv1.ComputeQuotaSpec{TenantRef: whv1.LocalObjectReference{Name: "t-" + name}, Baseline: baseline, Peaks: peaks},
	}
}

func cores(n int64) whv1.QuotaSet {
	return whv1.QuotaSet{Compute: &whv1.ComputeLimits{Cores: ptr.To(n)}}
}

func TestQuotaBreaches(t *testing.T) {
	p := &whv1.DepartmentPolicy{ObjectMeta: metav1.ObjectMeta{Name: "central"}, Spec: whv1.DepartmentPolicySpec{
		QuotaCeiling: &whv1.QuotaSet{
			Compute:      &whv1.ComputeLimits{Cores: ptr.To[int64](100)},
			BlockStorage: &whv1.BlockStorageLimits{Gigabytes: ptr.To[int64](1000)},
		},
	}}
	good := computeQuota("a", 0, whv1.QuotaSet{
		Compute: &whv1.ComputeLimits{Cores: ptr.To[int64](100), Instances: ptr.To[int64](-1)}, // instances unbounded
	}, whv1.QuotaPeak{Season: "winter", QuotaSet: cores(80)})
	expectMessages(t, QuotaBreaches(p, &good))

	bad := computeQuota("b", 0, whv1.QuotaSet{
		Compute:      &whv1.ComputeLimits{Cores: ptr.To[int64](-1)},
		BlockStorage: &whv1.BlockStorageLimits{Gigabytes: ptr.To[int64](1001)},
	}, whv1.QuotaPeak{Season: "winter", QuotaSet: cores(101)})
	expectMessages(t, QuotaBreaches(p, &bad),
		"DepartmentPolicy central: quotaCeiling: baseline blockStorage.gigabytes 1001 is over the ceiling 1000",
		"DepartmentPolicy central: quotaCeiling: baseline compute.cores -1 (unlimited) is over the ceiling 100",
		"DepartmentPolicy central: quotaCeiling: peak winter compute.cores 101 is over the ceiling 100",
	)
	expectMessages(t, QuotaBreaches(&whv1.DepartmentPolicy{}, &bad))

	// A ceiling of -1 bounds nothing, alone or summed.
	open := &whv1.DepartmentPolicy{Spec: whv1.DepartmentPolicySpec{QuotaCeiling: &whv1.QuotaSet{Compute: &whv1.ComputeLimits{Cores: ptr.To[int64](-1)}}}}
	expectMessages(t, QuotaBreaches(open, &bad))
	if got := QuotaSum(open, []whv1.ComputeQuota{good, bad}); len(got) != 0 {
		t.Errorf("an unlimited ceiling: got %v", got)
	}
}

func TestQuotaSum(t *testing.T) {
	p := &whv1.DepartmentPolicy{ObjectMeta: metav1.ObjectMeta{Name: "central"}, Spec: whv1.DepartmentPolicySpec{
		QuotaCeiling: &whv1.QuotaSet{Compute: &whv1.ComputeLimits{Cores: ptr.To[int64](100)}},
	}}
	// Listed out of order: the sum follows creation order.
	e := computeQuota("e", 5, cores(5))
	f := computeQuota("f", 6, cores(-1)) // over alone: QuotaBreaches says so, not the sum
	d := computeQuota("d", 4, cores(11))
	c := computeQuota("c", 3, whv1.QuotaSet{Network: &whv1.NetworkLimits{Ports: ptr.To[int64](500)}}) // no cores: fine
	b := computeQuota("b", 2, cores(20), whv1.QuotaPeak{Season: "winter", QuotaSet: cores(50)})       // counts its peak
	a := computeQuota("a", 1, cores(40))
	// A second ComputeQuota for a's Tenant writes nothing, so it does not count.
	dup := computeQuota("a-dup", 0, cores(1000))
	dup.Spec.TenantRef.Name = "t-a"
	dup.CreationTimestamp = metav1.NewTime(a.CreationTimestamp.Add(time.Hour))
	// One being deleted does not count either.
	gone := computeQuota("gone", 0, cores(1000))
	gone.DeletionTimestamp = ptr.To(metav1.Now())
	// Nor one in another namespace.
	other := computeQuota("other", 0, cores(99))
	other.Namespace = "elsewhere"

	got := QuotaSum(p, []whv1.ComputeQuota{f, e, d, c, dup, b, gone, other, a})
	if len(got) != 2 {
		t.Fatalf("breaching quotas: got %v, want d and e", got)
	}
	expectMessages(t, got["d"],
		"DepartmentPolicy central: quotaCeiling: compute.cores 11 with ComputeQuotas \"a\" (40), \"b\" (50) sums to 101 in the namespace, over the ceiling 100")
	expectMessages(t, got["e"],
		"DepartmentPolicy central: quotaCeiling: compute.cores 5 with ComputeQuotas \"a\" (40), \"b\" (50), \"d\" (11) sums to 106 in the namespace, over the ceiling 100")

	// Within the ceiling, nothing breaches.
	if got := QuotaSum(p, []whv1.ComputeQuota{a, b, c}); len(got) != 0 {
		t.Errorf("within the ceiling: got %v", got)
	}
}
