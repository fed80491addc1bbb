package chart

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/onsi/gomega"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// TestFinanceRoleRender checks whitehall-finance as rendered: it reads UsageReports and
// Clouds (every department's costs) and nothing else, and is bound by hand, never
// aggregated.
func TestFinanceRoleRender(t *testing.T) {
	t.Parallel()
	finance := get[rbacv1.ClusterRole](t, render(t), "ClusterRole", financeRole)
	want := []rbacv1.PolicyRule{
		{APIGroups: []string{group}, Resources: []string{"usagereports", "clouds"}, Verbs: []string{"get", "list", "watch"}},
		{APIGroups: []string{group}, Resources: []string{"usagereports/status", "clouds/status"}, Verbs: []string{"get"}},
	}
	if diff := cmp.Diff(want, finance.Rules); diff != "" {
		t.Errorf("%s rules (-want +got):\n%s", financeRole, diff)
	}
	platform := get[rbacv1.ClusterRole](t, render(t), "ClusterRole", platformAdminRole)
	if !grants(platform.Rules, group, "namespacelabels", "update") {
		t.Errorf("%s does not grant update on namespacelabels: the platform team could not label namespaces", platformAdminRole)
	}
	for k := range finance.Labels {
		if strings.HasPrefix(k, "rbac.authorization.k8s.io/aggregate-to-") {
			t.Errorf("%s is aggregated (%s): it must be bound explicitly", financeRole, k)
		}
	}
}

// TestPrivilegedGrantableRolesRender checks that with allowPrivilegedGrantableRoles the
// manager gets the allowance and the admission policy the same roles, and that without
// it neither does (the render fails: TestRejectedValues).
func TestPrivilegedGrantableRolesRender(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		sets     []string
		wantArgs []string
		noArgs   []string
		wantVAP  string
	}{
		{nil, []string{"--grantable-roles=member,reader"}, []string{"--allow-privileged-grantable-roles"}, `["member","reader"]`},
		{[]string{"grantableRoles={member,Admin}", "allowPrivilegedGrantableRoles=true"},
			[]string{"--grantable-roles=member,Admin", "--allow-privileged-grantable-roles"}, nil, `["member","Admin"]`},
	} {
		objs := render(t, tc.sets...)
		args := get[appsv1.Deployment](t, objs, "Deployment", fullname).Spec.Template.Spec.Containers[0].Args
		for _, a := range tc.wantArgs {
			if !slices.Contains(args, a) {
				t.Errorf("with %v: args %v lack %s", tc.sets, args, a)
			}
		}
		for _, a := range tc.noArgs {
			if slices.Contains(args, a) {
				t.Errorf("with %v: args %v have %s", tc.sets, args, a)
			}
		}
		vap := get[admissionregistrationv1.ValidatingAdmissionPolicy](t, objs, "ValidatingAdmissionPolicy", "whitehall-tenant-grantable-roles")
		if len(vap.Spec.Variables) != 1 || vap.Spec.Variables[0].Expression != tc.wantVAP {
			t.Errorf("with %v: the admission policy's grantable roles are %+v, want %s", tc.sets, vap.Spec.Variables, tc.wantVAP)
		}
	}
}

// testNamespaceLabels checks config/admission/namespace-labels.yaml as installed: a user
// who may create and update namespaces cannot add, change or remove a whitehall.cloud/*
// label (a Cloud or DepartmentPolicy selects on them), while other labels are his to
// change; a user bound to whitehall-platform-admin can. Run after the chart is installed.
func testNamespaceLabels(ctx context.Context, t *testing.T, cfg *rest.Config, k8s client.Client) {
	const dept = "whitehall.cloud/department"
	nsEditor := &rbacv1.ClusterRole{
		ObjectMeta: metav1.ObjectMeta{Name: "namespace-editor"},
		Rules: []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"namespaces"},
			Verbs: []string{"get", "list", "create", "update", "patch"}}},
	}
	objs := []client.Object{nsEditor,
		clusterBinding("owner-namespaces", nsEditor.Name, "ns-owner"),
		clusterBinding("platform-namespaces", nsEditor.Name, "labeller"),
		clusterBinding("platform-labels", platformAdminRole, "labeller"),
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "chart-labels", Labels: map[string]string{dept: "true", "team": "a"}}},
	}
	for _, o := range objs {
		if err := k8s.Create(ctx, o); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = k8s.Delete(context.Background(), o) })
	}
	owner, platform := impersonate(t, cfg, "ns-owner"), impersonate(t, cfg, "labeller")

	g := gomega.NewWithT(t)
	// label applies a merge patch as the given user: nil removes the label.
	label := func(c client.Client, key string, value *string) error {
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "chart-labels"}}
		patch := []byte(`{"metadata":{"labels":{"` + key + `":null}}}`)
		if value != nil {
			patch = []byte(`{"metadata":{"labels":{"` + key + `":"` + *value + `"}}}`)
		}
		return c.Patch(ctx, ns, client.RawPatch("application/merge-patch+json", patch), client.DryRunAll)
	}
	refused := gomega.MatchError(gomega.ContainSubstring("only the platform team may add, change or remove the namespace label(s) " + dept))
	// The policy and the bindings take a moment to be served.
	g.Eventually(func() error { return label(owner, dept, ptr.To("false")) }, 20*time.Second, 100*time.Millisecond).Should(refused, "change")
	g.Eventually(func() error { return label(platform, dept, ptr.To("false")) }, 20*time.Second, 100*time.Millisecond).Should(gomega.Succeed(), "platform changes")

	g.Expect(label(owner, dept, nil)).To(refused, "remove")
	g.Expect(label(owner, "whitehall.cloud/cost-centre", ptr.To("x"))).To(
		gomega.MatchError(gomega.ContainSubstring("label(s) whitehall.cloud/cost-centre")), "add another whitehall.cloud/ label")
	g.Expect(label(owner, dept, ptr.To("true"))).To(gomega.Succeed(), "setting the value it has is no change")
	g.Expect(label(owner, "team", ptr.To("b"))).To(gomega.Succeed(), "other labels are the owner's")
	g.Expect(label(owner, "team", nil)).To(gomega.Succeed(), "other labels are the owner's")
	g.Expect(label(owner, "example.com/whitehall.cloud", ptr.To("x"))).To(gomega.Succeed(), "only the whitehall.cloud/ prefix is guarded")
	g.Expect(label(platform, dept, nil)).To(gomega.Succeed(), "platform removes")
	g.Expect(label(platform, "whitehall.cloud/cost-centre", ptr.To("x"))).To(gomega.Succeed(), "platform adds")

	created := func(c client.Client, labels map[string]string) error {
		return c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "chart-labels-new", Labels: labels}}, client.DryRunAll)
	}
	g.Expect(created(owner, map[string]string{dept: "true"})).To(refused, "create with the label")
	g.Expect(created(owner, map[string]string{"team": "a"})).To(gomega.Succeed(), "create without it")
	g.Expect(created(platform, map[string]string{dept: "true"})).To(gomega.Succeed(), "platform creates labelled")
}

func clusterBinding(name, role, user string) *rbacv1.ClusterRoleBinding {
	return &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role},
		Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: user}},
	}
}

// impersonate returns a client acting as user (the admin's kubeconfig may impersonate).
func impersonate(t *testing.T, cfg *rest.Config, user string) client.Client {
	t.Helper()
	c := rest.CopyConfig(cfg)
	c.Impersonate = rest.ImpersonationConfig{UserName: user, Groups: []string{"system:authenticated"}}
	k, err := client.New(c, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return k
}
