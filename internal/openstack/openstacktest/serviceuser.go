package openstacktest

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/whitehall-cloud/whitehall-operator/internal/openstack"
)

// fakeAppCred is one application credential, with what Keystone keeps of it.
type fakeAppCred struct {
	openstack.ApplicationCredential // Secret included: the fake shows it to tests
	projectID                       string
	roles                           []string // role IDs
}

// As returns a view of the cloud logged in as the service user userID, scoped to its
// default project: its application-credential methods act for that user. The rest of
// the state is shared with c. Use LogIn to check the password as Keystone would.
func (c *Cloud) As(userID string) *Cloud {
	c.mu.Lock()
	defer c.mu.Unlock()
	return &Cloud{state: c.state, user: userID, project: c.serviceUsers[userID].ProjectID}
}

// LogIn is a password login as a project's service user, as Factory.ProjectCloud makes
// it. Like Keystone's 401 it fails, with an error wrapping openstack.ErrCredentials, when
// the user does not exist, the password is not the one EnsureServiceUser last set, or
// the user has no role on the project. It is not counted in Calls: the real factory
// caches the login.
func (c *Cloud) LogIn(u openstack.ProjectUser) (*Cloud, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	su, ok := c.serviceUsers[u.UserID]
	if !ok || su.Password != u.Password || !c.hasRole(u.UserID, u.ProjectID) {
		return nil, fmt.Errorf("%w: Keystone refused the login of service user %s on project %s (HTTP 401)",
			openstack.ErrCredentials, u.UserID, u.ProjectID)
	}
	return &Cloud{state: c.state, user: u.UserID, project: u.ProjectID}, nil
}

// hasRole reports whether a user holds any role on a project. Callers hold c.mu.
func (c *state) hasRole(userID, projectID string) bool {
	return len(c.heldRoles(userID, projectID)) > 0
}

// implies is Keystone's bootstrap role chain: admin implies member, member reader.
var implies = map[string]string{"role-admin": "role-member", "role-member": "role-reader"}

// heldRoles returns the IDs of the roles a user holds on a project, directly or
// implied. Callers hold c.mu.
func (c *state) heldRoles(userID, projectID string) map[string]bool {
	held := map[string]bool{}
	for a := range c.assigned[projectID] {
		if a.UserID != userID || a.GroupID != "" {
			continue
		}
		for r := a.RoleID; r != "" && !held[r]; r = implies[r] {
			held[r] = true
		}
	}
	return held
}

// ServiceUsers returns the users made by EnsureServiceUser, by ID, with their passwords.
func (c *Cloud) ServiceUsers() map[string]openstack.ServiceUser {
	c.mu.Lock()
	defer c.mu.Unlock()
	return maps.Clone(c.serviceUsers)
}

// SetServiceUserPassword changes a service user's password behind the operator's back.
func (c *Cloud) SetServiceUserPassword(userID, password string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if u, ok := c.serviceUsers[userID]; ok {
		u.Password = password
		c.serviceUsers[userID] = u
	}
}

// ApplicationCredentials returns a user's application credentials, oldest first, with
// their secrets.
func (c *Cloud) ApplicationCredentials(userID string) []openstack.ApplicationCredential {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]openstack.ApplicationCredential, 0, len(c.appCreds[userID]))
	for _, ac := range c.appCreds[userID] {
		out = append(out, ac.ApplicationCredential)
	}
	return out
}

// ApplicationCredentialRoles returns the names of the roles an application credential
// carries, sorted, or nil if there is no such credential.
func (c *Cloud) ApplicationCredentialRoles(id string) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, creds := range c.appCreds {
		for _, ac := range creds {
			if ac.ID == id {
				var names []string
				for name, rid := range c.roles {
					if slices.Contains(ac.roles, rid) && name != rid {
						names = append(names, name)
					}
				}
				slices.Sort(names)
				return names
			}
		}
	}
	return nil
}

// CheckApplicationCredential logs in with an application credential as a department's
// tools would: nil when the credential exists, has that secret, has not expired, and its
// user still exists and holds at least one of its roles on the project (Keystone keeps
// a credential whose roles were revoked, but refuses it).
func (c *Cloud) CheckApplicationCredential(id, secret string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for userID, creds := range c.appCreds {
		for _, ac := range creds {
			if ac.ID != id {
				continue
			}
			if _, ok := c.serviceUsers[userID]; !ok {
				return fmt.Errorf("%w: Keystone refused application credential %s (HTTP 404)", openstack.ErrCredentials, id)
			}
			held := c.heldRoles(userID, ac.projectID)
			if ac.Secret != secret || (!ac.ExpiresAt.IsZero() && !time.Now().Before(ac.ExpiresAt)) ||
				!slices.ContainsFunc(ac.roles, func(r string) bool { return held[r] }) {
				return fmt.Errorf("%w: Keystone refused application credential %s (HTTP 401)", openstack.ErrCredentials, id)
			}
			return nil
		}
	}
	return fmt.Errorf("%w: Keystone refused application credential %s (HTTP 404)", openstack.ErrCredentials, id)
}

// EnsureServiceUser implements openstack.ServiceUsers.
func (c *Cloud) EnsureServiceUser(_ context.Context, u openstack.ServiceUser) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.call("EnsureServiceUser", u.ProjectID); err != nil {
		return "", err
	}
	id := ""
	if _, ok := c.serviceUsers[u.ID]; ok {
		id = u.ID
	} else {
		for existing, su := range c.serviceUsers {
			if su.Name == u.Name && su.DomainID == u.DomainID {
				id = existing
			}
		}
	}
	if id == "" {
		id = c.newID("user")
		c.logWrite(u.ProjectID, "CreateServiceUser")
	}
	u.ID = id
	c.serviceUsers[id] = u
	c.users[u.DomainID+"/"+u.Name] = id
	c.users[id] = id
	return id, nil
}

