package e2e

import (
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"
	"github.com/whitehall-cloud/whitehall-operator/test/cloudtest"
)

// The noisy department's attacks inside OpenStack, made with the credential the
// operator gave it.

// department logs in as the noisy department, with the application credential the
// operator wrote into its namespace.
func (s *nbState) department(g Gomega) *cloudtest.Department {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.dept != nil {
		return s.dept
	}
	secret := &corev1.Secret{}
	g.Expect(k8s.Get(ctx, client.ObjectKey{Namespace: nbNoisy, Name: "openstack"}, secret)).To(Succeed())
	cred := isoReadAppCred(g, secret.Data["clouds.yaml"])
	dept, err := admin.AsApplicationCredential(ctx, cred.AuthURL, cred.ID, cred.Secret)
	g.Expect(err).NotTo(HaveOccurred())
	s.dept = dept
	return dept
}

// attackPublicNetworks: the noisy department makes networks named public in its own
// project until one's ID sorts before the real external network's. Then the calm
// department's new Tenant with externalNetwork: public gets its gateway on the real
// external network, and its credential.
func (s *nbState) attackPublicNetworks(g Gomega, t *nbTask) {
	external, err := admin.ExternalNetworks(ctx, "public")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(external).To(HaveLen(1), "the dev cloud has one external network named public")
	dept := s.department(g)
	made, first := 0, ""
	for ; made < 30 && (first == "" || first > external[0]); made++ {
		id, err := dept.CreateNetwork(ctx, "public")
		g.Expect(err).NotTo(HaveOccurred(), "the department makes a network in its own project")
		s.mu.Lock()
		s.networks = append(s.networks, id)
		s.mu.Unlock()
		if first == "" || id < first {
			first = id
		}
	}
	t.note("%d networks named public made in the noisy project; lowest ID %s, the external network's %s", made, first, external[0])

	start := time.Now()
	out, err := nbTryApply(s.dir, tenantYAML(nbCalm, "late", "network: {cidr: 10.94.0.0/24, externalNetwork: public}\n  applicationCredential: {secretName: late-openstack}"))
	g.Expect(err).NotTo(HaveOccurred(), out)
	g.Eventually(nbReady(nbCalm, "late")).WithTimeout(3*time.Minute).Should(HaveField("Status", metav1.ConditionTrue),
		"the calm department's new Tenant with externalNetwork: public is not Ready")
	late := nbTenantStatus(g, nbCalm, "late")
	g.Expect(late.Status.Network).NotTo(BeNil())
	router, err := admin.GetRouter(ctx, late.Status.Network.RouterID)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(router).NotTo(BeNil())
	g.Expect(router.GatewayNetworkID).To(Equal(external[0]), "the router's gateway is on the real external network")
	g.Expect(k8s.Get(ctx, client.ObjectKey{Namespace: nbCalm, Name: "late-openstack"}, &corev1.Secret{})).To(Succeed(), "the new Tenant got its credential")
	t.note("the calm department's new Tenant Ready, gateway on %s, in %s", external[0], time.Since(start).Round(100*time.Millisecond))
}

// noisyServers returns ID → status of the servers in the noisy department's project.
func (s *nbState) noisyServers(g Gomega) map[string]string {
	list, err := admin.ProjectServers(ctx, s.noisyProject)
	g.Expect(err).NotTo(HaveOccurred())
	out := map[string]string{}
	for _, srv := range list {
		out[srv.ID] = srv.Status
	}
	return out
}

// attackStoppedServers: the noisy department stops its 3 servers itself (SHUTOFF). The
// operator leaves them as they are (same servers, still SHUTOFF) and does not count them
// as still building.
func (s *nbState) attackStoppedServers(g Gomega, t *nbTask) {
	dept := s.department(g)
	running := s.noisyServers(g)
	g.Expect(running).To(And(HaveLen(3), HaveEach("ACTIVE")))
	for id := range running {
		g.Expect(dept.StopServer(ctx, id)).To(Succeed(), "the department stops its own server")
	}
	g.Eventually(s.noisyServers).WithTimeout(2 * time.Minute).Should(And(HaveLen(3), HaveEach("SHUTOFF")))
	stopped := s.noisyServers(g)
	g.Consistently(s.noisyServers).WithTimeout(3*resyncPeriod).WithPolling(2*time.Second).Should(Equal(stopped),
		"the operator changed servers the department stopped itself")
	ready := func(g Gomega) metav1.Condition {
		env := &whv1.TestEnvironment{}
		g.Expect(k8s.Get(ctx, client.ObjectKey{Namespace: nbNoisy, Name: "stopped"}, env)).To(Succeed())
		c := meta.FindStatusCondition(env.Status.Conditions, whv1.ConditionReady)
		g.Expect(c).NotTo(BeNil())
		return *c
	}
	c := ready(g)
	t.note("3 servers SHUTOFF; the environment says %s: %s", c.Reason, c.Message)
	// Stopped servers are not still building: they wait for the resync, not a few seconds.
	g.Eventually(ready).WithTimeout(3*resyncPeriod).Should(HaveField("Reason", Not(Equal(whv1.ReasonServersBuilding))),
		"servers the department stopped itself are reported as still building")
}

// attackQuotaZero: an environment in a project whose quota allows no instance is
// refused for quota, and says so.
func (s *nbState) attackQuotaZero(g Gomega, t *nbTask) {
	out, err := nbTryApply(s.dir, nbEnvYAML(nbNoisy, "refused", "broke", 3))
	g.Expect(err).NotTo(HaveOccurred(), out)
	g.Eventually(func(g Gomega) metav1.Condition {
		env := &whv1.TestEnvironment{}
		g.Expect(k8s.Get(ctx, client.ObjectKey{Namespace: nbNoisy, Name: "refused"}, env)).To(Succeed())
		c := meta.FindStatusCondition(env.Status.Conditions, whv1.ConditionQuotaExceeded)
		g.Expect(c).NotTo(BeNil())
		return *c
	}).Should(And(HaveField("Status", metav1.ConditionTrue), HaveField("Reason", whv1.ReasonQuotaRefused)))
	list, err := admin.ProjectServers(ctx, s.brokeProject)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(list).To(BeEmpty(), "a project with quota 0 holds no server")
	t.note("refused for quota, as it says")
}
