package envtest

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"
	"github.com/whitehall-cloud/whitehall-operator/internal/openstack"
)

// A pool's blocks are known to Neutron as well as to the Tenants of this cluster: after
// the cluster is lost, the new one knows no Tenant at first.
var _ = Describe("A DepartmentPolicy's pool weighed against Neutron", func() {
	var ns string
	BeforeEach(func() {
		id := rand.String(8)
		n := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "pool-", Labels: map[string]string{departmentLabel: "true", cidrTestLabel: id}}}
		Expect(k8s.Create(ctx, n)).To(Succeed())
		ns = n.Name
		p := &whv1.DepartmentPolicy{
			ObjectMeta: metav1.ObjectMeta{Name: "pool-" + id},
			Spec: whv1.DepartmentPolicySpec{
				NamespaceSelector: metav1.LabelSelector{MatchLabels: map[string]string{cidrTestLabel: id}},
				// A pool of its own: no other spec's network is in it.
				Networks: &whv1.NetworkRules{Pool: "10.141.0.0/16", PrefixLength: ptr.To[int32](24)},
			},
		}
		Expect(k8s.Create(ctx, p)).To(Succeed())
		DeferCleanup(func() { Expect(client.IgnoreNotFound(k8s.Delete(ctx, p))).To(Succeed()) })
	})
	networked := func(name string) *whv1.Tenant {
		return createTenant(ns, name, func(t *whv1.Tenant) { t.Spec.Network = &whv1.TenantNetwork{} })
	}

	It("never gives a block that a network of another project still uses", func() {
		other := cloud.AddProject(openstack.Project{Name: "made-by-hand-" + ns, DomainID: "default", Enabled: true})
		cloud.AddNetworkDirectly(other.ID, "theirs", "10.141.0.0/24")
		got := readyTenantWithin(networked("a"))
		Expect(got.Status.Network.CIDR).To(Equal("10.141.1.0/24"), "the first block is in use in Neutron")
		DeferCleanup(func() { cloud.RemoveNetworkDirectly(other.ID, "theirs") })
	})

	It("gives a Tenant taking its project back the range its network has", func() {
		cloud.SetClusterRecord("lost-"+ns, &openstack.ClusterRecord{RenewedAt: time.Now().Add(-time.Hour)})
		p := cloud.AddProject(openstack.Project{
			Name: ns + "_b", DomainID: "default", Enabled: true,
			Owner: "uid-before", OwnerNamespace: ns, OwnerName: "b", OwnerCluster: "lost-" + ns,
		})
		made, _, err := cloud.EnsureNetworkBundle(ctx, openstack.NetworkBundleSpec{
			ProjectID: p.ID, Name: p.Name, CIDR: "10.141.7.0/24", Owner: "uid-before"}, openstack.NetworkBundle{})
		Expect(err).NotTo(HaveOccurred())
		got := readyTenantWithin(networked("b"))
		Expect(got.Status.ProjectID).To(Equal(p.ID))
		Expect(got.Status.Network.CIDR).To(Equal("10.141.7.0/24"), "its own range, not the first free block")
		Expect(got.Status.Network.NetworkID).To(Equal(made.NetworkID))
		Expect(cloud.SubnetCIDR(p.ID, p.Name)).To(Equal("10.141.7.0/24"))
	})
})
