package openstack

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/applicationcredentials"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/tokens"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/users"
	"github.com/gophercloud/gophercloud/v2/pagination"
	"sigs.k8s.io/yaml"
)

// The project's own identity. Inside a department's project the operator acts as the
// project's service user — a Keystone user made for that project alone, holding roles
// there and nowhere else — never as the cloud admin. Its application credentials are
// what a department's own tools get.

// ServiceUser is the Keystone user that acts inside one project.
type ServiceUser struct {
	// ID of the user when already known; empty to find it by Name or create it.
	ID          string
	Name        string
	DomainID    string
	ProjectID   string // its default project
	Password    string
	Description string
}

// ServiceUsers creates and deletes project service users (an admin's call).
type ServiceUsers interface {
	// EnsureServiceUser returns the ID of the user u describes: the one with u.ID, else
	// the one named u.Name in u.DomainID, else a new one. Its password, default project
	// and description are set to u's, so a user found after a crash is usable again.
	// Setting the password of a user that exists revokes all its tokens and costs a
	// second (see resetServiceUser): call it while the user's ID is not known, not on
	// every resync.
	EnsureServiceUser(ctx context.Context, u ServiceUser) (string, error)
	// DeleteUser deletes a user and with it its application credentials; a user already
	// gone is not an error.
	DeleteUser(ctx context.Context, id string) error
}

// ProjectUser is how the operator logs in as a project's service user.
type ProjectUser struct {
	UserID    string
	Password  string
	ProjectID string
}

// ApplicationCredentialCreate describes a new application credential of the logged-in
// user, restricted to roles (names) on the project the login is scoped to.
type ApplicationCredentialCreate struct {
	Name        string
	Description string
	Roles       []string
	ExpiresAt   time.Time
}

// ApplicationCredential is one application credential. Secret is set only in the
// answer to its creation: Keystone never shows it again.
type ApplicationCredential struct {
	ID        string
	Name      string
	Secret    string
	ExpiresAt time.Time
}

// ApplicationCredentials are the application credentials of the user a cloud is logged
// in as: Keystone lets only the user itself make them. A credential may carry only roles
// the user holds on the project (directly or implied: member implies reader); revoking
// a role from the user keeps the credentials but refuses those left with none of theirs.
type ApplicationCredentials interface {
	CreateApplicationCredential(ctx context.Context, c ApplicationCredentialCreate) (*ApplicationCredential, error)
	ListApplicationCredentials(ctx context.Context) ([]ApplicationCredential, error)
	// DeleteApplicationCredential deletes one; one already gone is not an error.
	DeleteApplicationCredential(ctx context.Context, id string) error
}

// Endpoint is how a cloud is reached: what a clouds.yaml for it must say.
type Endpoint struct {
	AuthURL   string
	Region    string
	Interface string
	// Insecure is true when the credentials turn TLS verification off (verify: false).
	Insecure bool
	// CACert is the PEM CA bundle the credentials name, if any.
	CACert []byte
}

// Endpoint reports how this cloud is reached: what the credentials it logged in with
// say, for a clouds.yaml written for the same cloud.
func (c *Cloud) Endpoint() Endpoint {
	if c.login == nil {
		return Endpoint{Interface: string(gophercloud.AvailabilityPublic)}
	}
	e := c.login.endpoint
	e.CACert = bytes.Clone(e.CACert)
	return e
}

// EnsureServiceUser implements ServiceUsers.
func (c *Cloud) EnsureServiceUser(ctx context.Context, u ServiceUser) (_ string, err error) {
	defer c.convert(&err)
	if u.Name == "" || u.DomainID == "" || u.Password == "" {
		return "", errors.New("a service user needs a name, a domain and a password")
	}
	if u.ID != "" {
		switch err := c.resetServiceUser(ctx, u.ID, u); {
		case err == nil:
			return u.ID, nil
		case !IsNotFound(err):
			return "", err
		}
	}
	id, err := c.findUser(ctx, u.DomainID, u.Name)
	if err != nil {
		return "", err
	}
	if id == "" {
		enabled := true
		created, err := users.Create(ctx, c.identity, users.CreateOpts{
			Name:             u.Name,
			DomainID:         u.DomainID,
			DefaultProjectID: u.ProjectID,
			Description:      u.Description,
			Enabled:          &enabled,
			Password:         u.Password,
		}).Extract()
		if err == nil {
			return created.ID, nil
		}
		if StatusCode(err) != http.StatusConflict {
			return "", fmt.Errorf("creating service user %q: %w", u.Name, redact(err, u.Password))
		}
		// Made meanwhile by another reconcile: that one is ours too.
		if id, err = c.findUser(ctx, u.DomainID, u.Name); err != nil {
			return "", err
		}
		if id == "" {
			return "", fmt.Errorf("creating service user %q: Keystone reported a conflict, but domain %s has no such user", u.Name, u.DomainID)
		}
	}
	return id, c.resetServiceUser(ctx, id, u)
}

