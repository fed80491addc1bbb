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
	rules     loginRules

	limitersMu sync.Mutex
	limiters   map[string]*limiterEntry // auth URL → the cloud's shared limiter

	// now is the clock; unused says how long an unused login, Secret content or limiter
	// is kept (zero or less: for good).
	now       func() time.Time
	unused    time.Duration
	lastSweep time.Time

	mu     sync.Mutex
	clouds map[cloudKey]*cacheEntry
	// seen is the content each Secret had when last read, so a login made with it is
	// found again once the Secret is gone (CloudForCleanup).
	seen map[CredentialsRef]seenContent

	// viewPeriod is how often each admin login's bulk view is refreshed (zero: no
	// view); views passes on what its refreshes find changed.
	viewPeriod time.Duration
	views      *ViewFeed
}

// DefaultForgetUnusedAfter is how long the Factory keeps what nothing used: three of
// the default resync periods.
const DefaultForgetUnusedAfter = 30 * time.Minute

// seenContent is the content a Secret had when last read, and when it was last asked for.
type seenContent struct {
	digest [32]byte
	used   time.Time
}

// limiterEntry is a cloud's limiter and when a login last took it.
type limiterEntry struct {
	transport *limitedTransport
	used      time.Time
}

// cloudKey is a cached login: the credentials' content (clouds.yaml and CA) and the
// cloud named in it; for a project's service user (ProjectCloud) also the user, a hash of
// its password and the project. Secrets with the same content — a platform team's one
// clouds.yaml copied into every department's namespace — share one login, one token and
// one set of lookups.
type cloudKey struct {
	digest    [32]byte
	cloudName string
	project   string
	user      string
	password  [32]byte // never the password itself
}

// cacheEntry is one login, made once and shared by every caller of its key. Callers
// that come while it is being made wait for its outcome, a failure included: they never
// queue behind it to try again one after another.
type cacheEntry struct {
	ready chan struct{} // closed once cloud or err is set
	cloud *Cloud
	err   error
	// used and authURL are guarded by Factory.mu: when the login was last asked for, and
	// the auth URL of its limiter once it is made.
	used    time.Time
	authURL string
}

