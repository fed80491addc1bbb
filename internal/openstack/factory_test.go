package openstack

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	fakeclient "sigs.k8s.io/controller-runtime/pkg/client/fake"
)

const password = "s3cret-Passw0rd"

func secret(data map[string]string) *corev1.Secret {
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "hmrc", Name: "creds"}, Data: map[string][]byte{}}
	for k, v := range data {
		s.Data[k] = []byte(v)
	}
	return s
}

func cloudsYAML(authURL string) string {
	return `clouds:
  dev:
    auth:
      auth_url: ` + authURL + `
      username: admin
      password: ` + password + `
      project_name: admin
      user_domain_name: Default
      project_domain_name: Default
    region_name: RegionOne
`
}

func TestFactoryCredentialErrors(t *testing.T) {
	ref := CredentialsRef{Namespace: "hmrc", SecretName: "creds", CloudName: "dev"}
	cases := []struct {
		reason  string
		objects []client.Object
		ref     CredentialsRef
		want    string
	}{
		{"no Secret", nil, ref, "Secret hmrc/creds not found"},
		{"no clouds.yaml key", []client.Object{secret(map[string]string{"other": "x"})}, ref, `has no key "clouds.yaml"`},
		{"a cloud not in the file", []client.Object{secret(map[string]string{CloudsYAMLKey: cloudsYAML("http://127.0.0.1:1/v3")})},
			CredentialsRef{Namespace: "hmrc", SecretName: "creds", CloudName: "prod"}, "the cloud is not in clouds.yaml"},
		{"a file that is not YAML", []client.Object{secret(map[string]string{CloudsYAMLKey: "clouds: [" + password})}, ref, "clouds.yaml is not valid YAML"},
		{"a cacert that is not PEM", []client.Object{secret(map[string]string{CloudsYAMLKey: cloudsYAML("http://127.0.0.1:1/v3"), CACertKey: "nope"})}, ref, "holds no PEM certificate"},
	}
	for _, tc := range cases {
		t.Run(tc.reason, func(t *testing.T) {
			f := httpFactory(fakeclient.NewClientBuilder().WithObjects(tc.objects...).Build(), time.Second, RateLimit{})
			_, err := f.Cloud(context.Background(), tc.ref)
			if !errors.Is(err, ErrCredentials) {
				t.Fatalf("error %v does not wrap ErrCredentials", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not say %q", err, tc.want)
			}
			if strings.Contains(err.Error(), password) {
				t.Errorf("error %q leaks the password", err)
			}
		})
	}
}

// keystone answers token requests like Keystone, with a catalog, and counts logins.
func keystone(t *testing.T, status int) (*httptest.Server, *atomic.Int32) {
	return keystoneServer(t, status, false)
}

// keystoneServer is keystone, served over TLS when tls is set.
func keystoneServer(t *testing.T, status int, tls bool) (*httptest.Server, *atomic.Int32) {
	var logins atomic.Int32
	var srv *httptest.Server
	srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v3/auth/tokens" || r.Method != http.MethodPost {
			http.NotFound(w, r)
			return
		}
		logins.Add(1)
		if status != http.StatusCreated {
			w.WriteHeader(status)
			_, _ = w.Write([]byte(`{"error": {"message": "The request you have made requires authentication.", "code": 401}}`))
			return
		}
		w.Header().Set("X-Subject-Token", "token")
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		_, _ = w.Write([]byte(`{"token": {"expires_at": "2099-01-01T00:00:00Z", "catalog": [
			{"type": "identity", "endpoints": [{"interface": "public", "region": "RegionOne", "region_id": "RegionOne", "url": "` + srv.URL + `/v3"}]}]}}`))
	}))
	if tls {
		srv.StartTLS()
	} else {
		srv.Start()
	}
	t.Cleanup(srv.Close)
	return srv, &logins
}

