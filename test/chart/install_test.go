package chart

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/whitehall-cloud/whitehall-operator/test/controlplane"
)

// TestInstallUpgradeUninstall installs the chart into a real kube-apiserver with
// kube-controller-manager (test/controlplane: ClusterRoles aggregate, garbage is
// collected, but no Pods run), checks what the installed roles allow, upgrades it with
// a changed value, uninstalls it, and installs it again over the kept CRDs.
func TestInstallUpgradeUninstall(t *testing.T) {
	t.Parallel()
	g := gomega.NewWithT(t)
	g.SetDefaultEventuallyTimeout(20 * time.Second)
	g.SetDefaultEventuallyPollingInterval(100 * time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()

	start := time.Now()
	cp, err := controlplane.Start(controlplane.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("control plane started in %v", time.Since(start).Round(time.Millisecond))
	t.Cleanup(func() {
		if err := cp.Stop(); err != nil {
			t.Errorf("stopping the control plane: %v", err)
		}
	})
	cfg := cp.Config
	kubeconfigData, err := cp.AdminKubeconfig()
	if err != nil {
		t.Fatal(err)
	}
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(kubeconfig, kubeconfigData, 0o600); err != nil {
		t.Fatal(err)
	}
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	k8s, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}

	// Everything the API server can hold is on; the ServiceMonitor needs a CRD a bare
	// API server does not have.
	sets := append([]string{"dashboards.enabled=true"}, requiredValues...)
	helmArgs := func(verb string, flags []string, extraSets ...string) []string {
		args := append([]string{verb, release, chartDir, "--namespace", namespace, "--kubeconfig", kubeconfig, "--timeout", "60s"}, flags...)
		for _, s := range slices.Concat(sets, extraSets) {
			args = append(args, "--set", s)
		}
		return args
	}

	start = time.Now()
	out := helm(t, helmArgs("install", []string{"--create-namespace"})...)
	t.Logf("helm install: %v\n%s", time.Since(start).Round(time.Millisecond), out)
	for _, next := range []string{"create secret generic openstack-admin", "--from-file=clouds.yaml=", "kind: Tenant", "kubectl get whitehall -A", "leader election on",
		"--clusterrole=" + fullname + "-metrics-reader", "OpenStack endpoints keystone (192.0.2.10/32); nova neutron (198.51.100.0/24, 2001:db8::1/128).",
		"ClusterRole whitehall-finance"} {
		if !strings.Contains(out, next) {
			t.Errorf("NOTES do not tell %q", next)
		}
	}
	installed, err := parseManifests(helm(t, "get", "manifest", release, "--namespace", namespace, "--kubeconfig", kubeconfig))
	if err != nil {
		t.Fatal(err)
	}
	if want := render(t, sets...); !cmpKeys(want.keys(), installed.keys()) {
		t.Fatalf("the release holds %v, helm template renders %v", installed.keys(), want.keys())
	}
	for _, o := range installed {
		live := metaOf(o.GroupVersionKind().GroupVersion().String(), o.GetKind(), o.GetNamespace(), o.GetName())
		if err := k8s.Get(ctx, client.ObjectKeyFromObject(live), live); err != nil {
			t.Errorf("%s/%s is not in the API server: %v", o.GetKind(), o.GetName(), err)
			continue
		}
		if live.Annotations["meta.helm.sh/release-name"] != release {
			t.Errorf("%s/%s is not marked as the release's: %v", o.GetKind(), o.GetName(), live.Annotations)
		}
	}
	for _, kind := range []string{"Deployment", "ServiceAccount", "ClusterRole", "Role", "PodDisruptionBudget", "NetworkPolicy", "ConfigMap", "CustomResourceDefinition"} {
		if installed.find(kind, "") == nil {
			t.Errorf("no %s installed", kind)
		}
	}
	t.Run("the NOTES' Tenant is served and valid", func(t *testing.T) {
		tenant := notesTenant(t, out)
		if err := k8s.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: tenant.GetNamespace()}}); err != nil {
			t.Fatal(err)
		}
		g := gomega.NewWithT(t)
		// The CRDs serve once Established; a server-side dry run then validates it all.
		g.Eventually(func() error {
			return k8s.Create(ctx, tenant.DeepCopy(), client.DryRunAll)
		}, 20*time.Second, 100*time.Millisecond).Should(gomega.Succeed())
	})

	t.Run("the admission policies refuse what the CRDs cannot", func(t *testing.T) {
		g := gomega.NewWithT(t)
		tenant := notesTenant(t, out)
		refused := func(edit func(*unstructured.Unstructured), message string) {
			t.Helper()
			bad := tenant.DeepCopy()
			edit(bad)
			// Policies take a moment to be served after install.
			g.Eventually(func() string {
				err := k8s.Create(ctx, bad.DeepCopy(), client.DryRunAll)
				if err == nil {
					return ""
				}
				return err.Error()
			}, 20*time.Second, 100*time.Millisecond).Should(gomega.ContainSubstring(message))
		}
		refused(func(u *unstructured.Unstructured) {
			_ = unstructured.SetNestedSlice(u.Object, []any{map[string]any{"group": "g", "roles": []any{"admin"}}}, "spec", "roleAssignments")
		}, "a Tenant may grant only the roles member, reader")
		refused(func(u *unstructured.Unstructured) {
			_ = unstructured.SetNestedStringSlice(u.Object, []string{"member", "admin"}, "spec", "applicationCredential", "roles")
		}, "a Tenant may grant only the roles member, reader")
		refused(func(u *unstructured.Unstructured) {
			u.SetName(strings.Repeat("n", 62)) // hmrc-nnn… is 67 characters
		}, "is longer than the 64 characters Keystone allows")
		userData := &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Namespace: tenant.GetNamespace(), Name: "boot", Labels: map[string]string{"whitehall.cloud/user-data": "true"}},
			Data:       map[string][]byte{"clouds.yaml": []byte("clouds: {}")},
		}
		err := k8s.Create(ctx, userData, client.DryRunAll)
		g.Expect(err).To(gomega.MatchError(gomega.ContainSubstring("cannot hold a clouds.yaml key")))
		userData.Data = map[string][]byte{"user-data": []byte("#cloud-config")}
		g.Expect(k8s.Create(ctx, userData, client.DryRunAll)).To(gomega.Succeed())
	})

	t.Run("the department admission policies refuse what breaks a DepartmentPolicy", func(t *testing.T) {
		testDepartmentPolicies(ctx, t, k8s, notesTenant(t, out))
	})

	crds := installed.ofKind("CustomResourceDefinition")
	if len(crds) != len(generatedCRDs(t)) {
		t.Errorf("%d CRDs installed, want %d", len(crds), len(generatedCRDs(t)))
	}

	t.Run("service account permissions", func(t *testing.T) {
		sa := "system:serviceaccount:" + namespace + ":" + fullname
		for _, tc := range []struct {
			reason string
			attr   authorizationv1.ResourceAttributes
			allow  bool
		}{
			{"watches Tenants in every namespace", authorizationv1.ResourceAttributes{Group: "whitehall.cloud", Resource: "tenants", Verb: "watch"}, true},
			{"sets Tenant finalizers", authorizationv1.ResourceAttributes{Group: "whitehall.cloud", Resource: "tenants", Subresource: "finalizers", Verb: "update", Namespace: "hmrc"}, true},
			{"patches ComputeQuota status", authorizationv1.ResourceAttributes{Group: "whitehall.cloud", Resource: "computequotas", Subresource: "status", Verb: "patch", Namespace: "hmrc"}, true},
			{"reads credentials Secrets", authorizationv1.ResourceAttributes{Resource: "secrets", Verb: "get", Namespace: "hmrc"}, true},
			{"records events", authorizationv1.ResourceAttributes{Group: "events.k8s.io", Resource: "events", Verb: "create", Namespace: "hmrc"}, true},
			{"holds its Lease", authorizationv1.ResourceAttributes{Group: "coordination.k8s.io", Resource: "leases", Verb: "update", Namespace: namespace}, true},
			{"records leader-election events", authorizationv1.ResourceAttributes{Resource: "events", Verb: "create", Namespace: namespace}, true},
			// The network claims ledger: one ConfigMap of its own namespace, no other.
			{"updates the network claims ledger", authorizationv1.ResourceAttributes{Resource: "configmaps", Name: "whitehall-network-claims", Verb: "update", Namespace: namespace}, true},
			{"creates the network claims ledger", authorizationv1.ResourceAttributes{Resource: "configmaps", Verb: "create", Namespace: namespace}, true},
			{"reads no other ConfigMap of its namespace", authorizationv1.ResourceAttributes{Resource: "configmaps", Name: "kube-root-ca.crt", Verb: "get", Namespace: namespace}, false},
			{"no ConfigMaps of a department", authorizationv1.ResourceAttributes{Resource: "configmaps", Verb: "create", Namespace: "hmrc"}, false},
			{"authenticates metrics scrapers", authorizationv1.ResourceAttributes{Group: "authentication.k8s.io", Resource: "tokenreviews", Verb: "create"}, true},
			{"authorizes metrics scrapers", authorizationv1.ResourceAttributes{Group: "authorization.k8s.io", Resource: "subjectaccessreviews", Verb: "create"}, true},
			{"no Leases outside its namespace", authorizationv1.ResourceAttributes{Group: "coordination.k8s.io", Resource: "leases", Verb: "create", Namespace: "default"}, false},
			// A department's credential Secret (a project-scoped application credential) and
			// the identity stores in its own namespace; never admin credentials (those are
			// only read, in the operator's namespace).
			{"writes department credential Secrets", authorizationv1.ResourceAttributes{Resource: "secrets", Verb: "create", Namespace: "hmrc"}, true},
			{"reads Namespaces for a Cloud's selector", authorizationv1.ResourceAttributes{Resource: "namespaces", Verb: "watch"}, true},
			{"never deletes Namespaces", authorizationv1.ResourceAttributes{Resource: "namespaces", Verb: "delete"}, false},
			// A Cloud carries a finalizer while Tenants use it, so the operator patches its
			// metadata; it never makes or removes a Cloud.
			{"sets Cloud finalizers", authorizationv1.ResourceAttributes{Group: "whitehall.cloud", Resource: "clouds", Verb: "patch"}, true},
			{"never creates Clouds", authorizationv1.ResourceAttributes{Group: "whitehall.cloud", Resource: "clouds", Verb: "create"}, false},
			{"never deletes Clouds", authorizationv1.ResourceAttributes{Group: "whitehall.cloud", Resource: "clouds", Verb: "delete"}, false},
			{"never deletes Tenants", authorizationv1.ResourceAttributes{Group: "whitehall.cloud", Resource: "tenants", Verb: "delete", Namespace: "hmrc"}, false},
			{"never touches CRDs", authorizationv1.ResourceAttributes{Group: "apiextensions.k8s.io", Resource: "customresourcedefinitions", Verb: "update"}, false},
		} {
			attr := tc.attr
			sar := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
				User: sa, Groups: []string{"system:serviceaccounts", "system:serviceaccounts:" + namespace}, ResourceAttributes: &attr,
			}}
			if err := k8s.Create(ctx, sar); err != nil {
				t.Fatal(err)
			}
			if sar.Status.Allowed != tc.allow {
				t.Errorf("%s: allowed=%v, want %v (%s %+v)", tc.reason, sar.Status.Allowed, tc.allow, sar.Status.Reason, attr)
			}
		}
	})

	t.Run("a scraper bound to the metrics-reader role may get /metrics", func(t *testing.T) {
		g := gomega.NewWithT(t)
		prometheus := rbacv1.Subject{Kind: "ServiceAccount", Name: "prometheus", Namespace: "monitoring"}
		binding := &rbacv1.ClusterRoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: "prometheus-whitehall-metrics"},
			RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: fullname + "-metrics-reader"},
			Subjects:   []rbacv1.Subject{prometheus},
		}
		if err := k8s.Create(ctx, binding); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = k8s.Delete(context.Background(), binding) })
		for _, tc := range []struct {
			reason string
			sa     rbacv1.Subject
			attr   authorizationv1.NonResourceAttributes
			allow  bool
		}{
			{"the bound scraper reads /metrics", prometheus, authorizationv1.NonResourceAttributes{Path: "/metrics", Verb: "get"}, true},
			{"nothing else", prometheus, authorizationv1.NonResourceAttributes{Path: "/debug/pprof/", Verb: "get"}, false},
			{"an unbound ServiceAccount does not", rbacv1.Subject{Name: "default", Namespace: "monitoring"}, authorizationv1.NonResourceAttributes{Path: "/metrics", Verb: "get"}, false},
		} {
			attr := tc.attr
			// The authorizer learns of the new binding from its informer: ask until it has.
			g.Eventually(func(g gomega.Gomega) bool {
				sar := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
					User:   "system:serviceaccount:" + tc.sa.Namespace + ":" + tc.sa.Name,
					Groups: []string{"system:serviceaccounts", "system:serviceaccounts:" + tc.sa.Namespace}, NonResourceAttributes: &attr,
				}}
				g.Expect(k8s.Create(ctx, sar)).To(gomega.Succeed())
				return sar.Status.Allowed
			}).WithTimeout(10*time.Second).Should(gomega.Equal(tc.allow), "%s (%+v)", tc.reason, attr)
		}
	})

	t.Run("user roles", func(t *testing.T) { testUserRoles(ctx, t, k8s) })
	t.Run("only the platform team changes whitehall.cloud namespace labels", func(t *testing.T) { testNamespaceLabels(ctx, t, cfg, k8s) })

	deployment := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: fullname, Namespace: namespace}}
	g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(deployment), deployment)).To(gomega.Succeed())
	g.Expect(deployment.Spec.Template.Spec.Containers[0].Args).To(gomega.ContainElements("--leader-elect", "--resync-period=10m"))

	start = time.Now()
	helm(t, helmArgs("upgrade", nil, "resyncPeriod=5m")...)
	t.Logf("helm upgrade: %v", time.Since(start).Round(time.Millisecond))
	g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(deployment), deployment)).To(gomega.Succeed())
	args := deployment.Spec.Template.Spec.Containers[0].Args
	g.Expect(args).To(gomega.ContainElement("--resync-period=5m"), "the upgrade changed resyncPeriod")
	g.Expect(args).NotTo(gomega.ContainElement("--resync-period=10m"))
	g.Expect(deployment.Generation).To(gomega.BeNumerically("==", 2), "one new generation of the Deployment")

	start = time.Now()
	out = helm(t, "uninstall", release, "--namespace", namespace, "--kubeconfig", kubeconfig)
	t.Logf("helm uninstall: %v\n%s", time.Since(start).Round(time.Millisecond), out)
	for _, o := range installed {
		live := metaOf(o.GroupVersionKind().GroupVersion().String(), o.GetKind(), o.GetNamespace(), o.GetName())
		if o.GetKind() == "CustomResourceDefinition" {
			g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(live), live)).To(gomega.Succeed(),
				"CRD %s is kept on uninstall (crds.keep)", o.GetName())
			g.Expect(live.DeletionTimestamp).To(gomega.BeNil(), "CRD %s is not being deleted", o.GetName())
			continue
		}
		g.Eventually(func() bool {
			return apierrors.IsNotFound(k8s.Get(ctx, client.ObjectKeyFromObject(live), live))
		}).Should(gomega.BeTrue(), "%s/%s is gone after uninstall", o.GetKind(), o.GetName())
	}

	// The kept CRDs still carry the release's ownership marks, so installing the same
	// release again adopts them instead of failing on "exists and cannot be imported".
	start = time.Now()
	helm(t, helmArgs("install", nil)...)
	t.Logf("helm install over the kept CRDs: %v", time.Since(start).Round(time.Millisecond))
	g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(deployment), deployment)).To(gomega.Succeed())
	helm(t, "uninstall", release, "--namespace", namespace, "--kubeconfig", kubeconfig)
}

