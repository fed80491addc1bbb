package image

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/tls"
	"debug/elf"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/api/meta"
	"sigs.k8s.io/controller-runtime/pkg/client"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"
)

// The OpenStack projects of the sample Tenants (config/samples) and of the burst.
var sampleProjects = []string{"hmrc-self-assessment", "dwp_universal-credit"}

// maxRetryWait is the longest a replica waits between two looks at the Lease:
// controller-runtime's retry period (2 s) with client-go's jitter (up to 1.2 times more).
const maxRetryWait = 2 * time.Second * 22 / 10

const (
	burstNamespace = "image-test"
	burstProject   = burstNamespace + "-burst"
	burstServers   = 20
)

var _ = Describe("the image", func() {
	It("holds only the binary, the CA bundle and the non-root user, and says what it is", func() {
		archive := filepath.Join(GinkgoT().TempDir(), "image.oci.tar")
		podman("save", "--quiet", "--format", "oci-archive", "--output", archive, img)
		files, config := readOCIArchive(archive)
		names := make([]string, 0, len(files))
		for name := range files {
			names = append(names, name)
		}
		sort.Strings(names)
		GinkgoWriter.Printf("image files: %v\n", names)
		Expect(names).To(ConsistOf("etc/", "etc/group", "etc/passwd", "etc/ssl/", "etc/ssl/certs/", "etc/ssl/certs/ca-certificates.crt", "manager"))

		Expect(string(files["etc/passwd"])).To(Equal("nonroot:x:65532:65532:nonroot:/nonexistent:/sbin/nologin\n"))
		Expect(string(files["etc/group"])).To(Equal("nonroot:x:65532:\n"))
		Expect(string(files["etc/ssl/certs/ca-certificates.crt"])).To(HavePrefix("-----BEGIN CERTIFICATE-----"))
		bin, err := elf.NewFile(bytes.NewReader(files["manager"]))
		Expect(err).NotTo(HaveOccurred())
		for _, prog := range bin.Progs {
			Expect(prog.Type).NotTo(Equal(elf.PT_INTERP), "the manager is static: scratch has no dynamic loader")
		}

		Expect(config.Config.User).To(Equal("65532:65532"))
		Expect(config.Config.Entrypoint).To(Equal([]string{"/manager"}))
		Expect(config.Config.Labels).To(Equal(map[string]string{
			"org.opencontainers.image.title":       "whitehall-operator",
			"org.opencontainers.image.description": config.Config.Labels["org.opencontainers.image.description"],
			"org.opencontainers.image.source":      "https://github.com/whitehall-cloud/whitehall-operator",
			"org.opencontainers.image.licenses":    "Apache-2.0",
			"org.opencontainers.image.version":     os.Getenv("VERSION"),
			"org.opencontainers.image.revision":    os.Getenv("REVISION"),
		}))
		Expect(podman("run", "--rm", img, "--version")).To(Equal(fmt.Sprintf("whitehall-operator %s (revision %s)", os.Getenv("VERSION"), os.Getenv("REVISION"))))

		size, err := strconv.ParseInt(podman("image", "inspect", "--format", "{{.Size}}", img), 10, 64)
		Expect(err).NotTo(HaveOccurred())
		st, err := os.Stat(archive)
		Expect(err).NotTo(HaveOccurred())
		AddReportEntry("image size", fmt.Sprintf("%.1f MB (OCI archive %.1f MB)", float64(size)/1e6, float64(st.Size())/1e6))
	})

	It("is the image the chart runs by default", func() {
		Expect(pod.image).To(Equal(img), "charts/whitehall-operator: image.repository:appVersion is what make image builds")
	})
})

