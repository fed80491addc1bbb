// Package controlplane starts the local Kubernetes control plane of the tests and of
// hack/cluster: envtest's kube-apiserver and etcd, plus a kube-controller-manager, so
// that namespaces really delete, owner references really garbage-collect, ClusterRoles
// really aggregate and the HPA controller runs. No Pods ever run: there is no scheduler,
// no kubelet, and no Deployment or ReplicaSet controller.
//
// The binaries come from the directory KUBEBUILDER_ASSETS names
// (hack/control-plane-assets.sh builds them): kube-apiserver, etcd and
// kube-controller-manager.
package controlplane

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	k8sruntime "k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"
)

// Controllers are the kube-controller-manager controllers the control plane runs.
var Controllers = []string{
	"namespace-controller",
	"garbage-collector-controller",
	"horizontal-pod-autoscaler-controller",
	"clusterrole-aggregation-controller",
	"serviceaccount-controller",
	"serviceaccount-token-controller",
}

const (
	// healthTimeout bounds the wait for kube-controller-manager's /healthz.
	healthTimeout = 60 * time.Second
	// stopGrace is how long kube-controller-manager has to exit on SIGTERM.
	stopGrace = 5 * time.Second
	// saSigningKey is the service-account signing key envtest's apiserver is given
	// (--service-account-signing-key-file in its CertDir); tokens signed with it verify.
	saSigningKey = "sa-signer.key"
)

// Options configure Start.
type Options struct {
	// CRDDirectoryPaths are directories of CRDs to install at start (envtest's).
	CRDDirectoryPaths []string
}

// ControlPlane is a running kube-apiserver, etcd and kube-controller-manager.
type ControlPlane struct {
	Env *envtest.Environment
	// Config is an admin (system:masters) config.
	Config *rest.Config

	dir     string // kube-controller-manager's kubeconfig, certificates and log
	logPath string
	kcm     *exec.Cmd
	exited  chan struct{} // closed when kube-controller-manager exits
	waitErr error         // its exit status, once exited is closed
	stopped atomic.Bool   // its exit is expected: we signalled it
	keepLog bool          // the log explains a failure
}

// Start starts etcd and kube-apiserver (installing opts.CRDDirectoryPaths), then
// kube-controller-manager, and returns once the latter is healthy. On error nothing is
// left running.
func Start(opts Options) (*ControlPlane, error) {
	assets := os.Getenv("KUBEBUILDER_ASSETS")
	if assets == "" {
		return nil, errors.New("KUBEBUILDER_ASSETS is not set: it names the directory holding kube-apiserver, etcd and kube-controller-manager (hack/control-plane-assets.sh)")
	}
	kcmBin := filepath.Join(assets, "kube-controller-manager")
	if _, err := os.Stat(kcmBin); err != nil {
		return nil, fmt.Errorf("KUBEBUILDER_ASSETS=%s lacks kube-controller-manager (rerun hack/control-plane-assets.sh): %w", assets, err)
	}

	env := &envtest.Environment{
		CRDDirectoryPaths:     opts.CRDDirectoryPaths,
		ErrorIfCRDPathMissing: len(opts.CRDDirectoryPaths) > 0,
	}
	cfg, err := env.Start()
	if err != nil {
		return nil, fmt.Errorf("starting kube-apiserver and etcd from KUBEBUILDER_ASSETS=%s: %w", assets, err)
	}
	c := &ControlPlane{Env: env, Config: cfg}
	if err := c.startControllerManager(kcmBin); err != nil {
		c.keepLog = true
		return nil, errors.Join(err, c.Stop())
	}
	return c, nil
}

// AdminKubeconfig returns a kubeconfig for a user in system:masters.
func (c *ControlPlane) AdminKubeconfig() ([]byte, error) {
	user, err := c.Env.AddUser(envtest.User{Name: "admin", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		return nil, err
	}
	return user.KubeConfig()
}

// WriteAdminKubeconfig writes AdminKubeconfig to dir/kubeconfig, for kubectl and helm,
// and returns its path.
func (c *ControlPlane) WriteAdminKubeconfig(dir string) (string, error) {
	data, err := c.AdminKubeconfig()
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, "kubeconfig")
	return path, os.WriteFile(path, data, 0o600)
}

// Client is a client of the control plane that knows the built-in kinds and the
// operator's.
func (c *ControlPlane) Client() (client.Client, error) {
	scheme := k8sruntime.NewScheme()
	if err := errors.Join(clientgoscheme.AddToScheme(scheme), whv1.AddToScheme(scheme)); err != nil {
		return nil, err
	}
	return client.New(c.Config, client.Options{Scheme: scheme})
}

// ControllerManagerLog is the path of kube-controller-manager's log. It is removed by
// Stop unless kube-controller-manager died on its own.
func (c *ControlPlane) ControllerManagerLog() string { return c.logPath }