// notesTenant extracts the Tenant manifest NOTES.txt shows (between <<'YAML' and YAML).
func notesTenant(t *testing.T, notes string) *unstructured.Unstructured {
	t.Helper()
	// The Tenant is the NOTES' second manifest; the first is the Cloud.
	_, notes, _ = strings.Cut(notes, "kind: Cloud")
	_, rest, ok := strings.Cut(notes, "<<'YAML'\n")
	body, _, ok2 := strings.Cut(rest, "\n     YAML\n")
	if !ok || !ok2 {
		t.Fatalf("no Tenant manifest in the NOTES:\n%s", notes)
	}
	var lines []string
	for _, l := range strings.Split(body, "\n") {
		lines = append(lines, strings.TrimPrefix(l, "     "))
	}
	objs, err := parseManifests(strings.Join(lines, "\n"))
	if err != nil || len(objs) != 1 || objs[0].GetKind() != "Tenant" {
		t.Fatalf("the NOTES' manifest is not one Tenant (%v):\n%s", err, body)
	}
	return objs[0]
}

func metaOf(apiVersion, kind, namespace, name string) *metav1.PartialObjectMetadata {
	m := &metav1.PartialObjectMetadata{}
	m.APIVersion, m.Kind = apiVersion, kind
	m.Namespace, m.Name = namespace, name
	return m
}

func cmpKeys(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return strings.Join(a, ",") == strings.Join(b, ",")
}
