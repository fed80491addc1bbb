package e2e

import (
	"bytes"
	"cmp"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"
)

// What the noisy namespace does, each an attack of issue 20, all at once.

// attackMaxTTL: a DepartmentPolicy whose maxTTL Go cannot decode must be refused by the
// API server. One that gets in is deleted at once: it would stop the operator's
// DepartmentPolicy watch for every department.
func (s *nbState) attackMaxTTL(g Gomega, _ *nbTask) {
	for _, spelling := range []string{"14d", "2w", "P14D"} {
		out, err := nbTryApply(s.dir, fmt.Sprintf(`apiVersion: whitehall.cloud/v1alpha1
kind: DepartmentPolicy
metadata: {name: %s}
spec:
  namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: %s}}
  environments: {maxTTL: %s}
`, nbPolicy, nbNoisy, spelling))
		if err == nil {
			_, _ = tryKubectl("delete", "departmentpolicy", nbPolicy, "--ignore-not-found", "--wait=false")
		}
		g.Expect(err).To(HaveOccurred(), "kubectl apply admitted a DepartmentPolicy with maxTTL: %s (deleted again at once): %s", spelling, out)
		g.Expect(out).To(ContainSubstring("maxTTL"), "the refusal names the field")
	}
}

// nbCloudsYAML is a department's clouds.yaml (cloud dept) that logs in at authURL, with
// extra lines in the cloud's entry.
func nbCloudsYAML(authURL, extra string) string {
	return fmt.Sprintf(`clouds:
  dept:
    auth_type: password
    auth: {auth_url: %q, username: e2e-neighbour, password: not-a-password-of-anyone, project_name: e2e-neighbour, user_domain_name: Default, project_domain_name: Default}
%s`, authURL, extra)
}

// credentialsTenant makes a Secret holding cloudsYAML and a Tenant that uses it.
func (s *nbState) credentialsTenant(g Gomega, name, cloudsYAML string) {
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: nbNoisy, Name: name}, StringData: map[string]string{"clouds.yaml": cloudsYAML}}
	g.Expect(k8s.Create(ctx, secret)).To(Succeed())
	out, err := nbTryApply(s.dir, tenantWithCredentialsYAML(nbNoisy, name, name, "dept", ""))
	g.Expect(err).NotTo(HaveOccurred(), out)
}

// nbReady returns the Ready condition of a Tenant.
func nbReady(ns, name string) func(Gomega) metav1.Condition {
	return func(g Gomega) metav1.Condition {
		c := meta.FindStatusCondition(nbTenantStatus(g, ns, name).Status.Conditions, whv1.ConditionReady)
		g.Expect(c).NotTo(BeNil())
		return *c
	}
}

// attackCACert: a clouds.yaml naming a local file. First a harmless one (the host's CA
// bundle): only once the operator refuses that key without reading the file is
// /dev/zero tried, as read it fills this machine's memory.
func (s *nbState) attackCACert(g Gomega, t *nbTask) {
	s.credentialsTenant(g, "creds-file", nbCloudsYAML(s.authURL, "    cacert: /etc/ssl/certs/ca-certificates.crt\n"))
	g.Eventually(nbReady(nbNoisy, "creds-file")).WithTimeout(time.Minute).Should(isoRefused(whv1.ReasonCredentialsError, "cacert"),
		"a clouds.yaml naming a file on the operator's disk (cacert: /etc/ssl/certs/ca-certificates.crt) is not refused for its cacert key; "+
			"cacert: /dev/zero is not tried, as the operator would read it until this machine's memory is gone")
	t.note("cacert: /etc/ssl/certs/ca-certificates.crt refused: %s", nbReady(nbNoisy, "creds-file")(g).Message)
	s.credentialsTenant(g, "creds-zero", nbCloudsYAML(s.authURL, "    cacert: /dev/zero\n"))
	g.Eventually(nbReady(nbNoisy, "creds-zero")).WithTimeout(time.Minute).Should(isoRefused(whv1.ReasonCredentialsError, "cacert"))
	g.Consistently(nbReady(nbNoisy, "creds-zero")).Should(HaveField("Reason", whv1.ReasonCredentialsError))
	g.Expect(manager.ProcessState).To(BeNil(), "the manager exited")
	t.note("cacert: /dev/zero refused: %s", nbReady(nbNoisy, "creds-zero")(g).Message)
}

