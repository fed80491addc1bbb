package openstack

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/controller-runtime/pkg/client"
	fakeclient "sigs.k8s.io/controller-runtime/pkg/client/fake"
)

// miniKeystone answers the few Keystone calls service users need: password logins (by
// user ID, scoped to a project the user has a role on, or as the admin by name), users,
// and application credentials. It records each request as "METHOD path".
type miniKeystone struct {
	t   *testing.T
	srv *httptest.Server

	mu        sync.Mutex
	users     map[string]*miniUser // by ID
	nextID    int
	requests  []string
	patches   []map[string]any
	creates   []map[string]any
	appCreds  []map[string]any // create bodies
	logins    int
	onCreate  func() // runs before a user create is answered (a racing reconcile)
	tokenUser string // the user of the last accepted login
}

type miniUser struct {
	ID, Name, DomainID, Password, DefaultProject string
	Projects                                     map[string]bool
}

func newMiniKeystone(t *testing.T) *miniKeystone {
	k := &miniKeystone{t: t, users: map[string]*miniUser{
		"admin-id": {ID: "admin-id", Name: "admin", DomainID: "default", Password: password},
	}}
	k.srv = httptest.NewServer(http.HandlerFunc(k.serve))
	t.Cleanup(k.srv.Close)
	return k
}

func (k *miniKeystone) addUser(u *miniUser) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.users[u.ID] = u
}

func (k *miniKeystone) user(id string) miniUser {
	k.mu.Lock()
	defer k.mu.Unlock()
	return *k.users[id]
}

func (k *miniKeystone) reply(w http.ResponseWriter, status int, body any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	if body != nil {
		_ = json.NewEncoder(w).Encode(body)
	}
}

func (k *miniKeystone) serve(w http.ResponseWriter, r *http.Request) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.requests = append(k.requests, r.Method+" "+r.URL.Path)
	var body map[string]any
	if r.Body != nil {
		raw, _ := io.ReadAll(r.Body)
		_ = json.Unmarshal(raw, &body)
	}
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/") // v3, users, {id}, …
	switch {
	case r.URL.Path == "/v3/auth/tokens" && r.Method == http.MethodPost:
		k.login(w, body)
	case len(parts) == 2 && parts[1] == "users" && r.Method == http.MethodGet:
		var list []map[string]any
		for _, u := range k.users {
			if u.Name == r.URL.Query().Get("name") && u.DomainID == r.URL.Query().Get("domain_id") {
				list = append(list, map[string]any{"id": u.ID, "name": u.Name, "domain_id": u.DomainID})
			}
		}
		k.reply(w, http.StatusOK, map[string]any{"users": list, "links": map[string]any{}})
	case len(parts) == 2 && parts[1] == "users" && r.Method == http.MethodPost:
		if k.onCreate != nil {
			k.onCreate()
		}
		u := body["user"].(map[string]any)
		k.creates = append(k.creates, u)
		for _, existing := range k.users {
			if existing.Name == u["name"] && existing.DomainID == u["domain_id"] {
				k.reply(w, http.StatusConflict, map[string]any{"error": map[string]any{"message": "Duplicate entry", "code": 409}})
				return
			}
		}
		k.nextID++
		nu := &miniUser{ID: fmt.Sprintf("user-%d", k.nextID), Name: u["name"].(string), DomainID: u["domain_id"].(string),
			Password: u["password"].(string), DefaultProject: u["default_project_id"].(string), Projects: map[string]bool{}}
		k.users[nu.ID] = nu
		k.reply(w, http.StatusCreated, map[string]any{"user": map[string]any{"id": nu.ID, "name": nu.Name, "domain_id": nu.DomainID}})
	case len(parts) == 3 && parts[1] == "users" && r.Method == http.MethodPatch:
		u, ok := k.users[parts[2]]
		if !ok {
			k.reply(w, http.StatusNotFound, map[string]any{"error": map[string]any{"message": "Could not find user.", "code": 404}})
			return
		}
		patch := body["user"].(map[string]any)
		k.patches = append(k.patches, patch)
		if p, ok := patch["password"].(string); ok {
			if strings.HasPrefix(p, "bad") {
				k.reply(w, http.StatusBadRequest, map[string]any{"error": map[string]any{
					"message": "Invalid input for field 'password': '" + p + "' is not valid", "code": 400}})
				return
			}
			u.Password = p
		}
		k.reply(w, http.StatusOK, map[string]any{"user": map[string]any{"id": u.ID, "name": u.Name}})
	case len(parts) == 3 && parts[1] == "users" && r.Method == http.MethodDelete:
		if _, ok := k.users[parts[2]]; !ok {
			k.reply(w, http.StatusNotFound, map[string]any{"error": map[string]any{"message": "Could not find user.", "code": 404}})
			return
		}
		delete(k.users, parts[2])
		w.WriteHeader(http.StatusNoContent)
	case len(parts) == 4 && parts[3] == "application_credentials" && r.Method == http.MethodPost:
		if parts[2] != k.tokenUser {
			k.reply(w, http.StatusForbidden, map[string]any{"error": map[string]any{"message": "not yours", "code": 403}})
			return
		}
		ac := body["application_credential"].(map[string]any)
		k.appCreds = append(k.appCreds, ac)
		k.reply(w, http.StatusCreated, map[string]any{"application_credential": map[string]any{
			"id": "ac-1", "name": ac["name"], "secret": "generated-secret", "expires_at": ac["expires_at"]}})
	case len(parts) == 5 && parts[3] == "application_credentials" && r.Method == http.MethodDelete:
		k.reply(w, http.StatusNotFound, map[string]any{"error": map[string]any{"message": "Could not find application credential.", "code": 404}})
	default:
		http.NotFound(w, r)
	}
}