// wait returns the entry's outcome once the login is over, or ctx's error first.
func (e *cacheEntry) wait(ctx context.Context) (*Cloud, error) {
	select {
	case <-e.ready:
		return e.cloud, e.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// NewFactory returns a Factory reading Secrets with reader. Requests go through an
// instrumented transport; timeout bounds each request; limit bounds the requests to each
// cloud (every Secret naming the same auth URL shares one limit).
func NewFactory(reader client.Reader, timeout time.Duration, limit RateLimit) *Factory {
	rules, _ := newLoginRules(LoginPolicy{}) // the zero policy always parses
	return &Factory{
		reader:    reader,
		transport: http.DefaultTransport,
		timeout:   timeout,
		rateLimit: limit,
		rules:     rules,
		limiters:  map[string]*limiterEntry{},
		now:       time.Now,
		unused:    DefaultForgetUnusedAfter,
		clouds:    map[cloudKey]*cacheEntry{},
		seen:      map[CredentialsRef]seenContent{},
		views:     NewViewFeed(),
	}
}

// ObserveInBulk gives every admin login made from now on a bulk view refreshed at most
// once per period (the resync period; zero or less: none), which serves its reads at
// rest (bulkview.go). Call it before the Factory is used.
func (f *Factory) ObserveInBulk(period time.Duration) { f.viewPeriod = period }

// Views passes on the projects each admin login's bulk view found changed.
func (f *Factory) Views() *ViewFeed { return f.views }

// ForgetUnusedAfter makes the Factory drop logins, Secret contents and rate limiters
// nothing has asked for in d (zero or less: keep them for good). Objects ask at least
// once per resync period, so a few periods only drop what belongs to Secrets and clouds
// no object uses any more.
func (f *Factory) ForgetUnusedAfter(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.unused = d
}

// SetLoginPolicy sets the deadline of each login and the rules for departments' auth
// URLs. Call it before the Factory is used.
func (f *Factory) SetLoginPolicy(p LoginPolicy) error {
	rules, err := newLoginRules(p)
	if err != nil {
		return err
	}
	f.rules = rules
	return nil
}

// limiterFor returns the rate limiter of the cloud at authURL, over base.
func (f *Factory) limiterFor(authURL string, base http.RoundTripper) http.RoundTripper {
	now := f.now()
	f.limitersMu.Lock()
	defer f.limitersMu.Unlock()
	l, ok := f.limiters[authURL]
	if !ok || l.transport.next != base {
		shared := newLimitedTransport(base, f.rateLimit)
		if ok {
			shared.limiter = l.transport.limiter // keep one bucket per cloud even if TLS settings change
		}
		l = &limiterEntry{transport: shared}
		f.limiters[authURL] = l
	}
	l.used = now
	return l.transport
}

// sweep drops, at most once per third of the unused period, the logins and Secret
// contents nothing asked for in that period, and the limiters no login kept uses.
func (f *Factory) sweep() {
	now := f.now()
	f.mu.Lock()
	if f.unused <= 0 || now.Sub(f.lastSweep) < f.unused/3 {
		f.mu.Unlock()
		return
	}
	f.lastSweep = now
	idle := func(used time.Time) bool { return now.Sub(used) > f.unused }
	for key, e := range f.clouds {
		if idle(e.used) {
			delete(f.clouds, key)
		}
	}
	for ref, c := range f.seen {
		if idle(c.used) {
			delete(f.seen, ref)
		}
	}
	inUse := map[string]bool{}
	for _, e := range f.clouds {
		inUse[e.authURL] = true
	}
	f.mu.Unlock()

	f.limitersMu.Lock()
	defer f.limitersMu.Unlock()
	for url, l := range f.limiters {
		if !inUse[url] && idle(l.used) {
			delete(f.limiters, url)
		}
	}
}

// Cloud returns the authenticated cloud for ref, logging in only when no login was made
// yet with the Secret's current content.
func (f *Factory) Cloud(ctx context.Context, ref CredentialsRef) (_ *Cloud, err error) {
	defer func() { err = convertError(err, identityService) }()
	cloud, _, err := f.cloud(ctx, ref)
	return cloud, err
}

func (f *Factory) cloud(ctx context.Context, ref CredentialsRef) (*Cloud, cloudKey, error) {
	f.sweep()
	var secret corev1.Secret
	if err := f.reader.Get(ctx, types.NamespacedName{Namespace: ref.Namespace, Name: ref.SecretName}, &secret); err != nil {
		if client.IgnoreNotFound(err) == nil {
			// Whoever asks may fall back to the last login made with it: keep it.
			f.touchLastLogin(ref)
			return nil, cloudKey{}, &missingSecretError{namespace: ref.Namespace, name: ref.SecretName}
		}
		return nil, cloudKey{}, err
	}
	cloudsYAML, ok := secret.Data[CloudsYAMLKey]
	if !ok {
		return nil, cloudKey{}, noCloudsYAML(ref)
	}
	caCert := secret.Data[CACertKey]
	key := cloudKey{digest: sha256.Sum256(append(append(bytes.Clone(cloudsYAML), 0), caCert...)), cloudName: ref.CloudName}
	f.remember(ref, key.digest)
	cloud, err := f.cached(ctx, key, func(ctx context.Context) (*Cloud, error) {
		return f.connect(ctx, ref, cloudsYAML, caCert)
	})
	return cloud, key, err
}

// remember records the content ref has now; logins made with content no Secret has any
// more are dropped.
func (f *Factory) remember(ref CredentialsRef, digest [32]byte) {
	now := f.now()
	f.mu.Lock()
	defer f.mu.Unlock()
	old, ok := f.seen[ref]
	f.seen[ref] = seenContent{digest: digest, used: now}
	if !ok || old.digest == digest {
		return
	}
	for _, c := range f.seen {
		if c.digest == old.digest {
			return // another Secret still has that content
		}
	}
	for key := range f.clouds {
		if key.digest == old.digest {
			delete(f.clouds, key)
		}
	}
}

// touchLastLogin marks the content ref had last, and the login made with it, as used.
func (f *Factory) touchLastLogin(ref CredentialsRef) {
	now := f.now()
	f.mu.Lock()
	defer f.mu.Unlock()
	c, ok := f.seen[ref]
	if !ok {
		return
	}
	c.used = now
	f.seen[ref] = c
	if e := f.clouds[cloudKey{digest: c.digest, cloudName: ref.CloudName}]; e != nil {
		e.used = now
	}
}

// ProjectCloud returns the cloud of a project's service user: logged in as user, scoped
// to its project (Nova creates servers in the token's project), at the endpoint, TLS
// settings and rate limit of the admin credentials ref names. When ref's Secret is gone
// — its namespace is being deleted — the last login made with it serves, so cleanup can
// finish (as with CloudForCleanup).
func (f *Factory) ProjectCloud(ctx context.Context, ref CredentialsRef, user ProjectUser) (_ *Cloud, err error) {
	defer func() { err = convertError(err, identityService) }()
	if user.UserID == "" || user.ProjectID == "" || user.Password == "" {
		return nil, fmt.Errorf("%w: a project login needs a user ID, a password and a project", ErrCredentials)
	}
	admin, key, err := f.cloud(ctx, ref)
	var missing *missingSecretError
	if errors.As(err, &missing) {
		admin, key, err = f.lastLogin(ctx, ref, err)
	}
	if err != nil {
		return nil, err
	}
	key.project, key.user, key.password = user.ProjectID, user.UserID, sha256.Sum256([]byte(user.Password))
	cloud, err := f.cached(ctx, key, func(ctx context.Context) (*Cloud, error) {
		cloud, err := admin.login.as(user).cloud(ctx)
		if err == nil {
			cloud.user.id = user.UserID
		}
		return cloud, err
	})
	if err == nil {
		f.forgetOtherPasswords(key)
	}
	return cloud, err
}

// forgetOtherPasswords drops the logins of key's user and project made with another
// password: once a new password works, the old one does not.
func (f *Factory) forgetOtherPasswords(key cloudKey) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for k := range f.clouds {
		if k.user == key.user && k.project == key.project && k.digest == key.digest &&
			k.cloudName == key.cloudName && k.password != key.password {
			delete(f.clouds, k)
		}
	}
}

// cached returns the login cached under key, or makes it. The login runs on its own,
// within the login deadline, whoever waits for it: a caller whose context ends stops
// waiting, and the others still get the outcome. Logins of other keys never wait for
// it: the only lock held while a login is made is none.
func (f *Factory) cached(ctx context.Context, key cloudKey, connect func(context.Context) (*Cloud, error)) (*Cloud, error) {
	entry, made := f.entry(key, true)
	if made {
		go f.login(ctx, key, entry, connect)
	}
	return entry.wait(ctx)
}

// login makes entry's login and publishes its outcome.
func (f *Factory) login(ctx context.Context, key cloudKey, entry *cacheEntry, connect func(context.Context) (*Cloud, error)) {
	ctx, cancel := loginContext(ctx, f.rules.timeout)
	defer cancel()
	cloud, err := connect(ctx)
	if err != nil && ctx.Err() == context.DeadlineExceeded {
		err = fmt.Errorf("no answer to the login within %s (--openstack-login-timeout): %w", f.rules.timeout, err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	defer close(entry.ready)
	if err != nil {
		// Keep no entry for a login that failed: a wrong password tried once must not
		// stay in the map for good. The next caller tries again.
		if f.clouds[key] == entry {
			delete(f.clouds, key)
		}
		entry.err = err
		return
	}
	if cloud.login != nil {
		entry.authURL = cloud.login.endpoint.AuthURL
	}
	entry.cloud = cloud
}

// entry returns the cache entry of key, made when create is set (else nil if none), and
// marks it used; made says it is new, and its login is the caller's to start.
func (f *Factory) entry(key cloudKey, create bool) (entry *cacheEntry, made bool) {
	now := f.now()
	f.mu.Lock()
	defer f.mu.Unlock()
	entry, ok := f.clouds[key]
	if !ok && create {
		entry, made = &cacheEntry{ready: make(chan struct{})}, true
		f.clouds[key] = entry
	}
	if entry != nil {
		entry.used = now
	}
	return entry, made
}

// CloudForCleanup is Cloud for deleting what the operator created. When the Secret is
// already gone — deleting a namespace deletes the Secret and the objects that use it at
// once — it falls back to the last login made with it, so the cleanup can finish.
func (f *Factory) CloudForCleanup(ctx context.Context, ref CredentialsRef) (_ *Cloud, err error) {
	defer func() { err = convertError(err, identityService) }()
	cloud, err := f.Cloud(ctx, ref)
	var missing *missingSecretError
	if !errors.As(err, &missing) {
		return cloud, err
	}
	cloud, _, err = f.lastLogin(ctx, ref, err)
	return cloud, err
}

// lastLogin returns the last login made with ref's credentials, or notFound when there
// is none.
func (f *Factory) lastLogin(ctx context.Context, ref CredentialsRef, notFound error) (*Cloud, cloudKey, error) {
	f.mu.Lock()
	content, seen := f.seen[ref]
	f.mu.Unlock()
	if !seen {
		return nil, cloudKey{}, notFound
	}
	key := cloudKey{digest: content.digest, cloudName: ref.CloudName}
	entry, _ := f.entry(key, false)
	if entry == nil {
		return nil, cloudKey{}, notFound
	}
	cloud, err := entry.wait(ctx)
	if err != nil || cloud == nil {
		return nil, cloudKey{}, notFound
	}
	return cloud, key, nil
}

func (f *Factory) connect(ctx context.Context, ref CredentialsRef, cloudsYAML, caCert []byte) (*Cloud, error) {
	department := f.rules.department(ref.Namespace)
	refuse := func(problem string) error { return refusal(ref, problem) }
	checked, err := checkedCloudsYAML(cloudsYAML, ref.CloudName, len(caCert) > 0)
	if err != nil {
		return nil, refuse(err.Error())
	}
	authOpts, endpointOpts, tlsConfig, err := clouds.Parse(
		// Given a reader, Parse searches no directory; the checked file names no other.
		clouds.WithCloudsYAML(bytes.NewReader(checked)),
		clouds.WithCloudName(ref.CloudName),
	)
	if err != nil {
		return nil, refuse(parseProblem(err))
	}
	if department {
		if err := f.rules.checkAuthURL(authOpts.IdentityEndpoint); err != nil {
			return nil, refuse(err.Error())
		}
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
	login := f.newLogin(ref, authOpts, endpointOpts, tlsConfig, department)
	login.endpoint.CACert = bytes.Clone(caCert) // only the Secret's CA counts
	cloud, err := login.cloud(ctx)
	if err == nil && f.viewPeriod > 0 && !department {
		// One view per admin login of a Cloud: never shared with another cloud or
		// login. A department's own credentials get none: what they may list is
		// theirs to decide, and their reads stay live.
		cloud.view = NewBulkView(cloud, f.viewPeriod, authOpts.IdentityEndpoint, f.views)
	}
	return cloud, err
}

// newLogin is the login of ref's cloud: its client goes through the cloud's rate
// limiter, and a department's also through the rules of its auth URL.
func (f *Factory) newLogin(ref CredentialsRef, authOpts gophercloud.AuthOptions, endpointOpts gophercloud.EndpointOpts, tlsConfig *tls.Config, department bool) *login {
	base := f.transport
	if tlsConfig != nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.TLSClientConfig = tlsConfig
		base = t
	}
	client := http.Client{Transport: f.limiterFor(authOpts.IdentityEndpoint, base), Timeout: f.timeout}
	if department {
		client.Transport = departmentTransport{next: client.Transport, rules: f.rules}
		client.CheckRedirect = refuseRedirect
	}
	availability := endpointOpts.Availability
	if availability == "" {
		availability = gophercloud.AvailabilityPublic
	}
	return &login{
		opts:      authOpts,
		endpoints: endpointOpts,
		client:    client,
		cloudName: ref.CloudName,
		subject:   fmt.Sprintf("cloud %q", ref.CloudName),
		endpoint: Endpoint{
			AuthURL:   authOpts.IdentityEndpoint,
			Region:    endpointOpts.Region,
			Interface: string(availability),
			Insecure:  tlsConfig != nil && tlsConfig.InsecureSkipVerify,
		},
	}
}

// login is what it takes to log in to a cloud again, as another user.
type login struct {
	opts      gophercloud.AuthOptions
	endpoints gophercloud.EndpointOpts
	client    http.Client
	cloudName string
	// subject names who logs in where, for errors: never a credential.
	subject  string
	endpoint Endpoint
}

// as is this login's cloud for a project's service user: the same endpoint, TLS and
// rate limiter, with the user's password, scoped to its project.
func (l *login) as(user ProjectUser) *login {
	return &login{
		opts: gophercloud.AuthOptions{
			IdentityEndpoint: l.opts.IdentityEndpoint,
			UserID:           user.UserID,
			Password:         user.Password,
			AllowReauth:      true,
			Scope:            &gophercloud.AuthScope{ProjectID: user.ProjectID},
		},
		endpoints: l.endpoints,
		client:    l.client,
		cloudName: l.cloudName,
		subject:   fmt.Sprintf("service user %s on project %s of cloud %q", user.UserID, user.ProjectID, l.cloudName),
		endpoint:  l.endpoint,
	}
}

// cloud logs in.
func (l *login) cloud(ctx context.Context) (*Cloud, error) {
	routes := &serviceRoutes{}
	routes.add(l.opts.IdentityEndpoint, "identity")
	provider, err := openstack.NewClient(l.opts.IdentityEndpoint)
	if err != nil {
		return nil, fmt.Errorf("%w: bad auth_url in cloud %q: %s", ErrCredentials, l.cloudName, err)
	}
	provider.HTTPClient = http.Client{Transport: &instrumentedTransport{next: l.client.Transport, routes: routes}, Timeout: l.client.Timeout,
		CheckRedirect: l.client.CheckRedirect}
	provider.UserAgent.Prepend("whitehall-operator")
	if err := openstack.Authenticate(ctx, provider, l.opts); err != nil {
		if code := StatusCode(err); loginRefused(code) {
			return nil, fmt.Errorf("%w: Keystone refused the login of %s (HTTP %d)", ErrCredentials, l.subject, code)
		}
		return nil, fmt.Errorf("authenticating %s: %w", l.subject, err)
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

// identityService names the service of a login's answer: Keystone's.
func identityService(string) string { return "identity" }
