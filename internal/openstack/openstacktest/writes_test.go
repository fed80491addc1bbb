package openstacktest

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/whitehall-cloud/whitehall-operator/internal/openstack"
	"github.com/whitehall-cloud/whitehall-operator/internal/quota"
)

// TestWrites: the write log holds the changes made through the interfaces, one entry
// per field or assignment, and nothing for reads or for the *Directly helpers.
func TestWrites(t *testing.T) {
	ctx := context.Background()
	c := New()
	p := c.AddProject(openstack.Project{Name: "p", DomainID: "default", Enabled: true})
	c.GrantDirectly(p.ID, openstack.Assignment{GroupID: "g", RoleID: "role-reader"})
	c.SetLimitDirectly(p.ID, quota.ComputeService, "cores", 3)
	if _, err := c.GetProject(ctx, p.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetQuota(ctx, quota.ComputeService, p.ID); err != nil {
		t.Fatal(err)
	}
	desc, tags := "d", []string{"a", "b"}
	if _, err := c.UpdateProject(ctx, p.ID, openstack.ProjectUpdate{Description: &desc, Tags: &tags}); err != nil {
		t.Fatal(err)
	}
	if err := c.Revoke(ctx, p.ID, openstack.Assignment{GroupID: "g", RoleID: "role-reader"}); err != nil {
		t.Fatal(err)
	}
	if err := c.Grant(ctx, p.ID, openstack.Assignment{UserID: "u", RoleID: "role-member"}); err != nil {
		t.Fatal(err)
	}
	if err := c.SetQuota(ctx, quota.ComputeService, p.ID, quota.Limits{quota.Cores: 8, quota.Instances: 2}); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"UpdateProject description=d", "UpdateProject tags=a,b",
		"Revoke role-reader group g", "Grant role-member user u",
		"SetQuota compute.cores=8", "SetQuota compute.instances=2",
	}
	if diff := cmp.Diff(want, c.Writes(p.ID)); diff != "" {
		t.Errorf("writes (-want +got):\n%s", diff)
	}
	if got := c.Writes("other"); len(got) != 0 {
		t.Errorf("another project's writes: %v", got)
	}
}
