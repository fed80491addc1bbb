package openstack

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"
	"github.com/gophercloud/gophercloud/v2/openstack/config/clouds"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Keys of the credentials Secret.
const (
	CloudsYAMLKey = "clouds.yaml"
	CACertKey     = "cacert"
)

// ErrCredentials is wrapped by every error caused by the credentials themselves: a
// missing Secret or key, a cloud not in clouds.yaml, or a login Keystone refused.
var ErrCredentials = errors.New("cloud credentials")

// missingSecretError is the credentials error of a Secret that does not exist.
type missingSecretError struct{ namespace, name string }

func (e *missingSecretError) Error() string {
	return fmt.Sprintf("%s: Secret %s/%s not found", ErrCredentials, e.namespace, e.name)
}

func (e *missingSecretError) Unwrap() error { return ErrCredentials }

// CredentialsRef names a clouds.yaml Secret and the cloud in it.
type CredentialsRef struct {
	Namespace  string
	SecretName string
	CloudName  string
}

func (r CredentialsRef) String() string {
	return fmt.Sprintf("%s/%s (cloud %q)", r.Namespace, r.SecretName, r.CloudName)
}

// Factory turns credentials Secrets into authenticated clouds, and caches them: one
// Keystone login per Secret content and cloud, shared by every reconcile. It is safe for
// concurrent use.
type Factory struct {
	reader    client.Reader
	transport http.RoundTripper
	timeout   time.Duration
	rateLimit RateLimit

	limitersMu sync.Mutex
	limiters   map[string]*limitedTransport // auth URL → the cloud's shared limiter

	mu     sync.Mutex
	clouds map[cloudKey]*cacheEntry
	// seen is the content each Secret had when last read, so a login made with it is
	// found again once the Secret is gone (CloudForCleanup).
	seen map[CredentialsRef][32]byte
}

// cloudKey is a cached login: the credentials' content (clouds.yaml and CA), the cloud
// named in it, and the project it is scoped to ("" for the credentials' own scope).
// Secrets with the same content — a platform team's one clouds.yaml copied into every
// department's namespace — share one login, one token and one set of lookups.
type cloudKey struct {
	digest    [32]byte
	cloudName string
	project   string
}

type cacheEntry struct {
	once  sync.Mutex // serialises the login for one key
	cloud *Cloud
}

// NewFactory returns a Factory reading Secrets with reader. Requests go through an
// instrumented transport; timeout bounds each request; limit bounds the requests to each
// cloud (every Secret naming the same auth URL shares one limit).
func NewFactory(reader client.Reader, timeout time.Duration, limit RateLimit) *Factory {
	return &Factory{
		reader:    reader,
		transport: http.DefaultTransport,
		timeout:   timeout,
		rateLimit: limit,
		limiters:  map[string]*limitedTransport{},
		clouds:    map[cloudKey]*cacheEntry{},
		seen:      map[CredentialsRef][32]byte{},
	}
}

// limiterFor returns the rate limiter of the cloud at authURL, over base.
func (f *Factory) limiterFor(authURL string, base http.RoundTripper) http.RoundTripper {
	f.limitersMu.Lock()
	defer f.limitersMu.Unlock()
	l, ok := f.limiters[authURL]
	if !ok || l.next != base {
		shared := newLimitedTransport(base, f.rateLimit)
		if ok {
			shared.limiter = l.limiter // keep one bucket per cloud even if TLS settings change
		}
		f.limiters[authURL], l = shared, shared
	}
	return l
}

// Cloud returns the authenticated cloud for ref, logging in only when no login was made
// yet with the Secret's current content.
func (f *Factory) Cloud(ctx context.Context, ref CredentialsRef) (*Cloud, error) {
	cloud, _, err := f.cloud(ctx, ref)
	return cloud, err
}