var _ = Describe("the image run as the chart runs the pod", Ordered, func() {
	var replicas [2]*replica

	Describe("one replica", func() {
		var a *replica

		It("makes the sample Tenants Ready in the dev cloud", func() {
			a = startReplica(0)
			replicas[0] = a
			kubectl("apply", "-k", filepath.Join(repoRoot, "config", "samples"))
			for _, t := range []client.ObjectKey{{Namespace: "hmrc", Name: "self-assessment"}, {Namespace: "dwp", Name: "universal-credit"}} {
				Eventually(func(g Gomega) {
					g.Expect(a.running()).To(BeTrue(), "the manager exited:\n%s", a.log())
					tenant := &whv1.Tenant{}
					g.Expect(k8s.Get(ctx, t, tenant)).To(Succeed())
					g.Expect(meta.IsStatusConditionTrue(tenant.Status.Conditions, whv1.ConditionReady)).To(BeTrue(), "%s: %v", t, tenant.Status.Conditions)
				}).Should(Succeed())
			}
			AddReportEntry("podman run to sample Tenants Ready", formatDuration(time.Since(a.started)))
			for _, name := range sampleProjects {
				Expect(admin.FindProject(ctx, name)).NotTo(BeEmpty(), "project %s is in Keystone", name)
			}
			kubectl("-n", "hmrc", "wait", "--for=condition=Ready", "computequota/self-assessment", "--timeout=60s")
			Expect(a.log()).To(ContainSubstring(fmt.Sprintf(`"version":%q`, os.Getenv("VERSION"))))
		})

		It("answers the health probes from outside the container", func() {
			for _, probe := range []string{"/healthz", "/readyz"} {
				resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d%s", a.healthPort, probe))
				Expect(err).NotTo(HaveOccurred())
				Expect(resp.Body.Close()).To(Succeed())
				Expect(resp.StatusCode).To(Equal(http.StatusOK), probe)
			}
		})

		It("serves /metrics over HTTPS to a ServiceAccount bound to the chart's metrics-reader role, and to no one else", func() {
			apply(fmt.Sprintf(`apiVersion: v1
kind: Namespace
metadata: {name: monitoring}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: prometheus, namespace: monitoring}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: prometheus-whitehall-metrics}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: %s-metrics-reader}
subjects:
  - {kind: ServiceAccount, name: prometheus, namespace: monitoring}
`, fullname))
			// The manager caches a denial: ask only once the binding is in force.
			Eventually(func() string {
				out, _ := tryKubectl("auth", "can-i", "get", "/metrics", "--as=system:serviceaccount:monitoring:prometheus")
				return strings.TrimSpace(out)
			}).Should(Equal("yes"))
			token := strings.TrimSpace(kubectl("-n", "monitoring", "create", "token", "prometheus"))
			// The chart's default: a self-signed certificate, which the ServiceMonitor does
			// not verify.
			scraper := &http.Client{Timeout: 10 * time.Second,
				Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}} //nolint:gosec // as the chart's ServiceMonitor without certSecret
			get := func(token string) (int, string) {
				req, err := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("https://127.0.0.1:%d/metrics", a.metricsPort), nil)
				Expect(err).NotTo(HaveOccurred())
				if token != "" {
					req.Header.Set("Authorization", "Bearer "+token)
				}
				resp, err := scraper.Do(req)
				Expect(err).NotTo(HaveOccurred())
				defer func() { _ = resp.Body.Close() }()
				body, err := io.ReadAll(resp.Body)
				Expect(err).NotTo(HaveOccurred())
				return resp.StatusCode, string(body)
			}
			code, _ := get("")
			Expect(code).To(Equal(http.StatusUnauthorized))
			code, body := get(token)
			Expect(code).To(Equal(http.StatusOK), body)
			Expect(body).To(ContainSubstring("whitehall_openstack_requests_total{"))
			Expect(body).To(ContainSubstring(`controller_runtime_reconcile_total{controller="tenant"`))
		})

		It("stops cleanly on SIGTERM within the grace period, releasing its Lease", func() {
			Expect(leader(Default, a)).To(Equal(a))
			sent := a.signal("TERM")
			code, err := a.waitExit(pod.grace)
			Expect(err).NotTo(HaveOccurred(), "still running %v after SIGTERM", pod.grace)
			AddReportEntry("SIGTERM to exit", formatDuration(time.Since(sent)))
			Expect(code).To(BeZero(), a.log())
			holder, _ := leaseHolder(Default)
			Expect(holder).To(BeEmpty(), "the Lease is released")
		})
	})

	Describe("two replicas", func() {
		other := func(r *replica) *replica {
			if r == replicas[0] {
				return replicas[1]
			}
			return replicas[0]
		}
		// stopLeader sends the leader sig (SIGKILL: no chance to release its Lease),
		// starts it again as the Deployment would, and returns how long the other took
		// to lead after the signal and after the leader's exit.
		stopLeader := func(sig string) (took, afterExit time.Duration) {
			var old *replica
			Eventually(func(g Gomega) *replica { old = leader(g, replicas[:]...); return old }).ShouldNot(BeNil())
			killed := old.signal(sig)
			_, err := old.waitExit(pod.grace)
			Expect(err).NotTo(HaveOccurred())
			exited := time.Now()
			next := other(old)
			Eventually(func(g Gomega) *replica { return leader(g, replicas[:]...) }).WithTimeout(time.Minute).WithPolling(100 * time.Millisecond).Should(Equal(next))
			took, afterExit = time.Since(killed), time.Since(exited)
			for i := range replicas {
				if replicas[i] == old {
					replicas[i] = startReplica(i)
				}
			}
			return took, afterExit
		}

		It("elects one leader; the other waits", func() {
			replicas[0], replicas[1] = startReplica(0), startReplica(1)
			var first *replica
			Eventually(func(g Gomega) *replica { first = leader(g, replicas[:]...); return first }).ShouldNot(BeNil())
			Consistently(func(g Gomega) *replica { return leader(g, replicas[:]...) }).WithTimeout(5 * time.Second).Should(Equal(first))
			Expect(other(first).log()).To(ContainSubstring("Attempting to acquire leader lease"))
			Expect(other(first).log()).NotTo(ContainSubstring("Successfully acquired lease"))
			for _, r := range replicas {
				Expect(r.running()).To(BeTrue(), r.log())
			}
		})

		It("hands over within moments when the leader stops with SIGTERM", func() {
			took, afterExit := stopLeader("TERM")
			AddReportEntry("leader stopped (SIGTERM) to new leader", formatDuration(took))
			// The leader releases the Lease as it exits; the standby takes it at its next try.
			Expect(afterExit).To(BeNumerically("<=", maxRetryWait+time.Second))
		})

		It("hands over within the lease duration (and the retries that notice it) when the leader is killed", func() {
			took, _ := stopLeader("KILL")
			_, duration := leaseHolder(Default)
			AddReportEntry("leader killed (SIGKILL) to new leader", formatDuration(took))
			// The standby counts the lease duration from when it last saw the Lease
			// renewed, and looks at it once a retry period with jitter: up to two tries
			// late.
			Expect(took).To(BeNumerically("<=", duration+2*maxRetryWait))
		})

		It("creates no duplicate server when the leader is killed during a TestEnvironment burst", func() {
			apply(fmt.Sprintf(`apiVersion: v1
kind: Namespace
metadata:
  name: %[1]s
  labels: {whitehall.cloud/department: "true"}
---
apiVersion: whitehall.cloud/v1alpha1
kind: Tenant
metadata: {name: burst, namespace: %[1]s}
spec:
  cloudRef: {name: whitehall}
  network: {cidr: 10.81.0.0/24}
---
apiVersion: whitehall.cloud/v1alpha1
kind: ComputeQuota
metadata: {name: burst, namespace: %[1]s}
spec:
  tenantRef: {name: burst}
  baseline: {compute: {instances: 30, cores: 30, ramMiB: 30720}, network: {ports: 60}}
`, burstNamespace))
			kubectl("-n", burstNamespace, "wait", "--for=condition=Ready", "tenant/burst", "computequota/burst", "--timeout=120s")
			tenant := &whv1.Tenant{}
			Expect(k8s.Get(ctx, client.ObjectKey{Namespace: burstNamespace, Name: "burst"}, tenant)).To(Succeed())
			servers := func(g Gomega) []string {
				list, err := admin.ProjectServers(ctx, tenant.Status.ProjectID)
				g.Expect(err).NotTo(HaveOccurred())
				names := make([]string, 0, len(list))
				for _, s := range list {
					names = append(names, s.Name)
				}
				sort.Strings(names)
				return names
			}

			apply(fmt.Sprintf(`apiVersion: whitehall.cloud/v1alpha1
kind: TestEnvironment
metadata: {name: wave, namespace: %s}
spec:
  tenantRef: {name: burst}
  replicas: %d
  template: {flavor: m1.tiny, image: cirros}
`, burstNamespace, burstServers))
			for _, at := range []int{3, burstServers / 2} {
				Eventually(func(g Gomega) int { return len(servers(g)) }).WithPolling(50 * time.Millisecond).Should(BeNumerically(">=", at))
				took, _ := stopLeader("KILL")
				AddReportEntry(fmt.Sprintf("leader killed at %d servers, new leader after", at), formatDuration(took))
			}
			want := make([]string, 0, burstServers)
			for i := range burstServers {
				want = append(want, fmt.Sprintf("wave-%d", i))
			}
			sort.Strings(want)
			lastKill := time.Now()
			kubectl("-n", burstNamespace, "wait", "--for=condition=Ready", "testenvironment/wave", "--timeout=180s")
			AddReportEntry("last kill to the burst Ready", formatDuration(time.Since(lastKill)))
			Expect(servers(Default)).To(Equal(want), "exactly one server per name")
			Consistently(servers).WithTimeout(5*time.Second).Should(Equal(want), "and no more")
		})

	})

	AfterAll(func() {
		running := func(r *replica) bool { return r != nil && r.running() }
		if !running(replicas[0]) && !running(replicas[1]) {
			replicas[0] = startReplica(0)
		}
		By("deleting what the specs made in OpenStack while a replica runs")
		kubectl("-n", burstNamespace, "delete", "testenvironment", "--all", "--timeout=180s")
		kubectl("delete", "computequota,tenant", "--all", "--all-namespaces", "--timeout=180s")
		for _, name := range append([]string{burstProject}, sampleProjects...) {
			Expect(admin.FindProject(ctx, name)).To(BeEmpty(), "%s went with its Tenant", name)
		}
		By("stopping both replicas with SIGTERM")
		for _, r := range replicas {
			if running(r) {
				r.signal("TERM")
				code, err := r.waitExit(pod.grace)
				Expect(err).NotTo(HaveOccurred())
				Expect(code).To(BeZero(), r.log())
			}
		}
		holder, _ := leaseHolder(Default)
		Expect(holder).To(BeEmpty())
	})
})

