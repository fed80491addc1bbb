package chart

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/onsi/gomega"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

const (
	group             = "whitehall.cloud"
	platformAdminRole = "whitehall-platform-admin"
	financeRole       = "whitehall-finance"
	aggregateToView   = "rbac.authorization.k8s.io/aggregate-to-view"
	aggregateToEdit   = "rbac.authorization.k8s.io/aggregate-to-edit"
	aggregateToAdmin  = "rbac.authorization.k8s.io/aggregate-to-admin"
)

// TestUserRolesRender checks the ClusterRoles for people as rendered: which built-in
// roles they aggregate into, that view only reads, that edit writes only
// TestEnvironments, and the values that turn them off.
func TestUserRolesRender(t *testing.T) {
	t.Parallel()
	objs := render(t)
	view := get[rbacv1.ClusterRole](t, objs, "ClusterRole", fullname+"-view")
	edit := get[rbacv1.ClusterRole](t, objs, "ClusterRole", fullname+"-edit")
	platform := get[rbacv1.ClusterRole](t, objs, "ClusterRole", platformAdminRole)

	for _, tc := range []struct {
		role *rbacv1.ClusterRole
		want []string
	}{
		{view, []string{aggregateToView, aggregateToEdit, aggregateToAdmin}},
		{edit, []string{aggregateToEdit, aggregateToAdmin}},
		{platform, nil},
	} {
		var got []string
		for k, v := range tc.role.Labels {
			if k == aggregateToView || k == aggregateToEdit || k == aggregateToAdmin {
				if v != "true" {
					t.Errorf("%s: label %s=%q, want \"true\"", tc.role.Name, k, v)
				}
				got = append(got, k)
			}
		}
		slices.Sort(got)
		want := slices.Sorted(slices.Values(tc.want))
		if !slices.Equal(got, want) {
			t.Errorf("%s aggregates into %v, want %v", tc.role.Name, got, want)
		}
		if tc.role.AggregationRule != nil {
			t.Errorf("%s has an aggregationRule: it is aggregated, not aggregating", tc.role.Name)
		}
	}

	for _, rule := range view.Rules {
		for _, verb := range rule.Verbs {
			if !slices.Contains([]string{"get", "list", "watch"}, verb) {
				t.Errorf("view grants %q on %v", verb, rule.Resources)
			}
		}
	}
	for _, res := range []string{"tenants", "computequotas", "testenvironments", "peakseasons", "departmentpolicies"} {
		if !grants(view.Rules, group, res, "get", "list", "watch") || !grants(view.Rules, group, res+"/status", "get") {
			t.Errorf("view does not read %s and its status: %+v", res, view.Rules)
		}
	}
	// Every department's costs: a Cloud's status.usage and the UsageReports.
	for _, res := range []string{"clouds", "clouds/status", "usagereports", "usagereports/status"} {
		for _, role := range []*rbacv1.ClusterRole{view, edit} {
			if grants(role.Rules, group, res) {
				t.Errorf("%s grants %s, which carries every department's costs: %+v", role.Name, res, role.Rules)
			}
		}
	}
	for _, rule := range edit.Rules {
		for _, res := range rule.Resources {
			if res != "testenvironments" && res != "testenvironments/scale" {
				t.Errorf("edit grants %v on %s: departments only write TestEnvironments", rule.Verbs, res)
			}
		}
	}
	for _, res := range []string{"tenants", "computequotas", "peakseasons", "clouds"} {
		if !grants(platform.Rules, group, res, "get", "list", "watch", "create", "update", "patch", "delete") {
			t.Errorf("%s does not control %s: %+v", platformAdminRole, res, platform.Rules)
		}
	}

	for _, tc := range []struct {
		set  string
		gone []string
	}{
		{"rbac.aggregateToDefaultRoles=false", []string{fullname + "-view", fullname + "-edit"}},
		{"rbac.platformAdminRole=false", []string{platformAdminRole}},
		{"rbac.financeRole=false", []string{financeRole}},
	} {
		objs := render(t, tc.set)
		for _, name := range append([]string{fullname + "-view", fullname + "-edit", platformAdminRole, financeRole}, fullname) {
			if present, want := objs.find("ClusterRole", name) != nil, !slices.Contains(tc.gone, name); present != want {
				t.Errorf("with %s: ClusterRole %s rendered: %v, want %v", tc.set, name, present, want)
			}
		}
	}
}