func (f *Factory) cloud(ctx context.Context, ref CredentialsRef) (*Cloud, cloudKey, error) {
	var secret corev1.Secret
	if err := f.reader.Get(ctx, types.NamespacedName{Namespace: ref.Namespace, Name: ref.SecretName}, &secret); err != nil {
		if client.IgnoreNotFound(err) == nil {
			return nil, cloudKey{}, &missingSecretError{namespace: ref.Namespace, name: ref.SecretName}
		}
		return nil, cloudKey{}, err
	}
	cloudsYAML, ok := secret.Data[CloudsYAMLKey]
	if !ok {
		return nil, cloudKey{}, fmt.Errorf("%w: Secret %s/%s has no key %q", ErrCredentials, ref.Namespace, ref.SecretName, CloudsYAMLKey)
	}
	caCert := secret.Data[CACertKey]
	key := cloudKey{digest: sha256.Sum256(append(append(bytes.Clone(cloudsYAML), 0), caCert...)), cloudName: ref.CloudName}
	f.remember(ref, key.digest)
	cloud, err := f.cached(key, func() (*Cloud, error) {
		return f.connect(ctx, ref, cloudsYAML, caCert)
	})
	return cloud, key, err
}

// remember records the content ref has now; logins made with content no Secret has any
// more are dropped.
func (f *Factory) remember(ref CredentialsRef, digest [32]byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	old, ok := f.seen[ref]
	f.seen[ref] = digest
	if !ok || old == digest {
		return
	}
	for _, d := range f.seen {
		if d == old {
			return // another Secret still has that content
		}
	}
	for key := range f.clouds {
		if key.digest == old {
			delete(f.clouds, key)
		}
	}
}

// ProjectCloud returns the cloud for ref scoped to projectID: Nova creates servers in the
// project of the token. When the credentials' user has no role on the project yet, it is
// given the member role there first (the Tenant controller leaves such assignments of
// principals it does not list alone). Needs password credentials, which can be
// re-scoped; application credentials cannot.
func (f *Factory) ProjectCloud(ctx context.Context, ref CredentialsRef, projectID string) (*Cloud, error) {
	admin, key, err := f.cloud(ctx, ref)
	if err != nil {
		return nil, err
	}
	key.project = projectID
	return f.cached(key, func() (*Cloud, error) {
		scope := &gophercloud.AuthScope{ProjectID: projectID}
		cloud, err := admin.login.cloud(ctx, scope)
		if !errors.Is(err, ErrCredentials) {
			return cloud, err
		}
		if err := admin.joinProject(ctx, projectID); err != nil {
			return nil, fmt.Errorf("giving the operator's user a role on project %s: %w", projectID, err)
		}
		return admin.login.cloud(ctx, scope)
	})
}

// cached returns the login cached under key, or makes it.
func (f *Factory) cached(key cloudKey, connect func() (*Cloud, error)) (*Cloud, error) {
	entry := f.entry(key, true)
	entry.once.Lock()
	defer entry.once.Unlock()
	if entry.cloud != nil {
		return entry.cloud, nil
	}
	cloud, err := connect()
	if err != nil {
		return nil, err
	}
	entry.cloud = cloud
	return cloud, nil
}

// entry returns the cache entry of key, made when create is set (else nil if none).
func (f *Factory) entry(key cloudKey, create bool) *cacheEntry {
	f.mu.Lock()
	defer f.mu.Unlock()
	entry, ok := f.clouds[key]
	if !ok && create {
		entry = &cacheEntry{}
		f.clouds[key] = entry
	}
	return entry
}

// CloudForCleanup is Cloud for deleting what the operator created. When the Secret is
// already gone — deleting a namespace deletes the Secret and the objects that use it at
// once — it falls back to the last login made with it, so the cleanup can finish.
func (f *Factory) CloudForCleanup(ctx context.Context, ref CredentialsRef) (*Cloud, error) {
	cloud, err := f.Cloud(ctx, ref)
	var missing *missingSecretError
	if !errors.As(err, &missing) {
		return cloud, err
	}
	f.mu.Lock()
	digest, seen := f.seen[ref]
	f.mu.Unlock()
	if !seen {
		return nil, err
	}
	entry := f.entry(cloudKey{digest: digest, cloudName: ref.CloudName}, false)
	if entry == nil {
		return nil, err
	}
	entry.once.Lock()
	defer entry.once.Unlock()
	if entry.cloud == nil {
		return nil, err
	}
	return entry.cloud, nil
}