// login accepts the admin by name and a user by ID with its password, scoped to a
// project it has a role on. Callers hold k.mu.
func (k *miniKeystone) login(w http.ResponseWriter, body map[string]any) {
	var req struct {
		Auth struct {
			Identity struct {
				Password struct {
					User struct{ ID, Name, Password string }
				}
			}
			Scope struct {
				Project struct{ ID, Name string }
			}
		}
	}
	raw, _ := json.Marshal(body)
	_ = json.Unmarshal(raw, &req)
	in := req.Auth.Identity.Password.User
	var u *miniUser
	switch {
	case in.ID != "":
		u = k.users[in.ID]
		if u != nil && (u.Password != in.Password || !u.Projects[req.Auth.Scope.Project.ID]) {
			u = nil
		}
	case in.Name == "admin" && in.Password == password:
		u = k.users["admin-id"]
	}
	if u == nil {
		k.reply(w, http.StatusUnauthorized, map[string]any{"error": map[string]any{"message": "The request you have made requires authentication.", "code": 401}})
		return
	}
	k.logins++
	k.tokenUser = u.ID
	w.Header().Set("X-Subject-Token", "token-"+u.ID)
	k.reply(w, http.StatusCreated, map[string]any{"token": map[string]any{
		"expires_at": "2099-01-01T00:00:00Z",
		"user":       map[string]any{"id": u.ID, "name": u.Name},
		"catalog": []any{map[string]any{"type": "identity", "endpoints": []any{
			map[string]any{"interface": "public", "region": "RegionOne", "region_id": "RegionOne", "url": k.srv.URL + "/v3"},
			map[string]any{"interface": "internal", "region": "RegionOne", "region_id": "RegionOne", "url": k.srv.URL + "/v3"},
		}}},
	}})
}

func (k *miniKeystone) take() []string {
	k.mu.Lock()
	defer k.mu.Unlock()
	out := k.requests
	k.requests = nil
	return out
}

// factory is a Factory with a Secret naming this Keystone, with cacert as its CA.
func (k *miniKeystone) factory(t *testing.T, cacert []byte) (*Factory, CredentialsRef) {
	t.Helper()
	data := map[string]string{CloudsYAMLKey: cloudsYAML(k.srv.URL+"/v3") + "    interface: internal\n    verify: false\n"}
	if cacert != nil {
		data[CACertKey] = string(cacert)
	}
	c := fakeclient.NewClientBuilder().WithObjects(secret(data)).Build()
	return httpFactory(c, 5*time.Second, RateLimit{}), CredentialsRef{Namespace: "hmrc", SecretName: "creds", CloudName: "dev"}
}

// noRevocationWait makes resetServiceUser return at once: the mini Keystone revokes
// nothing.
func noRevocationWait(t *testing.T) {
	old := revocationResolution
	revocationResolution = 0
	t.Cleanup(func() { revocationResolution = old })
}

