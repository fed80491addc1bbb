// Package e2e runs the built operator binary against a local control plane (the real
// kube-apiserver and etcd) and the real OpenStack of hack/dev-cloud, drives it with
// kubectl as a user would, and checks OpenStack directly.
package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/whitehall-cloud/whitehall-operator/test/cloudtest"
	"github.com/whitehall-cloud/whitehall-operator/test/controlplane"
)

// resyncPeriod of the operator under test: drift must be repaired within it.
const resyncPeriod = 5 * time.Second

// usageInterval of the operator under test: usage appears within it.
const usageInterval = 15 * time.Second

// clusterLease of the operator under test: a cluster rebuilt takes its projects back
// once the lost one's record is this old.
const clusterLease = 15 * time.Second

// operatorNamespace holds the admin clouds.yaml; no department namespace does.
const operatorNamespace = "whitehall-system"

var (
	ctx        context.Context
	cancel     context.CancelFunc
	cp         *controlplane.ControlPlane // kube-apiserver, etcd, kube-controller-manager
	env        *envtest.Environment       // cp's apiserver and etcd
	k8s        client.Client
	admin      *cloudtest.Admin
	kubeconfig string
	kubectlBin string
	cloudsYAML string
	repoRoot   string
	manager    *exec.Cmd
	// kubeconfigDirs hold the kubeconfigs of the control planes started; removed at the end.
	kubeconfigDirs []string
	managerLog     *os.File
	starts         int
)

func TestE2E(t *testing.T) {
	RegisterFailHandler(Fail)
	SetDefaultEventuallyTimeout(2 * time.Minute)
	SetDefaultEventuallyPollingInterval(500 * time.Millisecond)
	RunSpecs(t, "end-to-end suite")
}

var _ = BeforeSuite(func() {
	ctx, cancel = context.WithCancel(context.Background())
	var err error
	repoRoot, err = filepath.Abs(filepath.Join("..", ".."))
	Expect(err).NotTo(HaveOccurred())

	assets := os.Getenv("KUBEBUILDER_ASSETS")
	Expect(assets).NotTo(BeEmpty(), "KUBEBUILDER_ASSETS must name the control-plane binaries; run through make test-e2e")
	kubectlBin = filepath.Join(assets, "kubectl")
	cloudsYAML = os.Getenv("OS_CLIENT_CONFIG_FILE")
	Expect(cloudsYAML).To(BeAnExistingFile(), "OS_CLIENT_CONFIG_FILE must name the dev cloud's clouds.yaml; run through make test-e2e")
	managerBin := os.Getenv("MANAGER_BIN")
	Expect(managerBin).To(BeAnExistingFile(), "MANAGER_BIN must name the built operator; run through make test-e2e")

	// Logs of earlier runs would be read as this run's.
	oldLogs, _ := filepath.Glob(filepath.Join(repoRoot, ".local", "e2e", "manager-*.log"))
	for _, f := range oldLogs {
		Expect(os.Remove(f)).To(Succeed())
	}

	By("opening an admin session on the dev cloud")
	admin, err = cloudtest.Open(ctx, cloudsYAML, "dev")
	Expect(err).NotTo(HaveOccurred(), "is the dev cloud up? (make dev-cloud)")
	Expect(admin.DeleteOwnedProjects(ctx, "hmrc-self-assessment", "dwp_universal-credit", "hmrc_e2e-retain", "hmrc-e2e-import", "hmrc_e2e-quota", "hmrc_e2e-env", "hmrc_e2e-hpa", "e2e-policy_a", "e2e-policy_b", "e2e-policy_c")).To(Succeed())

	installCluster()

	By("starting the operator binary")
	startManager()
})

// installCluster starts a new local control plane (empty etcd) with what a platform team
// installs (newCluster), and makes it the one the specs use. It is also how a spec
// rebuilds a lost cluster.
func installCluster() {
	c := newCluster()
	cp, env, kubeconfig, k8s = c.cp, c.cp.Env, c.kubeconfig, c.k8s
	// What specs made once in the control plane before is gone with it.
	scrapersMade, readerToken = false, ""
}

// cluster is one local control plane.
type cluster struct {
	cp         *controlplane.ControlPlane
	kubeconfig string
	k8s        client.Client
}