// testUserRoles binds users to the built-in view, edit and admin roles in namespace hmrc
// and one to whitehall-platform-admin across the cluster, and asks the API server
// (SubjectAccessReviews) what each may do, once kube-controller-manager has aggregated
// the chart's roles into the built-in ones. Run after the chart is installed.
func testUserRoles(ctx context.Context, t *testing.T, k8s client.Client) {
	const ns = "hmrc"
	if err := k8s.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	bind := func(user, role string) {
		rb := &rbacv1.RoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: user, Namespace: ns},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role},
			Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: user}},
		}
		if err := k8s.Create(ctx, rb); err != nil {
			t.Fatal(err)
		}
	}
	bind("viewer", "view")
	bind("editor", "edit")
	bind("ns-admin", "admin")
	crb := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "platform-team"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: platformAdminRole},
		Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: "platform"}},
	}
	// Cluster-wide readers: an auditor bound to the built-in view everywhere, and
	// finance bound to whitehall-finance.
	auditor := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "auditors"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "view"},
		Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: "auditor"}},
	}
	finance := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "finance"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: financeRole},
		Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: "finance"}},
	}
	for _, b := range []*rbacv1.ClusterRoleBinding{crb, auditor, finance} {
		if err := k8s.Create(ctx, b); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			// The install test goes on to uninstall and reinstall; leave it the cluster it had.
			_ = k8s.Delete(context.Background(), b)
		})
	}

	type check struct {
		user     string
		verb     string
		resource string // resource[/subresource]
		ns       string // "" for cluster scope
	}
	allowed := []check{
		{"viewer", "get", "tenants", ns},
		{"viewer", "list", "tenants", ns},
		{"viewer", "watch", "tenants", ns},
		{"viewer", "get", "testenvironments", ns},
		{"viewer", "list", "testenvironments", ns},
		{"viewer", "watch", "testenvironments", ns},
		{"viewer", "get", "computequotas", ns},
		{"viewer", "list", "computequotas", ns},
		{"viewer", "watch", "computequotas", ns},
		{"viewer", "get", "testenvironments/status", ns},
		{"editor", "create", "testenvironments", ns},
		{"editor", "update", "testenvironments", ns},
		{"editor", "patch", "testenvironments", ns},
		{"editor", "delete", "testenvironments", ns},
		{"editor", "update", "testenvironments/scale", ns},
		{"editor", "patch", "testenvironments/scale", ns},
		{"editor", "get", "tenants", ns}, // view's rules flow into edit
		{"ns-admin", "create", "testenvironments", ns},
		{"ns-admin", "list", "computequotas", ns},
		{"platform", "create", "tenants", ns},
		{"platform", "create", "computequotas", ns},
		{"platform", "delete", "tenants", "dwp"},
		{"platform", "create", "peakseasons", ""},
		{"platform", "create", "clouds", ""},
		{"platform", "update", "clouds", ""},
		{"platform", "list", "usagereports", ""},
		{"auditor", "list", "tenants", ""}, // view, cluster-wide, still reads the rest
		{"auditor", "get", "peakseasons", ""},
		{"auditor", "list", "departmentpolicies", ""},
		{"finance", "list", "usagereports", ""},
		{"finance", "get", "usagereports", ""},
		{"finance", "watch", "usagereports", ""},
		{"finance", "list", "clouds", ""},
		{"finance", "get", "clouds/status", ""},
	}
	denied := []check{
		{"viewer", "create", "testenvironments", ns},
		{"viewer", "update", "testenvironments/scale", ns},
		{"viewer", "get", "tenants", "dwp"}, // the binding is hmrc's only
		{"editor", "create", "tenants", ns},
		{"editor", "update", "tenants", ns},
		{"editor", "delete", "tenants", ns},
		{"editor", "create", "computequotas", ns},
		{"editor", "update", "computequotas", ns},
		{"editor", "delete", "computequotas", ns},
		{"editor", "update", "testenvironments/status", ns},
		{"editor", "create", "clouds", ""},
		{"editor", "update", "clouds", ""},
		{"editor", "delete", "clouds", ""},
		// A RoleBinding never reaches cluster-scoped objects; asking within the
		// namespace checks that edit's rules do not name Clouds at all.
		{"editor", "create", "clouds", ns},
		{"editor", "create", "peakseasons", ns},
		{"ns-admin", "create", "tenants", ns},
		{"ns-admin", "update", "computequotas", ns},
		{"ns-admin", "create", "clouds", ns},
		{"platform", "create", "testenvironments", ns},
		// Every department's costs are not the built-in roles' to read.
		{"auditor", "list", "usagereports", ""},
		{"auditor", "get", "usagereports", ""},
		{"auditor", "list", "clouds", ""},
		{"auditor", "get", "clouds/status", ""},
		{"viewer", "list", "usagereports", ns},
		{"ns-admin", "get", "clouds", ns},
		{"finance", "create", "usagereports", ""},
		{"finance", "update", "clouds", ""},
		{"finance", "list", "tenants", ""},
	}
	review := func(c check) (bool, error) {
		attr := &authorizationv1.ResourceAttributes{Group: group, Verb: c.verb, Namespace: c.ns}
		attr.Resource, attr.Subresource, _ = strings.Cut(c.resource, "/")
		sar := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{User: c.user, ResourceAttributes: attr}}
		if err := k8s.Create(ctx, sar); err != nil {
			return false, err
		}
		return sar.Status.Allowed, nil
	}
	name := func(c check) string {
		where := "cluster-wide"
		if c.ns != "" {
			where = "in " + c.ns
		}
		return fmt.Sprintf("%s %s %s %s", c.user, c.verb, c.resource, where)
	}

	g := gomega.NewWithT(t)
	start := time.Now()
	// Aggregation is kube-controller-manager's, asynchronous: wait for every allowance
	// before believing any denial.
	for _, c := range allowed {
		g.Eventually(func() (bool, error) { return review(c) }, 30*time.Second, 100*time.Millisecond).
			Should(gomega.BeTrue(), "%s: allowed", name(c))
	}
	t.Logf("aggregated within %v", time.Since(start).Round(time.Millisecond))
	for _, c := range denied {
		ok, err := review(c)
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			t.Errorf("%s: allowed, want denied", name(c))
		}
	}
}
