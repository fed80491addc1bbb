package openstack

import (
	"context"
	"encoding/pem"
	"errors"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/controller-runtime/pkg/client"
	fakeclient "sigs.k8s.io/controller-runtime/pkg/client/fake"
)

// withCloudKey puts line into the cloud entry of cloudsYAML (indented as the entry's
// keys), or under auth when underAuth is set.
func withCloudKey(authURL, line string, underAuth bool) string {
	indent, after := "    ", "    region_name: RegionOne\n"
	if underAuth {
		indent, after = "      ", "      password: "+password+"\n"
	}
	return strings.Replace(cloudsYAML(authURL), after, after+indent+line+"\n", 1)
}

func TestFactoryRefusesCloudsYAMLKeysThatNameFiles(t *testing.T) {
	srv, logins := keystone(t, http.StatusCreated)
	const caHint = `put the CA into the Secret's "cacert" key`
	cases := []struct {
		reason    string
		line      string
		underAuth bool
		namespace string // "" for the department's
		want      string
	}{
		{"a CA file read until the pod is OOM-killed", "cacert: /dev/zero", false, "", `clouds.yaml key "cacert" names a file on the operator; ` + caHint},
		{"a CA path that does not exist", "cacert: /nonexistent", false, "", `clouds.yaml key "cacert" names a file on the operator; ` + caHint},
		{"a CA path that exists: the same answer, no filesystem fact leaks", "cacert: /etc/hostname", false, "", `clouds.yaml key "cacert" names a file on the operator; ` + caHint},
		{"a client certificate", "cert: /etc/hostname", false, "", `clouds.yaml key "cert" names a file on the operator; client certificates are not supported`},
		{"a client key", "key: /dev/zero", false, "", `clouds.yaml key "key" names a file on the operator; client certificates are not supported`},
		{"a profile in clouds-public.yaml", "profile: rackspace", false, "", `clouds.yaml key "profile" names a profile in a clouds-public.yaml on the operator`},
		{"a cloud in clouds-public.yaml", "cloud: rackspace", false, "", `clouds.yaml key "cloud" names a cloud in a clouds-public.yaml on the operator`},
		{"a CA under auth", "cacert: /dev/zero", true, "", `clouds.yaml key "auth.cacert" names a file on the operator; ` + caHint},
		{"a client certificate under auth", "cert: /dev/zero", true, "", `clouds.yaml key "auth.cert" names a file`},
		{"a client key under auth", "key: /dev/zero", true, "", `clouds.yaml key "auth.key" names a file`},
		{"the platform's own CA path copied from a workstation", "cacert: /home/me/ca.pem", false, "whitehall-system", `clouds.yaml key "cacert" names a file on the operator; ` + caHint},
	}
	for _, tc := range cases {
		t.Run(tc.reason, func(t *testing.T) {
			s := secret(map[string]string{CloudsYAMLKey: withCloudKey(srv.URL+"/v3", tc.line, tc.underAuth)})
			if tc.namespace != "" {
				s.Namespace = tc.namespace
			}
			f := NewFactory(fakeclient.NewClientBuilder().WithObjects(s).Build(), 5*time.Second, RateLimit{})
			if err := f.SetLoginPolicy(LoginPolicy{PlatformNamespace: "whitehall-system", AllowHTTP: true}); err != nil {
				t.Fatal(err)
			}
			_, err := f.Cloud(context.Background(), CredentialsRef{Namespace: s.Namespace, SecretName: "creds", CloudName: "dev"})
			if !errors.Is(err, ErrCredentials) {
				t.Fatalf("error %v does not wrap ErrCredentials", err)
			}
			value := strings.TrimSpace(strings.SplitN(tc.line, ":", 2)[1])
			if msg := err.Error(); !strings.Contains(msg, tc.want) || strings.Contains(msg, value) || strings.Contains(msg, password) {
				t.Errorf("error %q: want it to say %q, without the value %q or the password", msg, tc.want, value)
			}
		})
	}
	if n := logins.Load(); n != 0 {
		t.Errorf("%d logins with refused credentials, want none", n)
	}
}