func TestEnsureServiceUser(t *testing.T) {
	noRevocationWait(t)
	ctx := context.Background()
	want := ServiceUser{Name: "whitehall-project-p1", DomainID: "default", ProjectID: "p1", Password: "pw-1", Description: "for p1"}
	cases := []struct {
		reason   string
		existing *miniUser
		id       string
		race     bool
		wantID   string
		wantReqs []string
	}{
		{reason: "a new user is created, enabled, with everything in one request",
			wantID:   "user-1",
			wantReqs: []string{"GET /v3/users", "POST /v3/users"}},
		{reason: "a user known by ID gets the password, project and description in one PATCH",
			existing: &miniUser{ID: "u-known", Name: want.Name, DomainID: "default", Password: "old"}, id: "u-known",
			wantID:   "u-known",
			wantReqs: []string{"PATCH /v3/users/u-known"}},
		{reason: "an ID that is gone falls back to the name",
			existing: &miniUser{ID: "u-named", Name: want.Name, DomainID: "default", Password: "old"}, id: "u-gone",
			wantID:   "u-named",
			wantReqs: []string{"PATCH /v3/users/u-gone", "GET /v3/users", "PATCH /v3/users/u-named"}},
		{reason: "a user found by name after a crash gets the password in hand",
			existing: &miniUser{ID: "u-named", Name: want.Name, DomainID: "default", Password: "old"},
			wantID:   "u-named",
			wantReqs: []string{"GET /v3/users", "PATCH /v3/users/u-named"}},
		{reason: "a user made by a racing reconcile (409) is found again and reset",
			race:     true,
			wantID:   "u-racer",
			wantReqs: []string{"GET /v3/users", "POST /v3/users", "GET /v3/users", "PATCH /v3/users/u-racer"}},
	}
	for _, tc := range cases {
		t.Run(tc.reason, func(t *testing.T) {
			k := newMiniKeystone(t)
			if tc.existing != nil {
				k.addUser(tc.existing)
			}
			if tc.race {
				k.onCreate = func() {
					k.users["u-racer"] = &miniUser{ID: "u-racer", Name: want.Name, DomainID: "default", Password: "racer"}
				}
			}
			f, ref := k.factory(t, nil)
			admin, err := f.Cloud(ctx, ref)
			if err != nil {
				t.Fatal(err)
			}
			k.take()
			u := want
			u.ID = tc.id
			id, err := admin.EnsureServiceUser(ctx, u)
			if err != nil {
				t.Fatal(err)
			}
			if id != tc.wantID {
				t.Errorf("ID %q, want %q", id, tc.wantID)
			}
			if diff := cmp.Diff(tc.wantReqs, k.take()); diff != "" {
				t.Errorf("requests (-want +got):\n%s", diff)
			}
			if got := k.user(id); got.Password != "pw-1" {
				t.Errorf("password %q, want the caller's", got.Password)
			}
			for _, c := range k.creates {
				if c["enabled"] != true || c["default_project_id"] != "p1" || c["description"] != "for p1" || c["password"] != "pw-1" {
					t.Errorf("create %v is not an enabled user with the caller's project, description and password", c)
				}
			}
			for _, p := range k.patches {
				if p["default_project_id"] != "p1" || p["description"] != "for p1" {
					t.Errorf("PATCH %v does not set the default project and description", p)
				}
			}
		})
	}
}