// attackSilentAuthURL: a clouds.yaml whose auth_url accepts connections and never
// answers. The Tenant that uses it must fail on its own, sooner than the 60 s request
// timeout, while every other department goes on.
func (s *nbState) attackSilentAuthURL(g Gomega, t *nbTask) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	g.Expect(err).NotTo(HaveOccurred())
	s.mu.Lock()
	s.listener = l
	s.mu.Unlock()
	var accepted atomic.Int32
	go func() {
		var held []net.Conn // never answered, closed with the listener
		defer func() {
			for _, c := range held {
				_ = c.Close()
			}
		}()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			held = append(held, c)
		}
	}()
	start := time.Now()
	s.credentialsTenant(g, "creds-silent", nbCloudsYAML("http://"+l.Addr().String()+"/v3", ""))
	failed := And(HaveField("Status", metav1.ConditionFalse),
		HaveField("Reason", BeElementOf(whv1.ReasonCredentialsError, whv1.ReasonTransientError, whv1.ReasonCloudRefused)))
	g.Eventually(nbReady(nbNoisy, "creds-silent")).WithTimeout(45*time.Second).Should(failed,
		"a Tenant whose auth_url never answers is not refused within 45 s (the operator's request timeout is 60 s)")
	c := nbReady(nbNoisy, "creds-silent")(g)
	t.note("refused after %s (%d connections accepted): %s: %s", time.Since(start).Round(100*time.Millisecond), accepted.Load(), c.Reason, c.Message)
}

// attackTTLRemoval: the ttl of an environment in a namespace no policy governs, removed
// with a JSON patch, must be refused: its servers would live forever.
func (s *nbState) attackTTLRemoval(g Gomega, t *nbTask) {
	out, err := nbTryApply(s.dir, nbEnvYAML(nbNoisy, "forever", "noisy", 0))
	g.Expect(err).NotTo(HaveOccurred(), out)
	out, err = tryKubectl("-n", nbNoisy, "patch", "testenvironment", "forever", "--type=json", "-p", `[{"op":"remove","path":"/spec/ttl"}]`)
	g.Expect(err).To(HaveOccurred(), "the ttl was removed: %s", out)
	t.note("refused: %s", strings.TrimSpace(out))
	g.Expect(nbKubectl(g, "-n", nbNoisy, "get", "testenvironment", "forever", "-o", "jsonpath={.spec.ttl}")).To(Equal("2h"))
}