func TestFactoryTakesTheCAFromTheSecret(t *testing.T) {
	srv, logins := keystoneServer(t, http.StatusCreated, true)
	ca := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}))
	cases := []struct {
		reason     string
		cloudsYAML string
	}{
		{"an inline CA", cloudsYAML(srv.URL + "/v3")},
		// The clouds.yaml the operator writes for a department names where the Secret is
		// mounted for openstackclient; beside an inline CA the path is never opened.
		{"an inline CA and the path where the Secret is mounted", withCloudKey(srv.URL+"/v3", "cacert: /etc/openstack/cacert", false)},
	}
	for _, tc := range cases {
		t.Run(tc.reason, func(t *testing.T) {
			s := secret(map[string]string{CloudsYAMLKey: tc.cloudsYAML, CACertKey: ca})
			f := NewFactory(fakeclient.NewClientBuilder().WithObjects(s).Build(), 5*time.Second, RateLimit{})
			cloud, err := f.Cloud(context.Background(), CredentialsRef{Namespace: "hmrc", SecretName: "creds", CloudName: "dev"})
			if err != nil {
				t.Fatalf("Cloud(): %v", err)
			}
			if diff := cmp.Diff(ca, string(cloud.Endpoint().CACert)); diff != "" {
				t.Errorf("the cloud's CA (-Secret +cloud):\n%s", diff)
			}
		})
	}
	if n := logins.Load(); n != int32(len(cases)) {
		t.Errorf("%d logins, want %d", n, len(cases))
	}
}

func TestFactoryHoldsDepartmentsToHTTPS(t *testing.T) {
	srv, logins := keystone(t, http.StatusCreated)
	hmrc := secret(map[string]string{CloudsYAMLKey: cloudsYAML(srv.URL + "/v3")})
	platform := secret(map[string]string{CloudsYAMLKey: cloudsYAML(srv.URL + "/v3")})
	platform.Namespace = "whitehall-system"
	c := fakeclient.NewClientBuilder().WithObjects(hmrc, platform).Build()
	ctx := context.Background()
	login := func(policy LoginPolicy, namespace string) error {
		f := NewFactory(c, 5*time.Second, RateLimit{})
		if err := f.SetLoginPolicy(policy); err != nil {
			t.Fatal(err)
		}
		_, err := f.Cloud(ctx, CredentialsRef{Namespace: namespace, SecretName: "creds", CloudName: "dev"})
		return err
	}

	strict := LoginPolicy{PlatformNamespace: "whitehall-system"}
	err := login(strict, "hmrc")
	if want := "auth_url must be https (the operator was not started with --allow-http-auth-url)"; !errors.Is(err, ErrCredentials) || !strings.Contains(err.Error(), want) {
		t.Fatalf("a department's http auth_url: got %v, want a credentials error saying %q", err, want)
	}
	if n := logins.Load(); n != 0 {
		t.Fatalf("the refused auth_url was reached %d times", n)
	}
	if err := login(strict, "whitehall-system"); err != nil {
		t.Errorf("the platform's own http Cloud (trusted): %v", err)
	}
	if err := login(LoginPolicy{PlatformNamespace: "whitehall-system", AllowHTTP: true}, "hmrc"); err != nil {
		t.Errorf("a department's http auth_url with --allow-http-auth-url: %v", err)
	}
	err = login(LoginPolicy{PlatformNamespace: "whitehall-system", AllowHTTP: true, AllowedAuthURLs: []string{"https://keystone.example.gov.uk"}}, "hmrc")
	if want := "auth_url is not among the operator's --allowed-auth-urls"; !errors.Is(err, ErrCredentials) || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), srv.URL) {
		t.Errorf("an auth_url off the allow-list: got %v, want a credentials error saying %q without the URL", err, want)
	}
}

func TestAllowedAuthURLs(t *testing.T) {
	allowed := []string{"https://keystone.example.gov.uk/identity", "keystone.dev.example:5000", "10.0.0.5"}
	cases := []struct {
		authURL string
		want    bool
	}{
		{"https://keystone.example.gov.uk/identity/v3", true},
		{"https://KEYSTONE.example.gov.uk/identity", true},
		{"https://keystone.example.gov.uk/identity-evil/v3", false},
		{"https://keystone.example.gov.uk/v3", false},
		{"https://keystone.example.gov.uk.evil.example/identity/v3", false},
		{"https://keystone.example.gov.uk:8443/identity/v3", false},
		{"https://keystone.example.gov.uk@169.254.169.254/identity/v3", false},
		{"https://keystone.dev.example:5000/v3", true},
		{"https://keystone.dev.example:5001/v3", false},
		{"https://10.0.0.5:5000/v3", true},
		{"https://10.0.0.50/v3", false},
		{"http://10.0.0.5/v3", false}, // the scheme rule still holds
		{"file:///dev/zero", false},
	}
	rules, err := newLoginRules(LoginPolicy{AllowedAuthURLs: allowed})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range cases {
		if got := rules.checkAuthURL(tc.authURL) == nil; got != tc.want {
			t.Errorf("%s allowed = %v, want %v", tc.authURL, got, tc.want)
		}
	}
	for _, bad := range []string{"https://", "ftp//x", "https://user@keystone.example/v3", "keystone.example/v3", ""} {
		if _, err := newLoginRules(LoginPolicy{AllowedAuthURLs: []string{bad}}); err == nil {
			t.Errorf("allow-list entry %q was accepted", bad)
		}
	}
}