func TestFactoryCachesOneLoginPerSecretContent(t *testing.T) {
	srv, logins := keystone(t, http.StatusCreated)
	s := secret(map[string]string{CloudsYAMLKey: cloudsYAML(srv.URL + "/v3")})
	c := fakeclient.NewClientBuilder().WithObjects(s).Build()
	f := httpFactory(c, 5*time.Second, RateLimit{})
	ref := CredentialsRef{Namespace: "hmrc", SecretName: "creds", CloudName: "dev"}

	var wg sync.WaitGroup
	clouds := make([]*Cloud, 8)
	for i := range clouds {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cloud, err := f.Cloud(context.Background(), ref)
			if err != nil {
				t.Errorf("Cloud(): %v", err)
			}
			clouds[i] = cloud
		}()
	}
	wg.Wait()
	if n := logins.Load(); n != 1 {
		t.Fatalf("8 concurrent reconciles logged in %d times, want 1", n)
	}
	for _, c := range clouds[1:] {
		if c != clouds[0] {
			t.Fatal("concurrent callers got different clients")
		}
	}

	// A rotated Secret means a new login with the new content.
	s.Data[CloudsYAMLKey] = []byte(strings.Replace(cloudsYAML(srv.URL+"/v3"), password, "rotated", 1))
	if err := c.Update(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Cloud(context.Background(), ref); err != nil {
		t.Fatal(err)
	}
	if n := logins.Load(); n != 2 {
		t.Fatalf("after rotation: %d logins, want 2", n)
	}
}

func TestFactorySharesOneLoginBetweenSecretsWithTheSameContent(t *testing.T) {
	srv, logins := keystone(t, http.StatusCreated)
	content := cloudsYAML(srv.URL + "/v3")
	hmrc := secret(map[string]string{CloudsYAMLKey: content})
	dwp := secret(map[string]string{CloudsYAMLKey: content})
	dwp.Namespace = "dwp"
	c := fakeclient.NewClientBuilder().WithObjects(hmrc, dwp).Build()
	f := httpFactory(c, 5*time.Second, RateLimit{})
	ctx := context.Background()
	a, err := f.Cloud(ctx, CredentialsRef{Namespace: "hmrc", SecretName: "creds", CloudName: "dev"})
	if err != nil {
		t.Fatal(err)
	}
	b, err := f.Cloud(ctx, CredentialsRef{Namespace: "dwp", SecretName: "creds", CloudName: "dev"})
	if err != nil {
		t.Fatal(err)
	}
	if a != b || logins.Load() != 1 {
		t.Fatalf("two Secrets with one content: %d logins, same client %v; want 1 login, one client", logins.Load(), a == b)
	}

	// Once dwp's Secret is rotated, hmrc keeps the shared login and dwp gets its own.
	dwp.Data[CloudsYAMLKey] = []byte(strings.Replace(content, password, "rotated", 1))
	if err := c.Update(ctx, dwp); err != nil {
		t.Fatal(err)
	}
	if b, err = f.Cloud(ctx, CredentialsRef{Namespace: "dwp", SecretName: "creds", CloudName: "dev"}); err != nil || b == a {
		t.Fatalf("after rotating dwp's Secret: %v, same client %v", err, b == a)
	}
	if again, _ := f.Cloud(ctx, CredentialsRef{Namespace: "hmrc", SecretName: "creds", CloudName: "dev"}); again != a || logins.Load() != 2 {
		t.Fatalf("hmrc lost its login (same client %v, %d logins; want 2)", again == a, logins.Load())
	}
}

func TestFactoryRefusedLoginIsACredentialsError(t *testing.T) {
	srv, _ := keystone(t, http.StatusUnauthorized)
	f := httpFactory(fakeclient.NewClientBuilder().WithObjects(secret(map[string]string{CloudsYAMLKey: cloudsYAML(srv.URL + "/v3")})).Build(), 5*time.Second, RateLimit{})
	_, err := f.Cloud(context.Background(), CredentialsRef{Namespace: "hmrc", SecretName: "creds", CloudName: "dev"})
	if !errors.Is(err, ErrCredentials) || !strings.Contains(err.Error(), "Keystone refused the login") {
		t.Fatalf("got %v, want a credentials error saying Keystone refused the login", err)
	}
	if strings.Contains(err.Error(), password) {
		t.Errorf("error %q leaks the password", err)
	}
}