// ociConfig is the part of an OCI image configuration the specs read.
type ociConfig struct {
	Config struct {
		User       string            `json:"User"`
		Entrypoint []string          `json:"Entrypoint"`
		Labels     map[string]string `json:"Labels"`
	} `json:"config"`
}

// readOCIArchive reads an OCI archive (podman save --format oci-archive) of one image
// and returns the files of its layers (path → content; directories end in /) and its
// configuration.
func readOCIArchive(archive string) (map[string][]byte, ociConfig) {
	f, err := os.Open(archive)
	Expect(err).NotTo(HaveOccurred())
	defer func() { _ = f.Close() }()
	blobs := untar(f)
	blob := func(digest string) []byte {
		data, ok := blobs["blobs/"+strings.Replace(digest, ":", "/", 1)]
		Expect(ok).To(BeTrue(), "blob %s is in the archive", digest)
		return data
	}
	type descriptor struct {
		Digest string `json:"digest"`
	}
	var index struct {
		Manifests []descriptor `json:"manifests"`
	}
	Expect(json.Unmarshal(blobs["index.json"], &index)).To(Succeed())
	Expect(index.Manifests).To(HaveLen(1))
	var manifest struct {
		Config descriptor   `json:"config"`
		Layers []descriptor `json:"layers"`
	}
	Expect(json.Unmarshal(blob(index.Manifests[0].Digest), &manifest)).To(Succeed())
	var config ociConfig
	Expect(json.Unmarshal(blob(manifest.Config.Digest), &config)).To(Succeed())

	files := map[string][]byte{}
	for _, layer := range manifest.Layers {
		var r io.Reader = bytes.NewReader(blob(layer.Digest))
		if gz, err := gzip.NewReader(r); err == nil {
			r = gz
		} else {
			r = bytes.NewReader(blob(layer.Digest))
		}
		maps.Copy(files, untar(r))
	}
	return files, config
}

// untar returns a tar stream's entries: path → content, directories ending in / with
// no content. Anything but files and directories fails the test, and so does a
// whiteout (a layer removing what one below added).
func untar(r io.Reader) map[string][]byte {
	entries := map[string][]byte{}
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return entries
		}
		Expect(err).NotTo(HaveOccurred())
		name := strings.TrimPrefix(path.Clean(h.Name), "/")
		Expect(path.Base(name)).NotTo(HavePrefix(".wh."), "no whiteouts: nothing is added and then removed")
		switch h.Typeflag {
		case tar.TypeDir:
			entries[name+"/"] = nil
		case tar.TypeReg:
			data, err := io.ReadAll(tr)
			Expect(err).NotTo(HaveOccurred())
			entries[name] = data
		default:
			Fail(fmt.Sprintf("%s: unexpected entry type %c", name, h.Typeflag))
		}
	}
}
