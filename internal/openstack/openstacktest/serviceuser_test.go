package openstacktest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/whitehall-cloud/whitehall-operator/internal/openstack"
)

func TestServiceUserLifecycle(t *testing.T) {
	ctx := context.Background()
	c := New()
	p, err := c.CreateProject(ctx, openstack.ProjectCreate{Name: "hmrc-sa", DomainID: "default", Owner: "uid-1", OwnerNamespace: "hmrc", OwnerName: "sa"})
	if err != nil {
		t.Fatal(err)
	}
	u := openstack.ServiceUser{Name: "whitehall-project-" + p.ID, DomainID: "default", ProjectID: p.ID, Password: "pw-1"}
	id, err := c.EnsureServiceUser(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	// Found again by name, after a crash, with a new password.
	u.Password = "pw-2"
	if again, err := c.EnsureServiceUser(ctx, u); err != nil || again != id {
		t.Fatalf("EnsureServiceUser again: %q, %v; want %q", again, err, id)
	}
	if got := c.ServiceUsers()[id].Password; got != "pw-2" {
		t.Errorf("password %q, want the last one set", got)
	}

	login := openstack.ProjectUser{UserID: id, Password: "pw-2", ProjectID: p.ID}
	if _, err := c.LogIn(login); !errors.Is(err, openstack.ErrCredentials) {
		t.Errorf("login with no role on the project: %v, want a credentials error", err)
	}
	if err := c.Grant(ctx, p.ID, openstack.Assignment{UserID: id, RoleID: "role-member"}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.LogIn(openstack.ProjectUser{UserID: id, Password: "pw-1", ProjectID: p.ID}); !errors.Is(err, openstack.ErrCredentials) {
		t.Errorf("login with the old password: %v, want a credentials error", err)
	}
	project, err := c.LogIn(login)
	if err != nil {
		t.Fatal(err)
	}

	// member implies reader; admin is not held.
	if _, err := project.CreateApplicationCredential(ctx, openstack.ApplicationCredentialCreate{Name: "x", Roles: []string{"admin"}}); openstack.StatusCode(err) != 400 {
		t.Errorf("a role not held: %v, want Keystone's 400", err)
	}
	ac, err := project.CreateApplicationCredential(ctx, openstack.ApplicationCredentialCreate{
		Name: "hmrc-1", Roles: []string{"member", "reader"}, ExpiresAt: time.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := project.CreateApplicationCredential(ctx, openstack.ApplicationCredentialCreate{Name: "hmrc-1"}); openstack.StatusCode(err) != 409 {
		t.Errorf("a second credential with the same name: %v, want 409", err)
	}
	if diff := cmp.Diff([]string{"member", "reader"}, c.ApplicationCredentialRoles(ac.ID)); diff != "" {
		t.Errorf("roles (-want +got):\n%s", diff)
	}
	if err := c.CheckApplicationCredential(ac.ID, ac.Secret); err != nil {
		t.Errorf("the new credential does not work: %v", err)
	}
	listed, err := c.As(id).ListApplicationCredentials(ctx)
	if err != nil || len(listed) != 1 || listed[0].ID != ac.ID || listed[0].Secret != "" {
		t.Errorf("list = %+v, %v; want the one credential, without its secret", listed, err)
	}
	if _, err := c.ListApplicationCredentials(ctx); err == nil {
		t.Error("the admin's cloud listed a service user's credentials")
	}
	if got := c.Calls("CreateApplicationCredential"); got != 3 {
		t.Errorf("%d CreateApplicationCredential calls counted, want 3", got)
	}

	// Revoking the role keeps the credential but refuses it, as Keystone does.
	if err := c.Revoke(ctx, p.ID, openstack.Assignment{UserID: id, RoleID: "role-member"}); err != nil {
		t.Fatal(err)
	}
	if err := c.CheckApplicationCredential(ac.ID, ac.Secret); !errors.Is(err, openstack.ErrCredentials) {
		t.Errorf("a credential whose roles were revoked: %v, want refused", err)
	}
	if err := project.DeleteApplicationCredential(ctx, ac.ID); err != nil {
		t.Fatal(err)
	}
	if len(c.ApplicationCredentials(id)) != 0 {
		t.Error("the credential outlived its deletion")
	}

	if err := c.DeleteUser(ctx, id); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteUser(ctx, id); err != nil {
		t.Errorf("deleting a user already gone: %v", err)
	}
	if _, ok := c.ServiceUsers()[id]; ok {
		t.Error("the user outlived its deletion")
	}
	if _, err := c.UserID(ctx, u.Name, "default"); !openstack.IsNotFound(err) {
		t.Errorf("the deleted user is still found by name: %v", err)
	}
}

func TestProjectOwner(t *testing.T) {
	ctx := context.Background()
	c := New()
	p := c.AddProject(openstack.Project{Name: "imported", DomainID: "default"})
	if (openstack.ProjectUpdate{}).IsEmpty() != true || (openstack.ProjectUpdate{Owner: &openstack.ProjectOwner{}}).IsEmpty() {
		t.Error("IsEmpty does not account for Owner")
	}
	got, err := c.UpdateProject(ctx, p.ID, openstack.ProjectUpdate{Owner: &openstack.ProjectOwner{UID: "uid-2", Namespace: "dwp", Name: "pensions"}})
	if err != nil {
		t.Fatal(err)
	}
	if got.Owner != "uid-2" || got.OwnerNamespace != "dwp" || got.OwnerName != "pensions" {
		t.Errorf("after adoption: %+v", got)
	}
}
