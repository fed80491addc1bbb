package e2e

import (
	"net"
	"strings"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"
	"github.com/whitehall-cloud/whitehall-operator/test/cloudtest"
)

// nbState is what the neighbour specs share.
type nbState struct {
	dir                                     string // for manifests
	calmProject, noisyProject, brokeProject string
	authURL                                 string // the Cloud's, for logging in as a department
	pid, starts                             int    // the manager's, before anything happens
	alone, beside                           time.Duration
	started                                 time.Time // of the attacks
	refusalsBefore                          float64
	tasks                                   map[string]*nbTask

	mu       sync.Mutex
	dept     *cloudtest.Department // the noisy department's own session
	networks []string              // made by the noisy department by hand
	listener net.Listener          // the auth_url that never answers
}

// setUp makes both departments' Tenants and waits until they are Ready.
func (s *nbState) setUp() {
	// A window far away for now: the attack phase moves it near.
	far := time.Now().Add(30 * 24 * time.Hour)
	apply(nbSeasonYAML(far, far.Add(time.Hour)))
	apply(nbCalmYAML())
	apply(nbNoisyYAML())
	kubectl("-n", nbCalm, "wait", "--for=condition=Ready", "tenant/calm", "--timeout=180s")
	kubectl("-n", nbNoisy, "wait", "--for=condition=Ready", "tenant/noisy", "tenant/broke", "--timeout=180s")
	kubectl("-n", nbCalm, "wait", "--for=condition=Ready", "computequota/calm", "--timeout=60s")
	s.calmProject = nbTenantStatus(Default, nbCalm, "calm").Status.ProjectID
	s.noisyProject = nbTenantStatus(Default, nbNoisy, "noisy").Status.ProjectID
	s.brokeProject = nbTenantStatus(Default, nbNoisy, "broke").Status.ProjectID
	Eventually(s.cores).Should(Equal(nbCores))
	// The noisy department's servers, booted before anything is measured: stopping them
	// is one of its attacks.
	apply(nbEnvYAML(nbNoisy, "stopped", "noisy", 3))
	Eventually(s.noisyServers).WithTimeout(5 * time.Minute).WithPolling(time.Second).Should(And(HaveLen(3), HaveEach("ACTIVE")))
	cloud := &whv1.Cloud{}
	Expect(k8s.Get(ctx, client.ObjectKey{Name: "whitehall"}, cloud)).To(Succeed())
	s.authURL = cloud.Status.AuthURL
	Expect(s.authURL).NotTo(BeEmpty())
	Expect(manager).NotTo(BeNil())
	s.pid, s.starts = manager.Process.Pid, starts
}

// start launches every attack and the calm department's work, each as a task.
func (s *nbState) start(opens time.Time) {
	s.started = time.Now()
	for name, work := range map[string]func(Gomega, *nbTask){
		"a maxTTL":          s.attackMaxTTL,
		"b cacert":          s.attackCACert,
		"b silent auth_url": s.attackSilentAuthURL,
		"c ttl removal":     s.attackTTLRemoval,
		"d outside":         s.attackOutside,
		"e public networks": s.attackPublicNetworks,
		"f stopped servers": s.attackStoppedServers,
		"f quota 0":         s.attackQuotaZero,
		"calm scale": func(g Gomega, t *nbTask) {
			s.beside = s.scaleUp(g)
			t.note("0→5 servers ACTIVE beside the noisy neighbour in %s (alone: %s)", s.beside.Round(100*time.Millisecond), s.alone.Round(100*time.Millisecond))
			// On time: the neighbour may cost a share of the machine and the cloud (its 270 MB
			// of Secrets go through the same API server, its servers through the same Nova),
			// never hold the department: measured 32 s beside 7.4 s alone on 2 cores; a
			// starved worker queue would wait for the neighbour's 200 environments.
			g.Expect(s.beside).To(BeNumerically("<=", 3*s.alone+60*time.Second), "beside the neighbour, more than three times the time alone plus 60 s")
		},
		"calm season":   func(g Gomega, t *nbTask) { s.crossSeason(g, t, opens, opens.Add(30*time.Second)) },
		"calm rotation": s.rotate,
	} {
		s.tasks[name] = nbGo(name, work)
	}
}

