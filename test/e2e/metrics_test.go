package e2e

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	certutil "k8s.io/client-go/util/cert"
)

// metricsAddr is where the operator under test serves its metrics (HTTPS).
const metricsAddr = "127.0.0.1:18443"

// scraperNamespace holds the ServiceAccounts the specs scrape with.
const scraperNamespace = "e2e-monitoring"

var (
	metricsCert   []byte       // PEM: the operator's serving certificate, then its CA
	metricsClient *http.Client // trusts that CA only, as Prometheus does with metrics.certSecret
	scrapersMade  bool         // see makeScrapers
	readerToken   string       // see metricsReaderToken
)

var _ = Describe("the metrics endpoint", Ordered, func() {
	const ns = "e2e-metrics"

	BeforeAll(func() {
		// A Tenant whose login Keystone refuses: OpenStack requests to count, whichever
		// specs ran before, and nothing created in OpenStack.
		good, err := os.ReadFile(cloudsYAML)
		Expect(err).NotTo(HaveOccurred())
		wrong := strings.Replace(string(good), "password: "+devPassword, "password: not-the-password", 1)
		Expect(wrong).NotTo(Equal(string(good)), "the dev cloud's clouds.yaml holds the admin password")
		path := filepath.Join(GinkgoT().TempDir(), "clouds.yaml")
		Expect(os.WriteFile(path, []byte(wrong), 0o600)).To(Succeed())
		kubectl("create", "namespace", ns)
		DeferCleanup(func() { kubectl("delete", "namespace", ns, "--wait=false") })
		kubectl("-n", ns, "create", "secret", "generic", "wrong-password", "--from-file=clouds.yaml="+path)
		apply(fmt.Sprintf(`apiVersion: whitehall.cloud/v1alpha1
kind: Tenant
metadata: {name: metrics, namespace: %s}
spec:
  cloudCredentialsRef: {secretName: wrong-password, cloudName: dev}
`, ns))
	})

	It("refuses a scrape without a token", func() {
		Eventually(func(g Gomega) int { code, _ := getMetrics(g, ""); return code }).Should(Equal(http.StatusUnauthorized))
	})

	It("refuses a token the API server does not accept", func() {
		code, body := getMetrics(Default, "not-a-token")
		// controller-runtime answers 500, not 401, when the TokenReview carries an error,
		// as it does for a malformed token.
		Expect(code).To(SatisfyAny(Equal(http.StatusUnauthorized), Equal(http.StatusInternalServerError)))
		Expect(body).NotTo(ContainSubstring("whitehall_"))
	})

	It("refuses a ServiceAccount without the metrics-reader role", func() {
		makeScrapers()
		token := serviceAccountToken("nobody")
		Eventually(func(g Gomega) int { code, _ := getMetrics(g, token); return code }).Should(Equal(http.StatusForbidden))
	})

	It("serves a ServiceAccount bound to the metrics-reader role", func() {
		token := metricsReaderToken()
		Eventually(func(g Gomega) string {
			code, body := getMetrics(g, token)
			g.Expect(code).To(Equal(http.StatusOK))
			return body
		}).Should(ContainSubstring("whitehall_openstack_requests_total{"), "the Tenant's refused login is counted")
	})

	It("does not serve plain HTTP", func() {
		resp, err := http.Get("http://" + metricsAddr + "/metrics")
		Expect(err).NotTo(HaveOccurred())
		defer func() { _ = resp.Body.Close() }()
		body, err := io.ReadAll(resp.Body)
		Expect(err).NotTo(HaveOccurred())
		Expect(resp.StatusCode).To(Equal(http.StatusBadRequest))
		Expect(string(body)).NotTo(ContainSubstring("whitehall_"))
	})
})

