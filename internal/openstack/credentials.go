package openstack

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gophercloud/gophercloud/v2/openstack/config/clouds"
	"gopkg.in/yaml.v2"
)

// A clouds.yaml from a Secret is data: nothing in it may make the operator open a file
// on its own disk or reach a host the platform did not allow. gophercloud's clouds.Parse
// (v2.15) reads `cacert`, `cert` and `key` of a cloud entry as files (tls.go) and
// looks `profile` and `cloud` up in clouds-public.yaml files (clouds.go); each of them
// is refused here, before Parse sees the file, and what Parse gets is re-encoded from
// the checked cloud entry alone.

// DefaultLoginTimeout bounds one login when no other is set.
const DefaultLoginTimeout = 10 * time.Second

// LoginPolicy is what a login may do.
type LoginPolicy struct {
	// Timeout bounds one login, all its requests included; zero or less:
	// DefaultLoginTimeout.
	Timeout time.Duration
	// PlatformNamespace holds the platform's own credentials (every Cloud's Secret): the
	// auth URL rules below apply to credentials from any other namespace, a
	// department's.
	PlatformNamespace string
	// AllowHTTP lets a department's auth_url (and the endpoints of its catalog) be plain
	// http, for a dev cloud.
	AllowHTTP bool
	// AllowedAuthURLs restricts a department's auth_url: each entry is a URL prefix
	// (https://keystone.example.gov.uk/v3) or a host (keystone.example.gov.uk, with or
	// without a port). Empty: any auth_url of an allowed scheme.
	AllowedAuthURLs []string
}

// authURLRule is one entry of LoginPolicy.AllowedAuthURLs.
type authURLRule struct {
	prefix *url.URL // nil for a host entry
	host   string
}

func parseAuthURLRules(entries []string) ([]authURLRule, error) {
	var rules []authURLRule
	for _, e := range entries {
		if !strings.Contains(e, "://") {
			if e == "" || strings.ContainsAny(e, "/?#@") {
				return nil, fmt.Errorf("allowed auth URL %q is neither a host nor a URL prefix", e)
			}
			rules = append(rules, authURLRule{host: strings.ToLower(e)})
			continue
		}
		u, err := url.Parse(e)
		if err != nil || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
			return nil, fmt.Errorf("allowed auth URL %q is not a URL prefix like https://keystone.example/v3", e)
		}
		rules = append(rules, authURLRule{prefix: u})
	}
	return rules, nil
}

// allows reports whether u is under the rule: the same host (any port for a host entry
// without one) and, for a prefix, the same scheme and a path under the prefix's, segment
// by segment.
func (r authURLRule) allows(u *url.URL) bool {
	if r.prefix == nil {
		return strings.EqualFold(u.Host, r.host) || (!strings.Contains(r.host, ":") && strings.EqualFold(u.Hostname(), r.host))
	}
	if !strings.EqualFold(u.Scheme, r.prefix.Scheme) || !strings.EqualFold(u.Host, r.prefix.Host) {
		return false
	}
	p := strings.TrimSuffix(r.prefix.Path, "/")
	return p == "" || u.Path == p || strings.HasPrefix(u.Path, p+"/")
}

// loginRules are a Factory's LoginPolicy, checked.
type loginRules struct {
	timeout           time.Duration
	platformNamespace string
	allowHTTP         bool
	allowed           []authURLRule
}

func newLoginRules(p LoginPolicy) (loginRules, error) {
	allowed, err := parseAuthURLRules(p.AllowedAuthURLs)
	if err != nil {
		return loginRules{}, err
	}
	timeout := p.Timeout
	if timeout <= 0 {
		timeout = DefaultLoginTimeout
	}
	return loginRules{timeout: timeout, platformNamespace: p.PlatformNamespace, allowHTTP: p.AllowHTTP, allowed: allowed}, nil
}

// department reports whether credentials from namespace are a department's.
func (r loginRules) department(namespace string) bool {
	return r.platformNamespace == "" || namespace != r.platformNamespace
}

// checkScheme refuses a URL a department's login may not reach for its scheme.
func (r loginRules) checkScheme(u *url.URL) error {
	switch {
	case u.Scheme == "https":
		return nil
	case u.Scheme == "http" && r.allowHTTP:
		return nil
	case u.Scheme == "http":
		return errors.New("auth_url must be https (the operator was not started with --allow-http-auth-url)")
	default:
		return errors.New("auth_url must be an https URL")
	}
}

// checkAuthURL refuses a department's auth_url that is not https (unless allowed) or not
// under the allow-list. It never quotes the URL: the Tenant's status is no place to map
// which hosts the operator would reach.
func (r loginRules) checkAuthURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return errors.New("auth_url is not an absolute URL")
	}
	if err := r.checkScheme(u); err != nil {
		return err
	}
	if len(r.allowed) == 0 {
		return nil
	}
	for _, rule := range r.allowed {
		if rule.allows(u) {
			return nil
		}
	}
	return errors.New("auth_url is not among the operator's --allowed-auth-urls; ask the platform team")
}