// servers returns name → status of a project's servers whose names start with prefix.
func (s *nbState) servers(projectID, prefix string) func(Gomega) map[string]string {
	return func(g Gomega) map[string]string {
		list, err := admin.ProjectServers(ctx, projectID)
		g.Expect(err).NotTo(HaveOccurred())
		out := map[string]string{}
		for _, srv := range list {
			if strings.HasPrefix(srv.Name, prefix) {
				out[srv.Name] = srv.Status
			}
		}
		return out
	}
}

// scaleUp scales the calm environment from 0 to 5, as a user would, and returns the time
// until 5 servers are ACTIVE in Nova.
func (s *nbState) scaleUp(g Gomega) time.Duration {
	start := time.Now()
	nbKubectl(g, "-n", nbCalm, "scale", "testenvironment/calm", "--replicas=5")
	active := func(g Gomega) int {
		n := 0
		for _, status := range s.servers(s.calmProject, "calm-")(g) {
			if status == "ACTIVE" {
				n++
			}
		}
		return n
	}
	g.Eventually(active).WithTimeout(5 * time.Minute).WithPolling(250 * time.Millisecond).Should(Equal(5))
	return time.Since(start)
}

// cores reads Nova's cores limit of the calm project.
func (s *nbState) cores(g Gomega) int {
	q, err := admin.GetQuota(ctx, s.calmProject)
	g.Expect(err).NotTo(HaveOccurred())
	return q.Cores
}

// crossSeason checks that Nova's cores of the calm project follow the season beside the
// neighbour: never before the window opens (or closes), and not held up by it: within
// nbSeasonSlack. The quota specs hold the operator to 2 s on a quiet cloud, and make
// bench measures the boundary to Nova's acknowledgement beside the gophercloud floor;
// here the dev cloud's one Nova API worker shares 2 cores with the neighbour's attack and
// answers in 1-2 s a request (its log, 2026-12-07: the peak's PUT 1.74 s, a quota GET
// 1.05 s, 11 requests in the 4 s around the boundary), so a 2-s bound measured Nova's
// queue, not the operator. A starved department would wait for the neighbour's 200
// environments: minutes.
// nbSeasonSlack is how late beside the neighbour Nova may show a season's quota: two
// resync periods of the operator under test.
const nbSeasonSlack = 2 * resyncPeriod

func (s *nbState) crossSeason(g Gomega, t *nbTask, opens, closes time.Time) {
	for _, b := range []struct {
		at           time.Time
		before, then int
		what         string
	}{{opens, nbCores, nbPeakCores, "opened"}, {closes, nbPeakCores, nbCores, "closed"}} {
		// Slow polling until just before the boundary: the limit does not move early.
		if early := time.Until(b.at.Add(-3 * time.Second)); early > 0 {
			g.Consistently(s.cores).WithTimeout(early).WithPolling(2*time.Second).Should(Equal(b.before),
				"Nova's cores changed before the window %s", b.what)
		}
		// A read that succeeds after the deadline still ends Eventually: judge by when
		// the read that saw the change was asked, and when it was answered.
		var asked, answered time.Time
		read := func(g Gomega) int {
			asked = time.Now()
			defer func() { answered = time.Now() }()
			return s.cores(g)
		}
		g.Eventually(read).WithTimeout(time.Until(b.at)+nbSeasonSlack).WithPolling(250*time.Millisecond).Should(Equal(b.then),
			"Nova's cores did not follow within %s of the window having %s", nbSeasonSlack, b.what)
		t.note("cores %d → %d seen in Nova by a read asked %s after the window %s (answered after %s)", b.before, b.then,
			asked.Sub(b.at).Round(10*time.Millisecond), b.what, answered.Sub(b.at).Round(10*time.Millisecond))
		g.Expect(asked.Sub(b.at)).To(BeNumerically("<=", nbSeasonSlack), "Nova's cores followed more than %s after the window %s", nbSeasonSlack, b.what)
		g.Expect(answered).To(BeTemporally(">=", b.at), "the cores changed before the window %s", b.what)
	}
}