// scrapeMetrics reads the operator's /metrics as an authorized scraper: series (name
// with labels, as Prometheus prints them) → value.
func scrapeMetrics() map[string]float64 {
	code, body := getMetrics(Default, metricsReaderToken())
	Expect(code).To(Equal(http.StatusOK), body)
	out := map[string]float64{}
	for _, line := range strings.Split(body, "\n") {
		if strings.HasPrefix(line, "#") || line == "" {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err == nil {
			out[line[:i]] = v
		}
	}
	return out
}

// getMetrics GETs https://metricsAddr/metrics with token as the bearer token (none
// when empty) and returns the status code and body.
func getMetrics(g Gomega, token string) (int, string) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "https://"+metricsAddr+"/metrics", nil)
	g.Expect(err).NotTo(HaveOccurred())
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	g.Expect(metricsClient).NotTo(BeNil(), "the operator was started with metricsCertDir")
	resp, err := metricsClient.Do(req)
	g.Expect(err).NotTo(HaveOccurred())
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	g.Expect(err).NotTo(HaveOccurred())
	return resp.StatusCode, string(body)
}

// metricsCertDir returns the directory of the operator's metrics certificate (tls.crt,
// tls.key for 127.0.0.1, signed by a CA of its own), made once per run, so that the
// scrapes verify it.
func metricsCertDir() string {
	dir := filepath.Join(repoRoot, ".local", "e2e", "metrics-certs")
	if metricsCert != nil {
		return dir
	}
	cert, key, err := certutil.GenerateSelfSignedCertKey("127.0.0.1", nil, nil)
	Expect(err).NotTo(HaveOccurred())
	Expect(os.MkdirAll(dir, 0o700)).To(Succeed())
	Expect(os.WriteFile(filepath.Join(dir, "tls.crt"), cert, 0o600)).To(Succeed())
	Expect(os.WriteFile(filepath.Join(dir, "tls.key"), key, 0o600)).To(Succeed())
	pool := x509.NewCertPool()
	Expect(pool.AppendCertsFromPEM(cert)).To(BeTrue())
	metricsCert = cert
	metricsClient = &http.Client{
		Timeout:   10 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}},
	}
	return dir
}

// metricsReaderToken returns a token of the ServiceAccount prometheus, which may get
// /metrics; made on first use.
func metricsReaderToken() string {
	if readerToken == "" {
		makeScrapers()
		readerToken = serviceAccountToken("prometheus")
	}
	return readerToken
}

// makeScrapers makes, once, the ServiceAccounts prometheus, bound to a ClusterRole that
// may get /metrics (as the chart's <fullname>-metrics-reader), and nobody, unbound.
func makeScrapers() {
	if scrapersMade {
		return
	}
	apply(fmt.Sprintf(`apiVersion: v1
kind: Namespace
metadata: {name: %[1]s}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: prometheus, namespace: %[1]s}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: nobody, namespace: %[1]s}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: e2e-metrics-reader}
rules:
  - nonResourceURLs: [/metrics]
    verbs: [get]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: e2e-metrics-reader}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: e2e-metrics-reader}
subjects:
  - {kind: ServiceAccount, name: prometheus, namespace: %[1]s}
`, scraperNamespace))
	// The operator caches a denial for 30 s: ask it only once the binding is in force.
	Eventually(func() string {
		out, _ := tryKubectl("auth", "can-i", "get", "/metrics", "--as=system:serviceaccount:"+scraperNamespace+":prometheus")
		return strings.TrimSpace(out)
	}).Should(Equal("yes"))
	scrapersMade = true
}

// serviceAccountToken returns a token of ServiceAccount name in scraperNamespace
// (TokenRequest, as kubelet mounts into a Pod).
func serviceAccountToken(name string) string {
	cmd := exec.CommandContext(ctx, kubectlBin, "--kubeconfig", kubeconfig, "-n", scraperNamespace, "create", "token", name, "--duration=2h")
	cmd.Stderr = GinkgoWriter
	out, err := cmd.Output() // stdout alone: a warning on stderr is not part of the token
	Expect(err).NotTo(HaveOccurred(), "kubectl create token %s", name)
	token := strings.TrimSpace(string(out))
	Expect(token).NotTo(BeEmpty())
	return token
}