// blackhole is a Keystone that accepts connections and never answers; accepted counts
// them.
func blackhole(t *testing.T) (url string, accepted chan struct{}, count *atomic.Int32) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	accepted, count = make(chan struct{}, 100), &atomic.Int32{}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, conn)
			mu.Unlock()
			count.Add(1)
			accepted <- struct{}{}
		}
	}()
	t.Cleanup(func() {
		_ = l.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			_ = c.Close()
		}
	})
	return "http://" + l.Addr().String() + "/v3", accepted, count
}

// twoDepartments is a Factory with hmrc's credentials pointing at authURL and dwp's at a
// Keystone that answers.
func twoDepartments(t *testing.T, hmrcAuthURL string, timeout time.Duration) (*Factory, client.Client) {
	srv, _ := keystone(t, http.StatusCreated)
	hmrc := secret(map[string]string{CloudsYAMLKey: cloudsYAML(hmrcAuthURL)})
	dwp := secret(map[string]string{CloudsYAMLKey: cloudsYAML(srv.URL + "/v3")})
	dwp.Namespace = "dwp"
	c := fakeclient.NewClientBuilder().WithObjects(hmrc, dwp).Build()
	f := NewFactory(c, time.Minute, RateLimit{QPS: 10, Burst: 1})
	if err := f.SetLoginPolicy(LoginPolicy{Timeout: timeout, AllowHTTP: true}); err != nil {
		t.Fatal(err)
	}
	return f, c
}

func TestALoginThatNeverAnswersHoldsUpNoOtherDepartment(t *testing.T) {
	url, accepted, _ := blackhole(t)
	f, _ := twoDepartments(t, url, time.Hour)
	hmrcCtx, cancel := context.WithCancel(context.Background())
	defer cancel()
	hmrcDone := make(chan error, 1)
	go func() {
		_, err := f.Cloud(hmrcCtx, CredentialsRef{Namespace: "hmrc", SecretName: "creds", CloudName: "dev"})
		hmrcDone <- err
	}()
	select {
	case <-accepted: // hmrc's login is on the wire, and will never be answered
	case <-time.After(time.Minute):
		t.Fatal("hmrc's login never reached its Keystone")
	}

	if _, err := f.Cloud(context.Background(), CredentialsRef{Namespace: "dwp", SecretName: "creds", CloudName: "dev"}); err != nil {
		t.Fatalf("dwp's login: %v", err)
	}
	select {
	case err := <-hmrcDone:
		t.Fatalf("hmrc's login ended (%v) before dwp's: the test proves nothing", err)
	default:
	}

	// hmrc's reconcile gives up (its context ends); it stops waiting at once.
	cancel()
	if err := <-hmrcDone; !errors.Is(err, context.Canceled) {
		t.Errorf("hmrc's cancelled wait: %v", err)
	}
}

func TestCallersOfOneLoginShareItsOutcome(t *testing.T) {
	url, _, connections := blackhole(t)
	f, _ := twoDepartments(t, url, 200*time.Millisecond)
	var wg sync.WaitGroup
	errs := make([]error, 5)
	for i := range errs {
		wg.Go(func() {
			_, errs[i] = f.Cloud(context.Background(), CredentialsRef{Namespace: "hmrc", SecretName: "creds", CloudName: "dev"})
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err == nil || !strings.Contains(Message(err), "no answer to the login within 200ms (--openstack-login-timeout)") {
			t.Errorf("caller %d: %v, want the login deadline named", i, err)
		}
		if !IsRetryable(err) || IsCredentialsError(err) {
			t.Errorf("caller %d: %v is not a retryable failure to reach the cloud", i, err)
		}
	}
	// Before, each waiter tried again when the one before it failed: five deadlines in a
	// row, five connections.
	if n := connections.Load(); n != 1 {
		t.Errorf("five concurrent callers made %d connections, want one shared login", n)
	}
}
