package controlplane

import (
	"context"
	"errors"
	"os"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
)

// TestControlPlane checks what the controllers add to a bare apiserver, and that Stop
// leaves no kube-controller-manager behind. It needs KUBEBUILDER_ASSETS
// (hack/control-plane-assets.sh).
func TestControlPlane(t *testing.T) {
	if os.Getenv("KUBEBUILDER_ASSETS") == "" {
		t.Fatal("KUBEBUILDER_ASSETS is not set; run with KUBEBUILDER_ASSETS=$(hack/control-plane-assets.sh)")
	}
	start := time.Now()
	cp, err := Start(Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("started in %v; kube-controller-manager log %s", time.Since(start).Round(time.Millisecond), cp.ControllerManagerLog())
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			_ = cp.Stop()
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	kubeconfig, err := cp.AdminKubeconfig()
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := clientcmd.RESTConfigFromKubeConfig(kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	k8s, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}

	t.Run("a deleted namespace disappears with its contents", func(t *testing.T) {
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "doomed"}}
		if _, err := k8s.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "content"}}
		if _, err := k8s.CoreV1().ConfigMaps("doomed").Create(ctx, cm, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		if err := k8s.CoreV1().Namespaces().Delete(ctx, "doomed", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		poll(ctx, t, "namespace doomed to disappear", func() (bool, error) {
			_, err := k8s.CoreV1().Namespaces().Get(ctx, "doomed", metav1.GetOptions{})
			return apierrors.IsNotFound(err), ignoreNotFound(err)
		})
		t.Logf("namespace deleted in %v", time.Since(start).Round(time.Millisecond))
	})

	t.Run("an owned object is garbage-collected with its owner", func(t *testing.T) {
		owner, err := k8s.CoreV1().ConfigMaps("default").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "owner"}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		owned := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "owned", OwnerReferences: []metav1.OwnerReference{{
			APIVersion: "v1", Kind: "ConfigMap", Name: owner.Name, UID: owner.UID,
		}}}}
		if _, err := k8s.CoreV1().ConfigMaps("default").Create(ctx, owned, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		if err := k8s.CoreV1().ConfigMaps("default").Delete(ctx, "owner", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		poll(ctx, t, "ConfigMap owned to be collected", func() (bool, error) {
			_, err := k8s.CoreV1().ConfigMaps("default").Get(ctx, "owned", metav1.GetOptions{})
			return apierrors.IsNotFound(err), ignoreNotFound(err)
		})
		t.Logf("collected in %v", time.Since(start).Round(time.Millisecond))
	})

	t.Run("a ClusterRole labelled for view is aggregated into view", func(t *testing.T) {
		role := &rbacv1.ClusterRole{
			ObjectMeta: metav1.ObjectMeta{Name: "view-widgets", Labels: map[string]string{"rbac.authorization.k8s.io/aggregate-to-view": "true"}},
			Rules:      []rbacv1.PolicyRule{{APIGroups: []string{"example.com"}, Resources: []string{"widgets"}, Verbs: []string{"get"}}},
		}
		if _, err := k8s.RbacV1().ClusterRoles().Create(ctx, role, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		poll(ctx, t, "view to hold the widgets rule", func() (bool, error) {
			view, err := k8s.RbacV1().ClusterRoles().Get(ctx, "view", metav1.GetOptions{})
			if err != nil {
				return false, err
			}
			for _, r := range view.Rules {
				if len(r.Resources) == 1 && r.Resources[0] == "widgets" {
					return true, nil
				}
			}
			return false, nil
		})
	})

	t.Run("namespaces get their default ServiceAccount", func(t *testing.T) {
		poll(ctx, t, "ServiceAccount default/default", func() (bool, error) {
			_, err := k8s.CoreV1().ServiceAccounts("default").Get(ctx, "default", metav1.GetOptions{})
			return err == nil, ignoreNotFound(err)
		})
	})

	pid := cp.kcm.Process.Pid
	log := cp.ControllerManagerLog()
	start = time.Now()
	stopped = true
	if err := cp.Stop(); err != nil {
		t.Fatal(err)
	}
	t.Logf("stopped in %v", time.Since(start).Round(time.Millisecond))
	if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("kube-controller-manager (pid %d) still there after Stop: %v", pid, err)
	}
	if _, err := os.Stat(log); !os.IsNotExist(err) {
		t.Errorf("log %s left behind after a clean stop: %v", log, err)
	}
}

func poll(ctx context.Context, t *testing.T, what string, cond func() (bool, error)) {
	t.Helper()
	if err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 60*time.Second, true,
		func(context.Context) (bool, error) { return cond() }); err != nil {
		t.Fatalf("waiting for %s: %v", what, err)
	}
}

func ignoreNotFound(err error) error {
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}
