package tenant

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"

	"k8s.io/utils/ptr"

	"github.com/whitehall-cloud/whitehall-operator/internal/openstack"
)

func TestProjectDrift(t *testing.T) {
	base := func() *whv1.Tenant {
		return &whv1.Tenant{
			ObjectMeta: metav1.ObjectMeta{Namespace: "hmrc", Name: "sa"},
			Spec: whv1.TenantSpec{Project: whv1.ProjectSpec{
				Description: ptr.To("d"), Tags: []string{"a", "b"}, Enabled: ptr.To(true),
			}},
		}
	}
	inSync := openstack.Project{Name: "hmrc_sa", Description: "d", Tags: []string{"b", "a"}, Enabled: true}
	cases := []struct {
		reason  string
		tenant  func(*whv1.Tenant)
		project func(*openstack.Project)
		want    []string
	}{
		{"nothing differs; tag order does not matter", nil, nil, nil},
		{"renamed and disabled by hand", nil, func(p *openstack.Project) { p.Name, p.Enabled = "x", false }, []string{"name", "enabled"}},
		{"a tag added by hand", nil, func(p *openstack.Project) { p.Tags = append(p.Tags, "c") }, []string{"tags"}},
		{"description not managed when the spec leaves it out", func(t *whv1.Tenant) { t.Spec.Project.Description = nil },
			func(p *openstack.Project) { p.Description = "set by hand" }, nil},
		{"tags not managed when the spec leaves them out", func(t *whv1.Tenant) { t.Spec.Project.Tags = nil },
			func(p *openstack.Project) { p.Tags = []string{"z"} }, nil},
		{"an empty tag list clears tags", func(t *whv1.Tenant) { t.Spec.Project.Tags = []string{} }, nil, []string{"tags"}},
		{"an imported project keeps the name it was adopted with", func(t *whv1.Tenant) {
			t.Spec.Import = &whv1.ProjectImport{ID: ptr.To("p1")}
			t.Status.ProjectName = "legacy"
		}, func(p *openstack.Project) { p.Name = "legacy" }, nil},
		{"a project made under the old default name keeps it", func(t *whv1.Tenant) { t.Status.ProjectName = "hmrc-sa" },
			func(p *openstack.Project) { p.Name = "hmrc-sa" }, nil},
	}
	for _, tc := range cases {
		t.Run(tc.reason, func(t *testing.T) {
			tenant, project := base(), inSync
			project.Tags = append([]string(nil), inSync.Tags...)
			if tc.tenant != nil {
				tc.tenant(tenant)
			}
			if tc.project != nil {
				tc.project(&project)
			}
			update, changed := projectDrift(tenant, &project)
			if diff := cmp.Diff(tc.want, changed); diff != "" {
				t.Errorf("changed fields (-want +got):\n%s", diff)
			}
			if update.IsEmpty() != (len(tc.want) == 0) {
				t.Errorf("update.IsEmpty() = %v with changes %v", update.IsEmpty(), changed)
			}
		})
	}
}

func TestDescribeContents(t *testing.T) {
	got := describeContents(openstack.Contents{
		Servers: []string{"s1", "s2", "s3", "s4", "s5", "s6", "s7"},
		Ports:   []string{"p1"},
	})
	want := "7 server(s): s1, s2, s3, s4, s5 and 2 more; 1 port(s): p1"
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("describeContents (-want +got):\n%s", diff)
	}
	got = describeContents(openstack.Contents{
		Snapshots: []string{"sn"}, Backups: []string{"b"}, Images: []string{"i"}, FloatingIPs: []string{"f"},
		Containers: []string{"c"}, Networks: []string{"n1", "n2"}, Routers: []string{"r"}, SecurityGroups: []string{"g"},
	})
	want = "1 volume snapshot(s): sn; 1 volume backup(s): b; 1 image(s): i; 1 floating IP(s): f; 1 object container(s): c; " +
		"2 network(s): n1, n2; 1 router(s): r; 1 security group(s): g"
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("describeContents of the other kinds (-want +got):\n%s", diff)
	}
}