// rotate rotates the calm department's application credential through the Tenant's
// annotation: a new credential in status and in the Secret within 30 s, the old one
// working through its grace period and refused after it.
func (s *nbState) rotate(g Gomega, t *nbTask) {
	credential := func(g Gomega) isoAppCred {
		secret := &corev1.Secret{}
		g.Expect(k8s.Get(ctx, client.ObjectKey{Namespace: nbCalm, Name: "openstack"}, secret)).To(Succeed())
		return isoReadAppCred(g, secret.Data["clouds.yaml"])
	}
	old := credential(g)
	g.Expect(admin.ApplicationCredentialWorks(ctx, s.authURL, old.ID, old.Secret)).To(Succeed())
	start := time.Now()
	nbKubectl(g, "-n", nbCalm, "annotate", "tenant", "calm", whv1.RotateAnnotation+"=neighbour-"+start.Format("150405"), "--overwrite")
	var st *whv1.ApplicationCredentialStatus
	g.Eventually(func(g Gomega) string {
		st = nbTenantStatus(g, nbCalm, "calm").Status.ApplicationCredential
		g.Expect(st).NotTo(BeNil())
		return st.ID
	}).WithTimeout(30*time.Second).WithPolling(200*time.Millisecond).ShouldNot(Equal(old.ID), "no new credential in status within 30 s")
	var retiring whv1.RetiringCredential
	g.Expect(st.Retiring).To(ContainElement(HaveField("ID", old.ID), &retiring), "the old credential is retiring")
	deleteAt := retiring.DeleteAt.Time
	var current isoAppCred
	g.Eventually(func(g Gomega) string { current = credential(g); return current.ID }).
		WithTimeout(30*time.Second).WithPolling(200*time.Millisecond).Should(Equal(st.ID), "the Secret does not hold the new credential")
	t.note("new credential in status and Secret %s after the annotation", time.Since(start).Round(10*time.Millisecond))
	g.Expect(admin.ApplicationCredentialWorks(ctx, s.authURL, current.ID, current.Secret)).To(Succeed())
	g.Expect(time.Now()).To(BeTemporally("<", deleteAt.Add(-2*time.Second)), "too slow to check the old credential within its grace")
	g.Expect(admin.ApplicationCredentialWorks(ctx, s.authURL, old.ID, old.Secret)).To(Succeed(), "the old credential works during the grace period")
	g.Eventually(func() error { return admin.ApplicationCredentialWorks(ctx, s.authURL, old.ID, old.Secret) }).
		WithTimeout(time.Until(deleteAt)+time.Minute).WithPolling(time.Second).Should(HaveOccurred(), "the old credential still logs in")
	g.Expect(time.Now()).To(BeTemporally(">=", deleteAt.Add(-time.Second)), "the old credential went before its grace period ended")
	t.note("old credential refused %s after its deleteAt", time.Since(deleteAt).Round(100*time.Millisecond))
}

// cleanup deletes what the specs made, in the order that lets each piece go, and waits
// for the attacks to end first. Safe to run twice.
func (s *nbState) cleanup() {
	for _, t := range s.tasks {
		t.finished(8 * time.Minute)
	}
	s.mu.Lock()
	if s.listener != nil {
		_ = s.listener.Close()
	}
	if s.dept != nil {
		for _, id := range s.networks {
			if err := s.dept.DeleteNetwork(ctx, id); err != nil {
				GinkgoWriter.Printf("deleting the noisy department's network %s: %v\n", id, err)
			}
		}
	}
	s.networks = nil
	s.mu.Unlock()
	_, _ = tryKubectl("delete", "departmentpolicy", nbPolicy, "--ignore-not-found")
	for _, ns := range []string{nbCalm, nbNoisy, nbOutside} {
		for _, kind := range []string{"testenvironments", "computequotas", "tenants"} {
			if out, err := tryKubectl("-n", ns, "delete", kind, "--all", "--ignore-not-found", "--timeout=300s"); err != nil {
				GinkgoWriter.Printf("deleting %s of %s: %v: %s\n", kind, ns, err, out)
			}
		}
	}
	_, _ = tryKubectl("delete", "peakseason", nbSeason, "--ignore-not-found")
	if out, err := tryKubectl("delete", "namespace", nbCalm, nbNoisy, nbOutside, "--ignore-not-found", "--timeout=300s"); err != nil {
		GinkgoWriter.Printf("deleting the namespaces: %v: %s\n", err, out)
	}
}
