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
}

// cloudKey is a cached login: credentials, and the project it is scoped to ("" for the
// credentials' own scope).
type cloudKey struct {
	ref     CredentialsRef
	project string
}

type cacheEntry struct {
	once   sync.Mutex // serialises the login for one key
	digest [32]byte
	cloud  *Cloud
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

// Cloud returns the authenticated cloud for ref, logging in only when the Secret's
// content changed since the last call or no login was made yet.
func (f *Factory) Cloud(ctx context.Context, ref CredentialsRef) (*Cloud, error) {
	var secret corev1.Secret
	if err := f.reader.Get(ctx, types.NamespacedName{Namespace: ref.Namespace, Name: ref.SecretName}, &secret); err != nil {
		if client.IgnoreNotFound(err) == nil {
			return nil, &missingSecretError{namespace: ref.Namespace, name: ref.SecretName}
		}
		return nil, err
	}
	cloudsYAML, ok := secret.Data[CloudsYAMLKey]
	if !ok {
		return nil, fmt.Errorf("%w: Secret %s/%s has no key %q", ErrCredentials, ref.Namespace, ref.SecretName, CloudsYAMLKey)
	}
	caCert := secret.Data[CACertKey]
	digest := sha256.Sum256(append(append(bytes.Clone(cloudsYAML), 0), caCert...))
	return f.cached(cloudKey{ref: ref}, digest, func() (*Cloud, error) {
		return f.connect(ctx, ref, cloudsYAML, caCert)
	})
}

// ProjectCloud returns the cloud for ref scoped to projectID: Nova creates servers in the
// project of the token. When the credentials' user has no role on the project yet, it is
// given the member role there first (the Tenant controller leaves such assignments of
// principals it does not list alone). Needs password credentials, which can be
// re-scoped; application credentials cannot.
func (f *Factory) ProjectCloud(ctx context.Context, ref CredentialsRef, projectID string) (*Cloud, error) {
	admin, err := f.Cloud(ctx, ref)
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	digest := f.clouds[cloudKey{ref: ref}].digest
	f.mu.Unlock()
	return f.cached(cloudKey{ref: ref, project: projectID}, digest, func() (*Cloud, error) {
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

// cached returns the login cached under key for this Secret content, or makes it.
func (f *Factory) cached(key cloudKey, digest [32]byte, connect func() (*Cloud, error)) (*Cloud, error) {
	f.mu.Lock()
	entry, ok := f.clouds[key]
	if !ok || entry.digest != digest {
		entry = &cacheEntry{digest: digest}
		f.clouds[key] = entry
	}
	f.mu.Unlock()

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
	entry := f.clouds[cloudKey{ref: ref}]
	f.mu.Unlock()
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
