package e2e

import (
	"fmt"
	"os"
	"slices"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"
)

// The central cluster is lost (control plane and etcd gone) and a new one gets the same
// manifests, as GitOps re-applies them. Every department comes back without a person
// touching OpenStack: the same project, servers and network, a new credential and the
// old one gone, nothing booted twice, nothing left behind.
var _ = Describe("rebuild: the cluster is lost and the same manifests are applied to a new one", Ordered, func() {
	const (
		ns     = "e2e-rebuild"
		tenant = "sa"
	)
	manifests := tenantYAML(ns, tenant, "network: {cidr: 10.93.0.0/24}\n  applicationCredential: {secretName: openstack, roles: [member]}") +
		fmt.Sprintf(`---
apiVersion: whitehall.cloud/v1alpha1
kind: ComputeQuota
metadata: {name: %[1]s, namespace: %[2]s}
spec:
  tenantRef: {name: %[1]s}
  baseline: {compute: {instances: 4, cores: 4, ramMiB: 4096}}
---
apiVersion: whitehall.cloud/v1alpha1
kind: TestEnvironment
metadata: {name: web, namespace: %[2]s}
spec:
  tenantRef: {name: %[1]s}
  replicas: 2
  template: {flavor: m1.tiny, image: cirros}
`, tenant, ns)
	waitReady := func(timeout string) {
		kubectl("-n", ns, "wait", "--for=condition=Ready", "tenant/"+tenant, "computequota/"+tenant, "testenvironment/web", "--timeout="+timeout)
	}
	credentialOf := func(g Gomega) isoAppCred {
		s := &corev1.Secret{}
		g.Expect(k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: "openstack"}, s)).To(Succeed())
		return isoReadAppCred(g, s.Data["clouds.yaml"])
	}
	serverIDs := func(projectID string) []string {
		list, err := admin.ProjectServers(ctx, projectID)
		Expect(err).NotTo(HaveOccurred())
		var ids []string
		for _, s := range list {
			ids = append(ids, s.Name+"="+s.ID)
		}
		slices.Sort(ids)
		return ids
	}

	var (
		before  *whv1.Tenant
		servers []string
		network []string
		oldCred isoAppCred
		authURL string
	)

	BeforeAll(func() {
		Expect(deleteLeftoverProjects(ctx, ns+"_"+tenant)).To(Succeed())
		departmentNamespace(ns)
		DeferCleanup(func() { _, _ = tryKubectl("delete", "namespace", ns, "--ignore-not-found", "--timeout=300s") })
		apply(manifests)
		waitReady("300s")
		before = isoTenant(ns, tenant)
		Eventually(func() []string { return serverIDs(before.Status.ProjectID) }).Should(HaveLen(2))
		servers = serverIDs(before.Status.ProjectID)
		var err error
		network, err = admin.NetworkResources(ctx, before.Status.ProjectID)
		Expect(err).NotTo(HaveOccurred())
		oldCred = credentialOf(Default)
		cloud := &whv1.Cloud{}
		Expect(k8s.Get(ctx, client.ObjectKey{Name: "whitehall"}, cloud)).To(Succeed())
		authURL = cloud.Status.AuthURL
	})

	It("brings the department back: same project, servers and network, a new credential, nothing twice, nothing left", func() {
		By("losing the cluster: the operator dies and the control plane goes with its etcd")
		stopManager(os.Kill)
		Expect(cp.Stop()).To(Succeed())
		lost := time.Now()

		By("a new cluster, the same manifests")
		installCluster()
		departmentNamespace(ns)
		apply(manifests)
		startManager()
		waitReady("300s")
		AddReportEntry("every object Ready again after the rebuild", time.Since(lost).Round(time.Second).String())

		after := isoTenant(ns, tenant)
		Expect(after.UID).NotTo(Equal(before.UID), "a new cluster, a new Tenant")
		Expect(after.Status.ProjectID).To(Equal(before.Status.ProjectID), "the same project, taken back")
		Expect(after.Status.Network.NetworkID).To(Equal(before.Status.Network.NetworkID), "the same network")
		Expect(after.Status.ServiceUserID).To(Equal(before.Status.ServiceUserID), "the same service user, found again")
		Expect(isoProject(Default, after.Status.ProjectID).Owner[0]).To(Equal(string(after.UID)))
		Consistently(func() []string { return serverIDs(after.Status.ProjectID) }, 3*resyncPeriod).Should(Equal(servers),
			"the same servers, none booted twice")
		left, err := admin.NetworkResources(ctx, after.Status.ProjectID)
		Expect(err).NotTo(HaveOccurred())
		Expect(left).To(ConsistOf(network), "no network piece made twice or left behind")

		By("a new credential that works, and the old one gone")
		cred := credentialOf(Default)
		Expect(cred.ID).NotTo(Equal(oldCred.ID))
		Expect(admin.ApplicationCredentialWorks(ctx, authURL, cred.ID, cred.Secret)).To(Succeed())
		Eventually(func() error { return admin.ApplicationCredentialWorks(ctx, authURL, oldCred.ID, oldCred.Secret) }).
			ShouldNot(Succeed(), "the credential of the lost cluster is removed")
	})

	It("leaves nothing in OpenStack when the department is deleted from the new cluster", func() {
		projectID := isoTenant(ns, tenant).Status.ProjectID
		kubectl("delete", "namespace", ns, "--timeout=300s")
		Eventually(func() ([]string, error) {
			id, err := admin.FindProject(ctx, ns+"_"+tenant)
			if id == "" || err != nil {
				return nil, err
			}
			return []string{id}, nil
		}).WithTimeout(3 * time.Minute).Should(BeEmpty())
		list, err := admin.ProjectServers(ctx, projectID)
		Expect(err).NotTo(HaveOccurred())
		Expect(list).To(BeEmpty())
	})
})