// departmentTransport holds every request of a department's cloud, the catalog's
// endpoints included, to the schemes its auth_url may have.
type departmentTransport struct {
	next  http.RoundTripper
	rules loginRules
}

func (t departmentTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if err := t.rules.checkScheme(req.URL); err != nil {
		return nil, fmt.Errorf("%w: %s: refused a request by scheme %q", ErrCredentials, req.Method, req.URL.Scheme)
	}
	return t.next.RoundTrip(req)
}

// refuseRedirect keeps a department's login where its auth_url says: a redirect could
// lead the operator past the allow-list.
func refuseRedirect(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// fileKeys are the keys of a cloud entry that clouds.Parse would turn into a file read,
// with what to do instead.
var fileKeys = []struct{ key, remedy string }{
	{"cacert", `names a file on the operator; put the CA into the Secret's "cacert" key`},
	{"cert", "names a file on the operator; client certificates are not supported: use a password or an application credential"},
	{"key", "names a file on the operator; client certificates are not supported: use a password or an application credential"},
	{"profile", "names a profile in a clouds-public.yaml on the operator; write the cloud's settings into clouds.yaml itself"},
	{"cloud", "names a cloud in a clouds-public.yaml on the operator; write the cloud's settings into clouds.yaml itself"},
}

// fileKeyValues are the values clouds.Parse would open, by key, of one cloud entry.
func fileKeyValues(c clouds.Cloud) map[string]string {
	return map[string]string{"cacert": c.CACertFile, "cert": c.ClientCertFile, "key": c.ClientKeyFile, "profile": c.Profile, "cloud": c.Cloud}
}

// checkedCloudsYAML returns clouds.yaml holding only cloudName's entry, once nothing in
// it names a file; or the problem, naming the key but never a value. A `cacert` path
// beside an inline CA (as in the clouds.yaml the operator writes for a department, where
// the path is where the Secret is mounted for other tools) is dropped, never opened.
func checkedCloudsYAML(raw []byte, cloudName string, inlineCA bool) ([]byte, error) {
	var file clouds.Clouds
	// The same decoder as clouds.Parse, so what is checked is what it would read.
	if err := yaml.Unmarshal(raw, &file); err != nil {
		return nil, errors.New("clouds.yaml is not valid YAML")
	}
	cloud, ok := file.Clouds[cloudName]
	if !ok {
		return nil, errors.New("the cloud is not in clouds.yaml")
	}
	values := fileKeyValues(cloud)
	for _, k := range fileKeys {
		if values[k.key] != "" && (k.key != "cacert" || !inlineCA) {
			return nil, fmt.Errorf("clouds.yaml key %q %s", k.key, k.remedy)
		}
	}
	if err := checkAuthFileKeys(raw, cloudName); err != nil {
		return nil, err
	}
	cloud.CACertFile, cloud.Regions = "", nil
	return yaml.Marshal(clouds.Clouds{Clouds: map[string]clouds.Cloud{cloudName: cloud}})
}

// checkAuthFileKeys refuses file keys under auth: clouds.Parse ignores them, so a CA
// given there would silently not be used.
func checkAuthFileKeys(raw []byte, cloudName string) error {
	var file struct {
		Clouds map[string]struct {
			Auth map[string]any `yaml:"auth"`
		} `yaml:"clouds"`
	}
	if err := yaml.Unmarshal(raw, &file); err != nil {
		return errors.New("clouds.yaml is not valid YAML")
	}
	auth := file.Clouds[cloudName].Auth
	for _, k := range fileKeys[:3] {
		if v, ok := auth[k.key]; ok && v != nil && v != "" {
			return fmt.Errorf("clouds.yaml key %q %s", "auth."+k.key, k.remedy)
		}
	}
	return nil
}

// refusal is the credentials error of ref's Secret: which Secret and what is wrong,
// never a value from it.
func refusal(ref CredentialsRef, problem string) error {
	return fmt.Errorf("%w: cannot use cloud %q from Secret %s/%s: %s", ErrCredentials, ref.CloudName, ref.Namespace, ref.SecretName, problem)
}

func noCloudsYAML(ref CredentialsRef) error {
	return fmt.Errorf("%w: Secret %s/%s has no key %q", ErrCredentials, ref.Namespace, ref.SecretName, CloudsYAMLKey)
}

// CheckSecret returns the credentials error the Factory gives, before any login, for a
// Secret's data: no clouds.yaml, no such cloud in it, or a key that names a file. Test
// fakes of the Factory call it to answer as the Factory does.
func CheckSecret(ref CredentialsRef, data map[string][]byte) error {
	raw, ok := data[CloudsYAMLKey]
	if !ok {
		return noCloudsYAML(ref)
	}
	if _, err := checkedCloudsYAML(raw, ref.CloudName, len(data[CACertKey]) > 0); err != nil {
		return refusal(ref, err.Error())
	}
	return nil
}

// loginContext is the context one login runs in: the caller's values (the namespace the
// rate limiter serves), not its cancellation, since callers that wait for the same login
// share it; and the login deadline.
func loginContext(ctx context.Context, timeout time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), timeout)
}
