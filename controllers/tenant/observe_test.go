package tenant

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"
	"github.com/whitehall-cloud/whitehall-operator/internal/openstack"
)

func TestProjectDifferences(t *testing.T) {
	tenant := func(edit func(*whv1.Tenant)) *whv1.Tenant {
		t := &whv1.Tenant{ObjectMeta: metav1.ObjectMeta{Namespace: "hmrc", Name: "vat"}}
		t.Spec.Project.Name = ptr.To("vat")
		if edit != nil {
			edit(t)
		}
		return t
	}
	project := &openstack.Project{ID: "p1", Name: "vat", Description: "old", Tags: []string{"b", "a"}, Enabled: true}
	cases := []struct {
		reason  string
		tenant  *whv1.Tenant
		project *openstack.Project
		want    []whv1.DriftEntry
	}{
		{reason: "no project: Manage creates it", tenant: tenant(nil),
			want: []whv1.DriftEntry{{Field: "project", Desired: "vat", Actual: "absent"}}},
		{reason: "fields the spec leaves out are not managed", tenant: tenant(nil), project: project},
		{reason: "tags in another order are no drift", tenant: tenant(func(t *whv1.Tenant) { t.Spec.Project.Tags = []string{"a", "b"} }), project: project},
		{reason: "description, tags and enabled differ", project: project,
			tenant: tenant(func(t *whv1.Tenant) {
				t.Spec.Project.Description = ptr.To("new")
				t.Spec.Project.Tags = []string{"c"}
				t.Spec.Project.Enabled = ptr.To(false)
			}),
			want: []whv1.DriftEntry{
				{Field: "description", Desired: "new", Actual: "old"},
				{Field: "tags", Desired: "c", Actual: "a,b"},
				{Field: "enabled", Desired: "false", Actual: "true"},
			}},
		{reason: "an import matching its spec: the owner record the switch makes is no drift (observe's message says it)",
			tenant: tenant(func(t *whv1.Tenant) {
				t.Spec.Project.Name = nil
				t.Spec.Import = &whv1.ProjectImport{ID: ptr.To("p1")}
				t.Status.ProjectName = "vat"
			}), project: project},
	}
	for _, tc := range cases {
		got := projectDifferences(tc.tenant, tc.project)
		if diff := cmp.Diff(tc.want, got, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.reason, diff)
		}
	}
}

func TestAssignmentDifferences(t *testing.T) {
	plan := assignmentPlan{
		grants:  []openstack.Assignment{{GroupID: "g1", RoleID: "role-member"}},
		revokes: []openstack.Assignment{{UserID: "u1", RoleID: "role-admin"}},
	}
	got := assignmentDifferences(plan, map[string]string{"role-member": "member"})
	want := []whv1.DriftEntry{
		{Field: "roleAssignments", Desired: "absent", Actual: "role-admin to user u1"},
		{Field: "roleAssignments", Desired: "member to group g1", Actual: "absent"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