// attackOutside: 300 Secrets of ~900 KiB labelled as the operator's, and 200 maximal
// TestEnvironments, in a namespace no Cloud admits. The environments are still looked
// at (each gets a Ready condition); memory is checked at the end of the attack.
func (s *nbState) attackOutside(g Gomega, t *nbTask) {
	start := time.Now()
	blob := bytes.Repeat([]byte("0123456789abcdef"), 900*1024/16)
	nbParallel(g, 300, func(i int) error {
		return k8s.Create(ctx, &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Namespace: nbOutside, Name: fmt.Sprintf("bulk-%03d", i),
				Labels: map[string]string{"app.kubernetes.io/managed-by": "whitehall-operator"}},
			Data: map[string][]byte{"blob": append([]byte(strconv.Itoa(i)), blob...)},
		})
	})
	t.note("300 Secrets of ~900 KiB made in %s", time.Since(start).Round(time.Second))
	start = time.Now()
	template := nbMaximalTemplate(g)
	var peaks []whv1.ReplicaPeak
	for i := range 16 {
		peaks = append(peaks, whv1.ReplicaPeak{Season: fmt.Sprintf("season-%02d-%s", i, strings.Repeat("x", 253-10)), Replicas: 500})
	}
	nbParallel(g, 200, func(i int) error {
		return k8s.Create(ctx, &whv1.TestEnvironment{
			ObjectMeta: metav1.ObjectMeta{Namespace: nbOutside, Name: fmt.Sprintf("maximal-%03d", i)},
			Spec: whv1.TestEnvironmentSpec{TenantRef: whv1.LocalObjectReference{Name: "absent"}, Replicas: ptr.To[int32](1),
				Template: template, Peaks: peaks, TTL: &metav1.Duration{Duration: time.Hour}},
		})
	})
	t.note("200 maximal TestEnvironments made in %s", time.Since(start).Round(time.Second))
	g.Eventually(func(g Gomega) int {
		var list whv1.TestEnvironmentList
		g.Expect(k8s.List(ctx, &list, client.InNamespace(nbOutside))).To(Succeed())
		n := 0
		for _, e := range list.Items {
			if meta.FindStatusCondition(e.Status.Conditions, whv1.ConditionReady) != nil {
				n++
			}
		}
		return n
	}).WithTimeout(3*time.Minute).WithPolling(2*time.Second).Should(Equal(200), "the operator looks at each environment")
	rss, peak := nbMemory(g, s.pid)
	t.note("manager RSS after the outside objects: %s (peak %s)", nbMiB(rss), nbMiB(peak))
}

// nbParallel runs make(i) for i in [0, n) on 4 workers, and fails g on the first error.
func nbParallel(g Gomega, n int, make func(i int) error) {
	var (
		wg    sync.WaitGroup
		next  atomic.Int32
		mu    sync.Mutex
		first error
	)
	for range 4 {
		wg.Go(func() {
			for i := int(next.Add(1)) - 1; i < n; i = int(next.Add(1)) - 1 {
				if err := make(i); err != nil {
					mu.Lock()
					first = cmp.Or(first, fmt.Errorf("object %d: %w", i, err))
					mu.Unlock()
					return
				}
			}
		})
	}
	wg.Wait()
	g.Expect(first).NotTo(HaveOccurred())
}

// nbMaximalTemplate is a server template as large as the installed CRD admits: user data
// and metadata to their bounds (metadata keys and values at Nova's 255), and every list
// full.
func nbMaximalTemplate(g Gomega) whv1.ServerTemplate {
	bound := func(path string, fallback int) int {
		out := nbKubectl(g, "get", "crd", "testenvironments.whitehall.cloud", "-o",
			"jsonpath={.spec.versions[0].schema.openAPIV3Schema.properties.spec.properties.template.properties."+path+"}")
		if strings.TrimSpace(out) == "" {
			return fallback
		}
		n, err := strconv.Atoi(strings.TrimSpace(out))
		g.Expect(err).NotTo(HaveOccurred(), "%s: %s", path, out)
		return n
	}
	long := func(prefix string, i, n int) string {
		s := fmt.Sprintf("%s%d-", prefix, i)
		return s + strings.Repeat("x", n-len(s))
	}
	tpl := whv1.ServerTemplate{
		Flavor: long("flavor", 0, 255), Image: long("image", 0, 255),
		KeyName: ptr.To(long("key", 0, 255)), AvailabilityZone: ptr.To(long("az", 0, 255)),
		UserData: ptr.To(strings.Repeat("#", bound("userData.maxLength", 65535))),
		Metadata: map[string]string{},
	}
	values := min(bound("metadata.additionalProperties.maxLength", 255), 255)
	for i := range bound("metadata.maxProperties", 64) {
		tpl.Metadata[long("k", i, 255)] = long("v", i, values)
	}
	for i := range bound("networks.maxItems", 8) {
		tpl.Networks = append(tpl.Networks, whv1.NetworkRef{Name: ptr.To(long("net", i, 255))})
	}
	for i := range bound("securityGroups.maxItems", 16) {
		tpl.SecurityGroups = append(tpl.SecurityGroups, long("sg", i, 255))
	}
	return tpl
}