// findUser returns the ID of the user named name in domainID, or "" when there is none.
func (c *Cloud) findUser(ctx context.Context, domainID, name string) (string, error) {
	var id string
	err := users.List(c.identity, users.ListOpts{DomainID: domainID, Name: name}).EachPage(ctx,
		func(_ context.Context, page pagination.Page) (bool, error) {
			list, err := users.ExtractUsers(page)
			if err != nil {
				return false, err
			}
			for _, u := range list {
				if u.Name == name && u.DomainID == domainID {
					id = u.ID
					return false, nil
				}
			}
			return true, nil
		})
	if err != nil {
		return "", fmt.Errorf("looking for user %q in domain %s: %w", name, domainID, err)
	}
	return id, nil
}

// revocationResolution is how coarse Keystone's token revocation events are: a token
// issued within a second of an event that covers its user is refused. Tests shorten it.
var revocationResolution = time.Second

// resetServiceUser sets the user's password, default project and description, in one
// PATCH, so the password in hand works whatever happened before.
//
// Setting a password, even the same one, revokes every token of the user, and Keystone
// also refuses tokens issued within the same second as that revocation. So it waits that
// second out: a login right after (ProjectCloud) would otherwise get tokens that Nova
// refuses with 401, even after logging in again.
func (c *Cloud) resetServiceUser(ctx context.Context, id string, u ServiceUser) error {
	err := users.Update(ctx, c.identity, id, users.UpdateOpts{
		DefaultProjectID: u.ProjectID,
		Description:      &u.Description,
		Password:         u.Password,
	}).Err
	if err != nil {
		return notFound(fmt.Errorf("updating service user %s: %w", id, redact(err, u.Password)), "user %s", id)
	}
	timer := time.NewTimer(revocationResolution)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return nil
	}
}

// DeleteUser implements ServiceUsers.
func (c *Cloud) DeleteUser(ctx context.Context, id string) (err error) {
	defer c.convert(&err)
	err = users.Delete(ctx, c.identity, id).ExtractErr()
	if err != nil && !IsNotFound(err) {
		return fmt.Errorf("deleting user %s: %w", id, err)
	}
	return nil
}

// currentUser remembers the ID of the user a cloud is logged in as: a token's user never
// changes when it is renewed.
type currentUser struct {
	mu sync.Mutex
	id string
}

// userID returns the ID of the user this cloud is logged in as, read from its token.
func (c *Cloud) userID() (string, error) {
	c.user.mu.Lock()
	defer c.user.mu.Unlock()
	if c.user.id != "" {
		return c.user.id, nil
	}
	// A password or application-credential login gives a CreateResult, a token login a
	// GetResult; both name the user.
	result, ok := c.provider.GetAuthResult().(interface{ ExtractUser() (*tokens.User, error) })
	if !ok {
		return "", errors.New("the login did not come from Keystone v3: no user to act for")
	}
	user, err := result.ExtractUser()
	if err != nil {
		return "", fmt.Errorf("reading the user from the token: %w", err)
	}
	if user.ID == "" {
		return "", errors.New("the token names no user")
	}
	c.user.id = user.ID
	return user.ID, nil
}

// CreateApplicationCredential implements ApplicationCredentials. The credential is
// restricted (it cannot make other credentials or trusts); with no roles it carries
// every role the user has on the project.
func (c *Cloud) CreateApplicationCredential(ctx context.Context, o ApplicationCredentialCreate) (_ *ApplicationCredential, err error) {
	defer c.convert(&err)
	userID, err := c.userID()
	if err != nil {
		return nil, err
	}
	opts := applicationcredentials.CreateOpts{
		Name:         o.Name,
		Description:  o.Description,
		Unrestricted: false,
	}
	for _, r := range o.Roles {
		opts.Roles = append(opts.Roles, applicationcredentials.Role{Name: r})
	}
	if !o.ExpiresAt.IsZero() {
		// Keystone reads the time without a zone as UTC.
		at := o.ExpiresAt.UTC()
		opts.ExpiresAt = &at
	}
	ac, err := applicationcredentials.Create(ctx, c.identity, userID, opts).Extract()
	if err != nil {
		return nil, fmt.Errorf("creating application credential %q: %w", o.Name, err)
	}
	return &ApplicationCredential{ID: ac.ID, Name: ac.Name, Secret: ac.Secret, ExpiresAt: ac.ExpiresAt}, nil
}