// newCluster starts a local control plane and installs the CRDs, the operator's
// namespace with the only admin Secret, the Cloud, and the department namespaces.
func newCluster() cluster {
	By("starting a local control plane")
	var (
		c   cluster
		err error
	)
	c.cp, err = controlplane.Start(controlplane.Options{})
	Expect(err).NotTo(HaveOccurred())
	// Not a spec's TempDir: a spec that rebuilds the cluster leaves this one to the next.
	dir, err := os.MkdirTemp("", "e2e-kubeconfig-")
	Expect(err).NotTo(HaveOccurred())
	kubeconfigDirs = append(kubeconfigDirs, dir)
	c.kubeconfig, err = c.cp.WriteAdminKubeconfig(dir)
	Expect(err).NotTo(HaveOccurred())
	c.k8s, err = c.cp.Client()
	Expect(err).NotTo(HaveOccurred())

	By("installing the CRDs with kubectl")
	kubectlOn(c.kubeconfig, "apply", "--server-side", "-f", filepath.Join(repoRoot, "config", "crd", "bases"))
	kubectlOn(c.kubeconfig, "wait", "--for=condition=Established", "crd", "--all", "--timeout=60s")

	By("creating the operator's namespace with the only admin Secret, the Cloud, and the department namespaces")
	kubectlOn(c.kubeconfig, "create", "namespace", operatorNamespace)
	kubectlOn(c.kubeconfig, "-n", operatorNamespace, "create", "secret", "generic", "openstack-admin", "--from-file=clouds.yaml="+cloudsYAML)
	kubectlOn(c.kubeconfig, "apply", "-f", filepath.Join(repoRoot, "config", "samples", "cloud_whitehall.yaml"))
	kubectlOn(c.kubeconfig, "apply", "-f", filepath.Join(repoRoot, "config", "samples", "namespaces.yaml"))
	return c
}

var _ = AfterSuite(func() {
	stopManager(os.Interrupt)
	if cp != nil {
		Expect(cp.Stop()).To(Succeed())
	}
	for _, dir := range kubeconfigDirs {
		Expect(os.RemoveAll(dir)).To(Succeed())
	}
	if cancel != nil {
		cancel()
	}
})

// startManager runs the operator binary; its log goes to .local/e2e/manager-<n>.log.
func startManager() {
	starts++
	logDir := filepath.Join(repoRoot, ".local", "e2e")
	Expect(os.MkdirAll(logDir, 0o755)).To(Succeed())
	var err error
	managerLog, err = os.Create(filepath.Join(logDir, fmt.Sprintf("manager-%d.log", starts)))
	Expect(err).NotTo(HaveOccurred())
	manager = exec.Command(os.Getenv("MANAGER_BIN"), append(managerArgs(),
		// Secure metrics, as in production: see metrics_test.go.
		"--metrics-bind-address", metricsAddr, "--metrics-cert-dir", metricsCertDir(), "--health-probe-bind-address", "0")...)
	manager.Stdout, manager.Stderr = managerLog, managerLog
	Expect(manager.Start()).To(Succeed())
}

// managerArgs are the flags of every operator process the suite starts, but for its
// metrics and probe addresses.
func managerArgs() []string {
	return []string{"--kubeconfig", kubeconfig, "--resync-period", resyncPeriod.String(),
		"--usage-interval", usageInterval.String(), "--cluster-lease", clusterLease.String(),
		// Small, so that a burst of 10 takes several rounds and a crash lands mid-burst.
		"--max-concurrent-server-creates", "3", "--operator-namespace", operatorNamespace,
		// The dev cloud's Keystone is plain http; departments' own credentials name it.
		"--allow-http-auth-url"}
}

// stopManager stops the operator with sig: os.Interrupt for a clean stop, os.Kill for a
// crash.
func stopManager(sig os.Signal) {
	if manager == nil || manager.Process == nil {
		return
	}
	_ = manager.Process.Signal(sig)
	_ = manager.Wait()
	_ = managerLog.Close()
	manager = nil
}

// kubectl runs kubectl against the local control plane and returns its output; it
// fails the test on error.
func kubectl(args ...string) string { return kubectlOn(kubeconfig, args...) }

func tryKubectl(args ...string) (string, error) { return tryKubectlOn(kubeconfig, args...) }

// kubectlOn is kubectl against the control plane of this kubeconfig.
func kubectlOn(kubeconfig string, args ...string) string {
	out, err := tryKubectlOn(kubeconfig, args...)
	Expect(err).NotTo(HaveOccurred(), "kubectl %s: %s", strings.Join(args, " "), out)
	return out
}

func tryKubectlOn(kubeconfig string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, kubectlBin, append([]string{"--kubeconfig", kubeconfig}, args...)...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// apply applies a manifest with kubectl, as a user would.
func apply(doc string) { kubectl("apply", "-f", writeManifest(doc)) }

// writeManifest writes a manifest to a file of the spec and returns its path.
func writeManifest(doc string) string {
	path := filepath.Join(GinkgoT().TempDir(), "manifest.yaml")
	Expect(os.WriteFile(path, []byte(doc), 0o644)).To(Succeed())
	return path
}
