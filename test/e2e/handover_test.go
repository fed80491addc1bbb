package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"sigs.k8s.io/controller-runtime/pkg/client"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"
	"github.com/whitehall-cloud/whitehall-operator/test/faultproxy"
)

// A manager stopped with SIGTERM while a server create is on its way to Nova must not
// leave the next manager to boot the same index again: Nova lists the server only once
// the POST has returned. The fault proxy holds the first POST of hand-0 longer than
// controller-runtime's default grace period (30 s) and within --openstack-timeout (60 s),
// and forwards it even if the client has hung up, as a slow nova-api would.
var _ = Describe("a manager stopped with SIGTERM while a server create is in flight", Ordered, Label("handover"), func() {
	const (
		ns     = "e2e-fair-handover"
		secret = "department-cloud"
		hold   = 35 * time.Second
	)
	var (
		proxy     *faultproxy.Proxy
		posts     atomic.Int32 // POSTs that create hand-0
		held      = make(chan struct{})
		holdOnce  sync.Once
		projectID string
	)

	// createsHand0 reports whether r is Nova's server create for hand-0.
	createsHand0 := func(service string, r *http.Request) bool {
		if service != "compute" || r.Method != http.MethodPost || !strings.HasSuffix(strings.TrimSuffix(r.URL.Path, "/"), "/servers") {
			return false
		}
		body, err := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		var create struct {
			Server struct{ Name string } `json:"server"`
		}
		return err == nil && json.Unmarshal(body, &create) == nil && create.Server.Name == "hand-0"
	}

	BeforeAll(func() {
		Expect(admin.DeleteOwnedProjects(ctx, ns+"_dept")).To(Succeed(), "leftovers of an earlier run")
		devCloud := faultsReadCloudsYAML(cloudsYAML)
		var err error
		proxy, err = faultproxy.Start(faultsAuthURL(devCloud, "dev"), faultproxy.Config{
			Hold: func(service string, r *http.Request) time.Duration {
				if !createsHand0(service, r) || posts.Add(1) > 1 {
					return 0
				}
				holdOnce.Do(func() { close(held) })
				return hold
			},
		})
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(func() { Expect(proxy.Close()).To(Succeed()) })

		kubectl("create", "namespace", ns)
		proxied := filepath.Join(GinkgoT().TempDir(), "clouds.yaml")
		Expect(os.WriteFile(proxied, faultsWithAuthURL(devCloud, "dev", proxy.AuthURL()), 0o600)).To(Succeed())
		kubectl("-n", ns, "create", "secret", "generic", secret, "--from-file=clouds.yaml="+proxied)
		apply(tenantWithCredentialsYAML(ns, "dept", secret, "dev", "network: {cidr: 10.93.0.0/24}"))
		kubectl("-n", ns, "wait", "--for=condition=Ready", "tenant/dept", "--timeout=180s")
		t := &whv1.Tenant{}
		Expect(k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: "dept"}, t)).To(Succeed())
		projectID = t.Status.ProjectID
	})

	AfterAll(func() {
		_, _ = tryKubectl("-n", ns, "delete", "testenvironments,tenants", "--all", "--timeout=180s")
		Expect(admin.FindProject(ctx, ns+"_dept")).To(BeEmpty(), "the Tenant's project was deleted with it")
		_, _ = tryKubectl("delete", "namespace", ns, "--wait=false")
	})

	servers := func(g Gomega) map[string][]string {
		list, err := admin.ProjectServers(ctx, projectID)
		g.Expect(err).NotTo(HaveOccurred())
		out := map[string][]string{}
		for _, s := range list {
			out[s.Name] = append(out[s.Name], s.Status)
		}
		return out
	}

	It("boots each index once: the stopping manager waits for the create, the next one finds the server", func() {
		apply(fmt.Sprintf(`apiVersion: whitehall.cloud/v1alpha1
kind: TestEnvironment
metadata: {name: hand, namespace: %s}
spec:
  tenantRef: {name: dept}
  replicas: 1
  template: {flavor: m1.tiny, image: cirros}
`, ns))
		Eventually(held).WithTimeout(3*time.Minute).Should(BeClosed(), "the create of hand-0 reached the proxy")

		stopping := time.Now()
		stopManager(syscall.SIGTERM)
		AddReportEntry("SIGTERM to exit, with a create held for "+hold.String(), time.Since(stopping).Round(time.Millisecond).String())
		startManager()

		Eventually(servers).WithTimeout(3*time.Minute).Should(Equal(map[string][]string{"hand-0": {"ACTIVE"}}),
			"exactly one server for index 0")
		Consistently(servers).WithTimeout(10 * time.Second).WithPolling(time.Second).Should(HaveLen(1))
		Expect(posts.Load()).To(Equal(int32(1)), "Nova was asked for hand-0 once")
	})
})