// ListApplicationCredentials implements ApplicationCredentials.
func (c *Cloud) ListApplicationCredentials(ctx context.Context) (_ []ApplicationCredential, err error) {
	defer c.convert(&err)
	userID, err := c.userID()
	if err != nil {
		return nil, err
	}
	pages, err := applicationcredentials.List(c.identity, userID, nil).AllPages(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing application credentials: %w", err)
	}
	list, err := applicationcredentials.ExtractApplicationCredentials(pages)
	if err != nil {
		return nil, err
	}
	out := make([]ApplicationCredential, 0, len(list))
	for _, ac := range list {
		out = append(out, ApplicationCredential{ID: ac.ID, Name: ac.Name, ExpiresAt: ac.ExpiresAt})
	}
	return out, nil
}

// DeleteApplicationCredential implements ApplicationCredentials.
func (c *Cloud) DeleteApplicationCredential(ctx context.Context, id string) (err error) {
	defer c.convert(&err)
	userID, err := c.userID()
	if err != nil {
		return err
	}
	err = applicationcredentials.Delete(ctx, c.identity, userID, id).ExtractErr()
	if err != nil && !IsNotFound(err) {
		return fmt.Errorf("deleting application credential %s: %w", id, err)
	}
	return nil
}

// appCredCloudsYAML is the clouds.yaml a department gets: what openstackclient and
// gophercloud both read.
type appCredCloudsYAML struct {
	Clouds map[string]appCredCloud `json:"clouds"`
}

type appCredCloud struct {
	AuthType           string      `json:"auth_type"`
	Auth               appCredAuth `json:"auth"`
	RegionName         string      `json:"region_name,omitempty"`
	Interface          string      `json:"interface"`
	IdentityAPIVersion int         `json:"identity_api_version"`
	CACert             string      `json:"cacert,omitempty"`
	Verify             *bool       `json:"verify,omitempty"`
}

type appCredAuth struct {
	AuthURL                     string `json:"auth_url"`
	ApplicationCredentialID     string `json:"application_credential_id"`
	ApplicationCredentialSecret string `json:"application_credential_secret"`
}

// ApplicationCredentialCloudsYAML renders a clouds.yaml with one cloud, cloudName, that
// logs in with the application credential id/secret at this cloud's endpoint (auth URL,
// region, interface, and the CA file path cacertPath when the cloud has a CA).
func ApplicationCredentialCloudsYAML(e Endpoint, cloudName, id, secret, cacertPath string) ([]byte, error) {
	switch {
	case cloudName == "":
		return nil, errors.New("clouds.yaml: no cloud name")
	case e.AuthURL == "":
		return nil, errors.New("clouds.yaml: the cloud has no auth URL")
	case id == "" || secret == "":
		return nil, errors.New("clouds.yaml: no application credential to write")
	case len(e.CACert) > 0 && cacertPath == "":
		return nil, errors.New("clouds.yaml: the cloud has a CA bundle but no path for it was given")
	}
	cloud := appCredCloud{
		AuthType: "v3applicationcredential",
		Auth: appCredAuth{
			AuthURL:                     e.AuthURL,
			ApplicationCredentialID:     id,
			ApplicationCredentialSecret: secret,
		},
		RegionName:         e.Region,
		Interface:          e.Interface,
		IdentityAPIVersion: 3,
	}
	if cloud.Interface == "" {
		cloud.Interface = string(gophercloud.AvailabilityPublic)
	}
	if len(e.CACert) > 0 {
		cloud.CACert = cacertPath
	}
	if e.Insecure {
		verify := false
		cloud.Verify = &verify
	}
	out, err := yaml.Marshal(appCredCloudsYAML{Clouds: map[string]appCredCloud{cloudName: cloud}})
	if err != nil {
		// Marshalling these types cannot fail on their values; say nothing of them anyway.
		return nil, errors.New("clouds.yaml: cannot render")
	}
	return out, nil
}

var (
	_ ServiceUsers           = (*Cloud)(nil)
	_ ApplicationCredentials = (*Cloud)(nil)
)
