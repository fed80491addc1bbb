package e2e

import (
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"
)

// A department's clouds.yaml is data: it can neither make the operator read a file nor,
// by naming a Keystone that never answers, hold up another department.
var _ = Describe("creds: a department's credentials are data, never paths or probes", Ordered, func() {
	const (
		hostile = "e2e-creds-hostile" // files and a Keystone that never answers
		other   = "e2e-creds-other"   // a department that only wants its Tenant
	)
	var hole *credsBlackhole

	BeforeAll(func() {
		Expect(admin.DeleteOwnedProjects(ctx, other+"_plain", other+"_meanwhile")).To(Succeed(), "leftovers of an earlier run")
		hole = newCredsBlackhole()
		good, err := os.ReadFile(cloudsYAML)
		Expect(err).NotTo(HaveOccurred())
		Expect(string(good)).To(ContainSubstring("    region_name: "), "the dev cloud's clouds.yaml changed shape")
		for _, ns := range []string{hostile, other} {
			kubectl("create", "namespace", ns)
		}
		credsSecret(hostile, "dev-zero", strings.Replace(string(good), "    region_name: ", "    cacert: /dev/zero\n    region_name: ", 1))
		credsSecret(hostile, "blackhole", strings.Replace(string(good), "http://127.0.0.1:5000/v3", hole.url, 1))
		credsSecret(other, "good", string(good))
		DeferCleanup(func() {
			kubectl("delete", "tenants", "--all", "-n", hostile, "--timeout=120s")
			kubectl("delete", "tenants", "--all", "-n", other, "--timeout=120s")
			kubectl("delete", "namespace", hostile, other, "--wait=false")
			hole.close()
		})
	})

	It("refuses cacert: /dev/zero with CredentialsError naming the key, and keeps serving another department", func() {
		credsTenant(hostile, "zero", "dev-zero")
		credsTenant(other, "plain", "good")
		Eventually(func(g Gomega) string {
			c := credsReady(g, hostile, "zero")
			g.Expect(c.Reason).To(Equal(whv1.ReasonCredentialsError))
			return c.Message
		}).Should(ContainSubstring(`clouds.yaml key "cacert" names a file on the operator; put the CA into the Secret's "cacert" key`))
		Eventually(func(g Gomega) string { return credsReady(g, other, "plain").Reason }).Should(Equal(whv1.ReasonReady))
		Expect(credsReadyNow(hostile, "zero").Message).NotTo(ContainSubstring("/dev/zero"), "the value is never echoed")
		Expect(manager.ProcessState).To(BeNil(), "the operator is still running")
	})

	It("lets another namespace's Tenant become Ready while a login to a Keystone that never answers hangs", func() {
		for i := range 3 {
			credsTenant(hostile, fmt.Sprintf("hang-%d", i), "blackhole")
		}
		Eventually(hole.accepted.Load).Should(BeNumerically(">", 0), "the hanging login reached the blackhole")
		credsTenant(other, "meanwhile", "good")
		Eventually(func(g Gomega) string {
			if hole.gaveUp.Load() > 0 {
				StopTrying("the hanging login reached its deadline before the other department's Tenant was Ready: it waited behind it").Now()
			}
			return credsReady(g, other, "meanwhile").Reason
		}).Should(Equal(whv1.ReasonReady))

		By("the hanging Tenants end with the login deadline named, and nothing in OpenStack")
		Eventually(func(g Gomega) string {
			c := credsReady(g, hostile, "hang-0")
			g.Expect(c.Reason).To(Equal(whv1.ReasonTransientError))
			return c.Message
		}).Should(ContainSubstring("no answer to the login within"))
		Expect(hole.gaveUp.Load()).To(BeNumerically(">", 0), "the operator closed the connection it gave up on")
		Expect(manager.ProcessState).To(BeNil(), "the operator is still running")
	})
})

// credsSecret creates a clouds.yaml Secret.
func credsSecret(ns, name, content string) {
	path := GinkgoT().TempDir() + "/clouds.yaml"
	Expect(os.WriteFile(path, []byte(content), 0o600)).To(Succeed())
	kubectl("-n", ns, "create", "secret", "generic", name, "--from-file=clouds.yaml="+path)
}

// credsTenant applies a Tenant that brings its own credentials.
func credsTenant(ns, name, secret string) {
	apply(fmt.Sprintf(`apiVersion: whitehall.cloud/v1alpha1
kind: Tenant
metadata: {name: %s, namespace: %s}
spec:
  cloudCredentialsRef: {secretName: %s, cloudName: dev}
`, name, ns, secret))
}

// credsReady is the Tenant's Ready condition, once it has one.
func credsReady(g Gomega, ns, name string) *metav1.Condition {
	t := &whv1.Tenant{}
	g.Expect(k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, t)).To(Succeed())
	c := meta.FindStatusCondition(t.Status.Conditions, whv1.ConditionReady)
	g.Expect(c).NotTo(BeNil())
	return c
}

func credsReadyNow(ns, name string) *metav1.Condition { return credsReady(Default, ns, name) }

// credsBlackhole is a Keystone that accepts connections and never answers. accepted
// counts the connections; gaveUp those the operator closed (its login deadline).
type credsBlackhole struct {
	url              string
	listener         net.Listener
	accepted, gaveUp atomic.Int32
	mu               sync.Mutex
	conns            []net.Conn
}

func newCredsBlackhole() *credsBlackhole {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	Expect(err).NotTo(HaveOccurred())
	h := &credsBlackhole{url: "http://" + l.Addr().String() + "/v3", listener: l}
	go func() {
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			h.mu.Lock()
			h.conns = append(h.conns, conn)
			h.mu.Unlock()
			h.accepted.Add(1)
			go func() {
				buf := make([]byte, 4096)
				for {
					if _, err := conn.Read(buf); err != nil { // read the request, answer nothing
						h.gaveUp.Add(1)
						return
					}
				}
			}()
		}
	}()
	return h
}

func (h *credsBlackhole) close() {
	_ = h.listener.Close()
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, c := range h.conns {
		_ = c.Close()
	}
}