// Stop stops kube-controller-manager (SIGTERM, then SIGKILL after a few seconds), then
// kube-apiserver and etcd. It reports kube-controller-manager having died before.
func (c *ControlPlane) Stop() error {
	var errs []error
	if c.kcm != nil && c.kcm.Process != nil {
		select {
		case <-c.exited:
			if !c.stopped.Load() {
				c.keepLog = true
				errs = append(errs, fmt.Errorf("kube-controller-manager had exited before Stop (%v); log: %s", c.waitErr, c.logPath))
			}
		default:
			c.stopped.Store(true)
			_ = c.kcm.Process.Signal(syscall.SIGTERM)
			select {
			case <-c.exited:
			case <-time.After(stopGrace):
				_ = c.kcm.Process.Kill()
				<-c.exited
			}
		}
	}
	if c.Env != nil {
		if err := c.Env.Stop(); err != nil {
			errs = append(errs, fmt.Errorf("stopping kube-apiserver and etcd: %w", err))
		}
	}
	if c.dir != "" && !c.keepLog {
		_ = os.RemoveAll(c.dir)
	}
	return errors.Join(errs...)
}

func (c *ControlPlane) startControllerManager(bin string) error {
	dir, err := os.MkdirTemp("", "kube-controller-manager-")
	if err != nil {
		return err
	}
	c.dir = dir
	c.logPath = filepath.Join(dir, "kube-controller-manager.log")

	// Its own user, so that the apiserver's audit and errors name it.
	user, err := c.Env.AddUser(envtest.User{Name: "system:kube-controller-manager", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		return err
	}
	kubeconfigData, err := user.KubeConfig()
	if err != nil {
		return err
	}
	kubeconfig := filepath.Join(dir, "kubeconfig")
	rootCA := filepath.Join(dir, "ca.crt")
	if err := os.WriteFile(kubeconfig, kubeconfigData, 0o600); err != nil {
		return err
	}
	if err := os.WriteFile(rootCA, c.Config.CAData, 0o600); err != nil {
		return err
	}
	saKey := filepath.Join(c.Env.ControlPlane.GetAPIServer().CertDir, saSigningKey)
	if _, err := os.Stat(saKey); err != nil {
		return fmt.Errorf("envtest's service-account signing key is not where expected (has envtest changed?): %w", err)
	}

	// A free port may be taken between choosing and binding it: try again then.
	for attempt := 1; ; attempt++ {
		port, err := freePort()
		if err != nil {
			return err
		}
		err = c.runControllerManager(bin, port,
			"--kubeconfig="+kubeconfig,
			"--authentication-kubeconfig="+kubeconfig,
			"--authorization-kubeconfig="+kubeconfig,
			"--leader-elect=false",
			"--controllers="+strings.Join(Controllers, ","),
			"--use-service-account-credentials=false",
			"--service-account-private-key-file="+saKey,
			"--root-ca-file="+rootCA,
			"--bind-address=127.0.0.1",
			"--secure-port="+strconv.Itoa(port),
			"--cert-dir="+filepath.Join(dir, "certs"),
			"--v=1",
		)
		if err == nil || attempt == 3 || !strings.Contains(c.logTail(), "address already in use") {
			return err
		}
	}
}

// runControllerManager starts kube-controller-manager and waits for its /healthz.
func (c *ControlPlane) runControllerManager(bin string, port int, args ...string) error {
	logFile, err := os.Create(c.logPath)
	if err != nil {
		return err
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	dieWithParent(cmd)
	exited := make(chan struct{})
	c.kcm, c.exited, c.waitErr = cmd, exited, nil

	started := make(chan error, 1)
	go func() {
		defer close(exited)
		defer func() { _ = logFile.Close() }()
		// The parent-death signal fires when the thread that started the process ends,
		// not the Go process: hold this thread for kube-controller-manager's lifetime.
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		err := cmd.Wait()
		c.waitErr = err
		if !c.stopped.Load() {
			fmt.Fprintf(os.Stderr, "controlplane: kube-controller-manager exited: %v; log: %s\n", err, c.logPath)
		}
	}()
	if err := <-started; err != nil {
		<-exited
		c.kcm = nil
		return fmt.Errorf("starting %s: %w", bin, err)
	}
	if err := c.waitHealthy(port); err != nil {
		c.stopped.Store(true)
		_ = cmd.Process.Kill()
		<-exited
		return fmt.Errorf("kube-controller-manager: %w; log: %s\n%s", err, c.logPath, c.logTail())
	}
	return nil
}

func (c *ControlPlane) waitHealthy(port int) error {
	ctx, cancel := context.WithTimeout(context.Background(), healthTimeout)
	defer cancel()
	url := fmt.Sprintf("https://127.0.0.1:%d/healthz", port)
	// It serves with a self-signed certificate it made itself, on loopback.
	httpClient := &http.Client{
		Timeout:   2 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}, //nolint:gosec // loopback, self-signed
	}
	defer httpClient.CloseIdleConnections()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	last := "no answer"
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		if resp, err := httpClient.Do(req); err != nil {
			last = err.Error()
		} else {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			last = resp.Status
		}
		select {
		case <-c.exited:
			return fmt.Errorf("exited before becoming healthy (%v)", c.waitErr)
		case <-ctx.Done():
			return fmt.Errorf("%s not healthy within %v (last: %s)", url, healthTimeout, last)
		case <-tick.C:
		}
	}
}

// logTail is the end of kube-controller-manager's log, for error messages.
func (c *ControlPlane) logTail() string {
	data, err := os.ReadFile(c.logPath)
	if err != nil {
		return ""
	}
	const max = 4000
	if len(data) > max {
		data = data[len(data)-max:]
	}
	return string(data)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer func() { _ = l.Close() }()
	return l.Addr().(*net.TCPAddr).Port, nil
}
