// Command cluster runs a standing local control plane (test/controlplane: envtest's
// kube-apiserver and etcd, and kube-controller-manager), writes an admin kubeconfig, and
// stops them all when interrupted. Namespaces delete, owner references garbage-collect,
// ClusterRoles aggregate and HPAs are reconciled; nothing schedules or runs Pods (no
// scheduler, no kubelet, no Deployment controller).
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/whitehall-cloud/whitehall-operator/test/controlplane"
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
	var opts controlplane.Options
	if crds != "" {
		opts.CRDDirectoryPaths = []string{crds}
	}
	cp, err := controlplane.Start(opts)
	if err != nil {
		return err
	}
	defer func() {
		if err := cp.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "cluster:", err)
		}
	}()

	data, err := cp.AdminKubeconfig()
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
	fmt.Printf("control plane up at %s; kubeconfig %s; kube-controller-manager log %s\n",
		cp.Config.Host, kubeconfig, cp.ControllerManagerLog())

	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM)
	<-stop
	_ = os.Remove(kubeconfig)
	return nil
}