func (f *Factory) connect(ctx context.Context, ref CredentialsRef, cloudsYAML, caCert []byte) (*Cloud, error) {
	authOpts, endpointOpts, tlsConfig, err := clouds.Parse(
		// Given a reader, Parse searches no directory: everything comes from the Secret,
		// never from the operator's own disk.
		clouds.WithCloudsYAML(bytes.NewReader(cloudsYAML)),
		clouds.WithCloudName(ref.CloudName),
	)
	if err != nil {
		// Parse errors may quote the file; say which Secret without echoing its content.
		return nil, fmt.Errorf("%w: cannot use cloud %q from Secret %s/%s: %s", ErrCredentials, ref.CloudName, ref.Namespace, ref.SecretName, parseProblem(err))
	}
	if len(caCert) > 0 {
		if tlsConfig == nil {
			tlsConfig = &tls.Config{MinVersion: tls.VersionTLS12}
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(caCert) {
			return nil, fmt.Errorf("%w: key %q of Secret %s/%s holds no PEM certificate", ErrCredentials, CACertKey, ref.Namespace, ref.SecretName)
		}
		tlsConfig.RootCAs = pool
	}
	if authOpts.TokenID == "" {
		authOpts.AllowReauth = true
	}

	base := f.transport
	if tlsConfig != nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.TLSClientConfig = tlsConfig
		base = t
	}
	login := &login{
		opts:      authOpts,
		endpoints: endpointOpts,
		client:    http.Client{Transport: f.limiterFor(authOpts.IdentityEndpoint, base), Timeout: f.timeout},
		cloudName: ref.CloudName,
	}
	return login.cloud(ctx, nil)
}

// login is what it takes to log in to a cloud again with another scope.
type login struct {
	opts      gophercloud.AuthOptions
	endpoints gophercloud.EndpointOpts
	client    http.Client
	cloudName string
}

// cloud logs in, scoped to scope when it is set.
func (l *login) cloud(ctx context.Context, scope *gophercloud.AuthScope) (*Cloud, error) {
	opts := l.opts
	if scope != nil {
		opts.Scope = scope
		opts.TenantID, opts.TenantName = "", ""
	}
	routes := &serviceRoutes{}
	routes.add(opts.IdentityEndpoint, "identity")
	provider, err := openstack.NewClient(opts.IdentityEndpoint)
	if err != nil {
		return nil, fmt.Errorf("%w: bad auth_url in cloud %q: %s", ErrCredentials, l.cloudName, err)
	}
	provider.HTTPClient = http.Client{Transport: &instrumentedTransport{next: l.client.Transport, routes: routes}, Timeout: l.client.Timeout}
	provider.UserAgent.Prepend("whitehall-operator")
	if err := openstack.Authenticate(ctx, provider, opts); err != nil {
		if code := StatusCode(err); code == http.StatusUnauthorized || code == http.StatusForbidden || code == http.StatusBadRequest {
			return nil, fmt.Errorf("%w: Keystone refused the login for cloud %q (HTTP %d)", ErrCredentials, l.cloudName, code)
		}
		return nil, fmt.Errorf("authenticating to cloud %q: %w", l.cloudName, err)
	}
	cloud, err := newCloud(provider, l.endpoints, routes)
	if err != nil {
		return nil, err
	}
	cloud.login = l
	return cloud, nil
}

// parseProblem reduces a clouds.yaml parse error to what is wrong, without quoting the
// file: YAML type errors can quote values, and values can be passwords.
func parseProblem(err error) string {
	msg := err.Error()
	switch {
	case strings.Contains(msg, "not found in clouds.yaml"):
		return "the cloud is not in clouds.yaml"
	case strings.Contains(msg, "yaml"):
		return "clouds.yaml is not valid YAML"
	default:
		return "clouds.yaml is incomplete or inconsistent"
	}
}