func TestCloudForCleanupOutlivesTheSecret(t *testing.T) {
	srv, _ := keystone(t, http.StatusCreated)
	s := secret(map[string]string{CloudsYAMLKey: cloudsYAML(srv.URL + "/v3")})
	c := fakeclient.NewClientBuilder().WithObjects(s).Build()
	f := httpFactory(c, 5*time.Second, RateLimit{})
	ref := CredentialsRef{Namespace: "hmrc", SecretName: "creds", CloudName: "dev"}
	ctx := context.Background()

	if _, err := f.CloudForCleanup(ctx, CredentialsRef{Namespace: "hmrc", SecretName: "never", CloudName: "dev"}); !errors.Is(err, ErrCredentials) {
		t.Fatalf("a Secret never seen: got %v, want a credentials error", err)
	}
	first, err := f.Cloud(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Delete(ctx, s); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Cloud(ctx, ref); !errors.Is(err, ErrCredentials) {
		t.Fatalf("Cloud() after the Secret went: got %v, want a credentials error", err)
	}
	cleanup, err := f.CloudForCleanup(ctx, ref)
	if err != nil || cleanup != first {
		t.Fatalf("CloudForCleanup() = %p, %v; want the last login %p", cleanup, err, first)
	}
}

func TestFactoryForgetsWhatNothingUses(t *testing.T) {
	hmrcKeystone, hmrcLogins := keystone(t, http.StatusCreated)
	dwpKeystone, _ := keystone(t, http.StatusCreated)
	hmrc := secret(map[string]string{CloudsYAMLKey: cloudsYAML(hmrcKeystone.URL + "/v3")})
	dwp := secret(map[string]string{CloudsYAMLKey: cloudsYAML(dwpKeystone.URL + "/v3")})
	dwp.Namespace = "dwp"
	c := fakeclient.NewClientBuilder().WithObjects(hmrc, dwp).Build()
	f := httpFactory(c, 5*time.Second, RateLimit{QPS: 100, Burst: 10})
	now := time.Date(2027, 1, 5, 9, 0, 0, 0, time.UTC)
	f.now = func() time.Time { return now }
	f.ForgetUnusedAfter(30 * time.Minute)
	ctx := context.Background()
	hmrcRef := CredentialsRef{Namespace: "hmrc", SecretName: "creds", CloudName: "dev"}
	dwpRef := CredentialsRef{Namespace: "dwp", SecretName: "creds", CloudName: "dev"}
	sizes := func() [3]int {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.limitersMu.Lock()
		defer f.limitersMu.Unlock()
		return [3]int{len(f.clouds), len(f.seen), len(f.limiters)}
	}

	first, err := f.Cloud(ctx, hmrcRef)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Cloud(ctx, dwpRef); err != nil {
		t.Fatal(err)
	}
	if got := sizes(); got != [3]int{2, 2, 2} {
		t.Fatalf("two clouds in use: logins, Secret contents, limiters = %v; want 2 of each", got)
	}

	// hmrc is reconciled every 20 minutes; dwp's objects are gone.
	for range 2 {
		now = now.Add(20 * time.Minute)
		again, err := f.Cloud(ctx, hmrcRef)
		if err != nil || again != first {
			t.Fatalf("hmrc's login was not kept: %v, same %v", err, again == first)
		}
	}
	if got := sizes(); got != [3]int{1, 1, 1} {
		t.Errorf("dwp unused for 40 minutes: logins, Secret contents, limiters = %v; want hmrc's only", got)
	}
	if n := hmrcLogins.Load(); n != 1 {
		t.Errorf("hmrc logged in %d times; a login in use is never dropped", n)
	}

	// hmrc's Secret goes with its namespace; the cleanup that keeps asking for it keeps
	// the last login.
	if err := c.Delete(ctx, hmrc); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		now = now.Add(20 * time.Minute)
		if cleanup, err := f.CloudForCleanup(ctx, hmrcRef); err != nil || cleanup != first {
			t.Fatalf("cleanup lost the last login after the Secret went: %v", err)
		}
	}

	// Nothing asks for anything for an hour.
	now = now.Add(time.Hour)
	if _, err := f.Cloud(ctx, CredentialsRef{Namespace: "other", SecretName: "none", CloudName: "dev"}); !errors.Is(err, ErrCredentials) {
		t.Fatalf("a Secret that does not exist: %v", err)
	}
	if got := sizes(); got != [3]int{0, 0, 0} {
		t.Errorf("after an hour unused: logins, Secret contents, limiters = %v; want none", got)
	}
}

// httpFactory is a Factory that lets departments' logins use http, as the test
// Keystones do.
func httpFactory(reader client.Reader, timeout time.Duration, limit RateLimit) *Factory {
	f := NewFactory(reader, timeout, limit)
	if err := f.SetLoginPolicy(LoginPolicy{AllowHTTP: true}); err != nil {
		panic(err)
	}
	return f
}