// DeleteUser implements openstack.ServiceUsers: the user's application credentials and
// role assignments go with it, as in Keystone.
func (c *Cloud) DeleteUser(_ context.Context, id string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.call("DeleteUser"); err != nil {
		return err
	}
	if u, ok := c.serviceUsers[id]; ok {
		delete(c.users, u.DomainID+"/"+u.Name)
	}
	delete(c.serviceUsers, id)
	delete(c.appCreds, id)
	for key, v := range c.users {
		if v == id {
			delete(c.users, key)
		}
	}
	for _, assigned := range c.assigned {
		for a := range assigned {
			if a.UserID == id {
				delete(assigned, a)
			}
		}
	}
	return nil
}

// actingUser returns the view's user, or an error like Keystone's when there is none.
// Callers hold c.mu.
func (c *Cloud) actingUser() (string, error) {
	if c.user == "" {
		return "", fmt.Errorf("fake: application credentials belong to a project's service user; use As or LogIn, not the admin's cloud")
	}
	if _, ok := c.serviceUsers[c.user]; !ok {
		return "", keystoneError("GET", 401, "The request you have made requires authentication.")
	}
	return c.user, nil
}

// CreateApplicationCredential implements openstack.ApplicationCredentials. Like
// Keystone, it refuses an unknown role (404), a role the user does not hold on the
// project, directly or implied (400), an expiry in the past (400), and a name the user
// already gave another credential (409). With no roles, the credential gets every role
// the user holds.
func (c *Cloud) CreateApplicationCredential(_ context.Context, o openstack.ApplicationCredentialCreate) (*openstack.ApplicationCredential, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.call("CreateApplicationCredential", c.project); err != nil {
		return nil, err
	}
	userID, err := c.actingUser()
	if err != nil {
		return nil, err
	}
	held := c.heldRoles(userID, c.project)
	var roleIDs []string
	for _, name := range o.Roles {
		id, ok := c.roles[name]
		if !ok {
			return nil, keystoneError("POST", 404, fmt.Sprintf("Role %s is not defined", name))
		}
		if !held[id] {
			return nil, keystoneError("POST", 400, "Invalid application credential: Cannot create an application credential with unassigned role")
		}
		roleIDs = append(roleIDs, id)
	}
	if len(o.Roles) == 0 {
		roleIDs = slices.Sorted(maps.Keys(held))
	}
	if !o.ExpiresAt.IsZero() && o.ExpiresAt.Before(time.Now()) {
		return nil, keystoneError("POST", 400, "The 'expires_at' must not be before now.")
	}
	for _, ac := range c.appCreds[userID] {
		if ac.Name == o.Name {
			return nil, keystoneError("POST", 409, "Conflict occurred attempting to store application_credential - Duplicate entry found with name "+o.Name+".")
		}
	}
	secret := make([]byte, 64)
	_, _ = rand.Read(secret)
	ac := fakeAppCred{
		ApplicationCredential: openstack.ApplicationCredential{
			ID: c.newID("appcred"), Name: o.Name, Secret: base64.RawURLEncoding.EncodeToString(secret), ExpiresAt: o.ExpiresAt,
		},
		projectID: c.project,
		roles:     roleIDs,
	}
	c.appCreds[userID] = append(c.appCreds[userID], ac)
	c.logWrite(c.project, "CreateApplicationCredential")
	out := ac.ApplicationCredential
	return &out, nil
}

// ListApplicationCredentials implements openstack.ApplicationCredentials: without
// secrets, as Keystone answers.
func (c *Cloud) ListApplicationCredentials(_ context.Context) ([]openstack.ApplicationCredential, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.call("ListApplicationCredentials", c.project); err != nil {
		return nil, err
	}
	userID, err := c.actingUser()
	if err != nil {
		return nil, err
	}
	out := make([]openstack.ApplicationCredential, 0, len(c.appCreds[userID]))
	for _, ac := range c.appCreds[userID] {
		listed := ac.ApplicationCredential
		listed.Secret = ""
		out = append(out, listed)
	}
	return out, nil
}

// DeleteApplicationCredential implements openstack.ApplicationCredentials.
func (c *Cloud) DeleteApplicationCredential(_ context.Context, id string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.call("DeleteApplicationCredential", c.project); err != nil {
		return err
	}
	userID, err := c.actingUser()
	if err != nil {
		return err
	}
	c.appCreds[userID] = slices.DeleteFunc(c.appCreds[userID], func(ac fakeAppCred) bool { return ac.ID == id })
	return nil
}

// SetEndpoint sets what Endpoint reports.
func (c *Cloud) SetEndpoint(e openstack.Endpoint) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.endpoint = e
}

// Endpoint reports how the fake cloud is reached: by default a public endpoint at
// http://keystone.fake/v3 in RegionOne, with no CA.
func (c *Cloud) Endpoint() openstack.Endpoint {
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.endpoint
	e.CACert = slices.Clone(e.CACert)
	return e
}

func keystoneError(method string, code int, message string) error {
	return &openstack.Error{Service: "identity", Operation: method + " /v3/users", StatusCode: code, CloudMessage: message}
}
