// Command cluster runs envtest's kube-apiserver and etcd as a standing local control
// plane, writes an admin kubeconfig, and stops both when interrupted. No controllers run
// in it: no garbage collector, no namespace deletion, no Deployments becoming Pods.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

func main() {
	kubeconfig := flag.String("write-kubeconfig", ".local/kubeconfig", "Where to write the admin kubeconfig.")
	crds := flag.String("crds", "", "Directory of CRDs to install at start (optional).")
	flag.Parse()
	if err := run(*kubeconfig, *crds); err != nil {
		fmt.Fprintln(os.Stderr, "cluster:", err)
		os.Exit(1)
	}
}

func run(kubeconfig, crds string) error {
	env := &envtest.Environment{}
	if crds != "" {
		env.CRDDirectoryPaths = []string{crds}
		env.ErrorIfCRDPathMissing = true
	}
	if _, err := env.Start(); err != nil {
		return fmt.Errorf("starting kube-apiserver and etcd (is KUBEBUILDER_ASSETS set?): %w", err)
	}
	defer func() { _ = env.Stop() }()

	user, err := env.AddUser(envtest.User{Name: "admin", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		return err
	}
	data, err := user.KubeConfig()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(kubeconfig), 0o755); err != nil {
		return err
	}
	tmp := kubeconfig + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return err
	}
	// Renamed into place only once complete: its presence means the cluster is up.
	if err := os.Rename(tmp, kubeconfig); err != nil {
		return err
	}
	fmt.Printf("control plane up at %s; kubeconfig %s\n", env.Config.Host, kubeconfig)

	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM)
	<-stop
	_ = os.Remove(kubeconfig)
	return nil
}