func TestEnsureServiceUserErrorsQuoteNoPassword(t *testing.T) {
	noRevocationWait(t)
	k := newMiniKeystone(t)
	k.addUser(&miniUser{ID: "u-1", Name: "svc", DomainID: "default"})
	f, ref := k.factory(t, nil)
	ctx := context.Background()
	admin, err := f.Cloud(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	const pw = "bad-Passw0rd-value"
	_, err = admin.EnsureServiceUser(ctx, ServiceUser{ID: "u-1", Name: "svc", DomainID: "default", Password: pw})
	if err == nil || StatusCode(err) != http.StatusBadRequest {
		t.Fatalf("got %v, want Keystone's 400", err)
	}
	if strings.Contains(err.Error(), pw) || strings.Contains(Message(err), pw) {
		t.Errorf("error %q (message %q) quotes the password", err, Message(err))
	}
}

func TestDeleteUserAlreadyGone(t *testing.T) {
	k := newMiniKeystone(t)
	f, ref := k.factory(t, nil)
	admin, err := f.Cloud(context.Background(), ref)
	if err != nil {
		t.Fatal(err)
	}
	if err := admin.DeleteUser(context.Background(), "u-gone"); err != nil {
		t.Errorf("DeleteUser of a user already gone: %v", err)
	}
}

func TestProjectCloud(t *testing.T) {
	clearOSEnv(t)
	k := newMiniKeystone(t)
	k.addUser(&miniUser{ID: "svc-1", Name: "svc", DomainID: "default", Password: "pw-1", Projects: map[string]bool{"p1": true}})
	ca := testCA(t)
	f, ref := k.factory(t, ca)
	ctx := context.Background()
	user := ProjectUser{UserID: "svc-1", Password: "pw-1", ProjectID: "p1"}

	project, err := f.ProjectCloud(ctx, ref, user)
	if err != nil {
		t.Fatal(err)
	}
	again, err := f.ProjectCloud(ctx, ref, user)
	if err != nil || again != project {
		t.Fatalf("second ProjectCloud: %v, same login %v; want the cached login", err, again == project)
	}
	if k.logins != 2 { // the admin, then the service user once
		t.Errorf("%d logins, want 2", k.logins)
	}

	// The project cloud is reached as the admin's is, and acts for the service user.
	wantEndpoint := Endpoint{AuthURL: k.srv.URL + "/v3", Region: "RegionOne", Interface: "internal", Insecure: true, CACert: ca}
	if diff := cmp.Diff(wantEndpoint, project.Endpoint()); diff != "" {
		t.Errorf("endpoint (-want +got):\n%s", diff)
	}
	expires := time.Date(2027, 1, 31, 12, 0, 0, 0, time.FixedZone("CET", 3600))
	ac, err := project.CreateApplicationCredential(ctx, ApplicationCredentialCreate{Name: "hmrc-1", Roles: []string{"member", "reader"}, ExpiresAt: expires})
	if err != nil {
		t.Fatal(err)
	}
	if ac.Secret != "generated-secret" {
		t.Errorf("secret %q, want Keystone's", ac.Secret)
	}
	wantBody := map[string]any{
		"name": "hmrc-1", "unrestricted": false, "expires_at": "2027-01-31T11:00:00",
		"roles": []any{map[string]any{"name": "member"}, map[string]any{"name": "reader"}},
	}
	if diff := cmp.Diff(wantBody, k.appCreds[0]); diff != "" {
		t.Errorf("create request (-want +got):\n%s", diff)
	}
	if err := project.DeleteApplicationCredential(ctx, "ac-gone"); err != nil {
		t.Errorf("deleting a credential already gone: %v", err)
	}

	// A new password is a new login; the old one is forgotten.
	k.mu.Lock()
	k.users["svc-1"].Password = "pw-2"
	k.mu.Unlock()
	rotated := user
	rotated.Password = "pw-2"
	if next, err := f.ProjectCloud(ctx, ref, rotated); err != nil || next == project {
		t.Fatalf("after a new password: %v, same login %v", err, next == project)
	}
	f.mu.Lock()
	for key := range f.clouds {
		if key.user == "svc-1" && key.password != sha256.Sum256([]byte("pw-2")) {
			t.Error("the login with the old password is still cached")
		}
	}
	f.mu.Unlock()
}

func TestProjectCloudRefusedLogin(t *testing.T) {
	k := newMiniKeystone(t)
	k.addUser(&miniUser{ID: "svc-1", Name: "svc", DomainID: "default", Password: "right", Projects: map[string]bool{"p1": true}})
	f, ref := k.factory(t, nil)
	const wrong = "wrong-Passw0rd"
	for _, user := range []ProjectUser{
		{UserID: "svc-1", Password: wrong, ProjectID: "p1"},
		{UserID: "svc-1", Password: "right", ProjectID: "p-no-role"},
	} {
		_, err := f.ProjectCloud(context.Background(), ref, user)
		if !errors.Is(err, ErrCredentials) || !strings.Contains(err.Error(), "service user svc-1 on project "+user.ProjectID) {
			t.Errorf("got %v, want a credentials error naming the user and project", err)
		}
		if err != nil && (strings.Contains(err.Error(), wrong) || strings.Contains(err.Error(), password)) {
			t.Errorf("error %q quotes a password", err)
		}
	}
}

func TestProjectCloudOutlivesTheAdminSecret(t *testing.T) {
	k := newMiniKeystone(t)
	k.addUser(&miniUser{ID: "svc-1", Name: "svc", DomainID: "default", Password: "pw", Projects: map[string]bool{"p1": true, "p2": true}})
	f, ref := k.factory(t, nil)
	ctx := context.Background()
	first, err := f.ProjectCloud(ctx, ref, ProjectUser{UserID: "svc-1", Password: "pw", ProjectID: "p1"})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.reader.(client.Client).Delete(ctx, secret(nil)); err != nil {
		t.Fatal(err)
	}
	if again, err := f.ProjectCloud(ctx, ref, ProjectUser{UserID: "svc-1", Password: "pw", ProjectID: "p1"}); err != nil || again != first {
		t.Fatalf("with the Secret gone: %v, same login %v; want the last login", err, again == first)
	}
	// A login not made before is made with the admin login's endpoint.
	if _, err := f.ProjectCloud(ctx, ref, ProjectUser{UserID: "svc-1", Password: "pw", ProjectID: "p2"}); err != nil {
		t.Errorf("a new project login with the Secret gone: %v", err)
	}
	never := CredentialsRef{Namespace: "hmrc", SecretName: "never", CloudName: "dev"}
	if _, err := f.ProjectCloud(ctx, never, ProjectUser{UserID: "svc-1", Password: "pw", ProjectID: "p1"}); !errors.Is(err, ErrCredentials) {
		t.Errorf("a Secret never seen: got %v, want a credentials error", err)
	}
}
