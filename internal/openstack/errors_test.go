package openstack

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"
)

// arrive is what a method of this package makes of a gophercloud error as it returns.
func arrive(err error) error { return convertError(err, func(string) string { return "compute" }) }

func httpErr(code int, body string, header http.Header) error {
	return gophercloud.ErrUnexpectedResponseCode{
		URL: "http://cloud:8774/v2.1/servers?name=secret-name", Method: "POST",
		Expected: []int{202}, Actual: code, Body: []byte(body), ResponseHeader: header,
	}
}

func TestClassify(t *testing.T) {
	cases := []struct {
		reason string
		err    error
		want   Class
	}{
		{"a 500 is temporary", httpErr(500, "", nil), Retryable},
		{"a 503 is temporary", httpErr(503, "", nil), Retryable},
		{"429 asks us to slow down", httpErr(429, "", nil), Retryable},
		{"Nova refuses for quota with 403", httpErr(403, `{"forbidden": {"message": "Quota exceeded for cores: Requested 4, but already used 10 of 12 cores"}}`, nil), QuotaExceeded},
		{"Nova refuses for quota with 413", httpErr(413, `{"overLimit": {"message": "Quota exceeded"}}`, nil), QuotaExceeded},
		{"Neutron refuses for quota with 409 OverQuota", httpErr(409, `{"NeutronError": {"type": "OverQuota", "message": "Quota exceeded for resources: ['port']."}}`, nil), QuotaExceeded},
		{"a 403 for policy is terminal", httpErr(403, `{"error": {"message": "You are not authorized"}}`, nil), Terminal},
		{"a 409 name conflict is terminal", httpErr(409, `{"error": {"message": "Conflict occurred attempting to store project - Duplicate entry."}}`, nil), Terminal},
		{"a 400 is terminal", httpErr(400, "", nil), Terminal},
		{"a wrapped 502 is temporary", fmt.Errorf("creating: %w", httpErr(502, "", nil)), Retryable},
		{"a reset connection is temporary", &url.Error{Op: "Get", URL: "http://x", Err: errors.New("connection reset by peer")}, Retryable},
		{"a deadline is temporary", fmt.Errorf("x: %w", context.DeadlineExceeded), Retryable},
		{"a plain error is terminal", errors.New("boom"), Terminal},
		{"a failed re-login is as temporary as its cause", gophercloud.ErrUnableToReauthenticate{
			ErrOriginal: httpErr(401, "", nil), ErrReauth: httpErr(503, "", nil)}, Retryable},
		{"a re-login refused with 401 is terminal", fmt.Errorf("listing: %w", gophercloud.ErrUnableToReauthenticate{
			ErrOriginal: httpErr(401, "", nil), ErrReauth: httpErr(401, "", nil)}), Terminal},
		{"a failed re-login as gophercloud returns it (a pointer) is as temporary as its cause", fmt.Errorf("listing: %w", &gophercloud.ErrUnableToReauthenticate{
			ErrOriginal: httpErr(401, "", nil), ErrReauth: httpErr(502, "", nil)}), Retryable},
		{"a re-login refused with 401, as a pointer, is terminal", &gophercloud.ErrUnableToReauthenticate{
			ErrOriginal: httpErr(401, "", nil), ErrReauth: httpErr(401, "", nil)}, Terminal},
		{"a re-login that could not reach Keystone is temporary", &gophercloud.ErrUnableToReauthenticate{
			ErrOriginal: httpErr(401, "", nil), ErrReauth: &url.Error{Op: "Post", URL: "http://x", Err: errors.New("connection refused")}}, Retryable},
		{"a 503 after a successful re-login is temporary", &gophercloud.ErrErrorAfterReauthentication{ErrOriginal: httpErr(503, "", nil)}, Retryable},
		{"a quota refusal after a successful re-login is a quota refusal", &gophercloud.ErrErrorAfterReauthentication{
			ErrOriginal: httpErr(413, `{"overLimit": {"message": "Quota exceeded"}}`, nil)}, QuotaExceeded},
		{"a connection reset after a successful re-login is temporary (fault seed 279376029)", fmt.Errorf("reading quota: %w", &gophercloud.ErrErrorAfterReauthentication{
			ErrOriginal: &url.Error{Op: "Get", URL: "http://x", Err: errors.New("read: connection reset by peer")}}), Retryable},
		{"a 502 as a pointer is temporary", &gophercloud.ErrUnexpectedResponseCode{Actual: 502}, Retryable},
		{"a quota refusal as a pointer is a quota refusal", &gophercloud.ErrUnexpectedResponseCode{Actual: 403,
			Body: []byte(`{"forbidden": {"message": "Quota exceeded for cores"}}`)}, QuotaExceeded},
	}
	for _, tc := range cases {
		t.Run(tc.reason, func(t *testing.T) {
			if got := Classify(arrive(tc.err)); got != tc.want {
				t.Errorf("Classify() = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestIsCredentialsError(t *testing.T) {
	for _, tc := range []struct {
		reason string
		err    error
		want   bool
	}{
		{"ours", fmt.Errorf("%w: Secret hmrc/creds not found", ErrCredentials), true},
		{"a token whose renewal Keystone refused", fmt.Errorf("listing: %w", &gophercloud.ErrUnableToReauthenticate{
			ErrOriginal: httpErr(401, "", nil), ErrReauth: httpErr(401, "", nil)}), true},
		{"a token whose renewal failed for a while", &gophercloud.ErrUnableToReauthenticate{
			ErrOriginal: httpErr(401, "", nil), ErrReauth: httpErr(502, "", nil)}, false},
		{"a 401 without a renewal", httpErr(401, "", nil), false},
		{"a 403 for policy", httpErr(403, `{"error": {"message": "You are not authorized"}}`, nil), false},
		{"nil", nil, false},
	} {
		if got := IsCredentialsError(arrive(tc.err)); got != tc.want {
			t.Errorf("%s: IsCredentialsError() = %v, want %v", tc.reason, got, tc.want)
		}
	}
}

func TestIsNotFound(t *testing.T) {
	for _, tc := range []struct {
		reason string
		err    error
		want   bool
	}{
		{"a 404", httpErr(404, "", nil), true},
		{"ours", fmt.Errorf("%w: group x", ErrNotFound), true},
		{"gophercloud's lookup miss", gophercloud.ErrResourceNotFound{Name: "x"}, true},
		{"gophercloud's lookup miss as a pointer", &gophercloud.ErrResourceNotFound{Name: "x"}, true},
		{"a 404 after a successful re-login", &gophercloud.ErrErrorAfterReauthentication{ErrOriginal: httpErr(404, "", nil)}, true},
		{"a 500", httpErr(500, "", nil), false},
		{"nil", nil, false},
	} {
		if got := IsNotFound(arrive(tc.err)); got != tc.want {
			t.Errorf("%s: IsNotFound() = %v, want %v", tc.reason, got, tc.want)
		}
	}
}

func TestRetryAfter(t *testing.T) {
	future := time.Now().Add(90 * time.Second).UTC().Format(http.TimeFormat)
	for _, tc := range []struct {
		reason string
		header string
		want   time.Duration
		ok     bool
	}{
		{"seconds", "7", 7 * time.Second, true},
		{"absent", "", 0, false},
		{"garbage", "soon", 0, false},
		{"negative", "-5", 0, false},
		{"an hour is capped", "3600", MaxRetryAfter, true},
		{"past int64 seconds is capped, not overflowed", "9223372036854775807", MaxRetryAfter, true},
		{"past uint64 is capped, not overflowed", "99999999999999999999999999", MaxRetryAfter, true},
		{"zero", "0", 0, true},
	} {
		h := http.Header{}
		if tc.header != "" {
			h.Set("Retry-After", tc.header)
		}
		got, ok := RetryAfter(arrive(httpErr(429, "", h)))
		if got != tc.want || ok != tc.ok {
			t.Errorf("%s: RetryAfter() = %v, %v; want %v, %v", tc.reason, got, ok, tc.want, tc.ok)
		}
	}
	h := http.Header{}
	h.Set("Retry-After", future)
	if got, ok := RetryAfter(arrive(httpErr(503, "", h))); !ok || got < 80*time.Second || got > 90*time.Second {
		t.Errorf("HTTP date: RetryAfter() = %v, %v; want about 90s", got, ok)
	}
	h.Set("Retry-After", time.Now().AddDate(300, 0, 0).UTC().Format(http.TimeFormat))
	if got, ok := RetryAfter(arrive(&gophercloud.ErrUnexpectedResponseCode{Actual: 429, ResponseHeader: h})); !ok || got != MaxRetryAfter {
		t.Errorf("a date centuries ahead: RetryAfter() = %v, %v; want %v", got, ok, MaxRetryAfter)
	}
	h.Set("Retry-After", time.Now().Add(-time.Hour).UTC().Format(http.TimeFormat))
	if got, ok := RetryAfter(arrive(httpErr(429, "", h))); !ok || got != 0 {
		t.Errorf("a date in the past: RetryAfter() = %v, %v; want 0", got, ok)
	}
}

func TestMessage(t *testing.T) {
	cases := []struct {
		reason string
		err    error
		want   string
	}{
		{
			"the cloud's own message, without the query string",
			httpErr(403, `{"forbidden": {"message": "Quota exceeded for cores"}}`, nil),
			"POST /v2.1/servers: 403 Quota exceeded for cores",
		},
		{"a body that is not JSON", httpErr(502, "<html>bad gateway</html>", nil), "POST /v2.1/servers: 502 Bad Gateway"},
		{"not an HTTP error", errors.New("dial tcp: refused"), "dial tcp: refused"},
		{
			"a failed re-login says so, with Keystone's answer",
			gophercloud.ErrUnableToReauthenticate{ErrOriginal: httpErr(401, "", nil), ErrReauth: httpErr(503, "", nil)},
			"token expired and logging in again failed: POST /v2.1/servers: 503 Service Unavailable",
		},
		{
			"a failed re-login as gophercloud returns it (a pointer)",
			fmt.Errorf("listing: %w", &gophercloud.ErrUnableToReauthenticate{ErrOriginal: httpErr(401, "", nil), ErrReauth: httpErr(502, "", nil)}),
			"token expired and logging in again failed: POST /v2.1/servers: 502 Bad Gateway",
		},
	}
	for _, tc := range cases {
		if diff := cmp.Diff(tc.want, Message(arrive(tc.err))); diff != "" {
			t.Errorf("%s: Message() mismatch (-want +got):\n%s", tc.reason, diff)
		}
	}
}

// scriptedCloud is a Keystone that answers its logins, and a /v3/projects that answers
// its requests, with the statuses given in order (the last repeats): what gophercloud
// makes of a token that expires and a re-login that fails, unchanged.
func scriptedCloud(t *testing.T, logins, api []int) string {
	var mu sync.Mutex
	next := func(codes *[]int) int {
		mu.Lock()
		defer mu.Unlock()
		code := (*codes)[0]
		if len(*codes) > 1 {
			*codes = (*codes)[1:]
		}
		return code
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.Method == http.MethodPost && r.URL.Path == "/v3/auth/tokens":
			code := next(&logins)
			if code != http.StatusCreated {
				w.WriteHeader(code)
				_, _ = fmt.Fprintf(w, `{"error": {"message": "login answered %d", "code": %d}}`, code, code)
				return
			}
			w.Header().Set("X-Subject-Token", "token")
			w.WriteHeader(code)
			_, _ = w.Write([]byte(`{"token": {"expires_at": "2099-01-01T00:00:00Z", "catalog": []}}`))
		case r.URL.Path == "/v3/projects":
			code := next(&api)
			w.WriteHeader(code)
			_, _ = fmt.Fprintf(w, `{"error": {"message": "projects answered %d", "code": %d}}`, code, code)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestClassifyGophercloudReauthentication(t *testing.T) {
	cases := []struct {
		reason   string
		logins   []int
		api      []int
		class    Class
		notFound bool
		message  string
	}{
		{"the token expired and Keystone answered the re-login with 502", []int{201, 502}, []int{401}, Retryable, false,
			"token expired and logging in again failed: POST /v3/auth/tokens: 502 login answered 502"},
		{"the token expired and Keystone was unavailable", []int{201, 503}, []int{401}, Retryable, false,
			"token expired and logging in again failed: POST /v3/auth/tokens: 503 login answered 503"},
		{"the token expired and the password no longer works", []int{201, 401}, []int{401}, Terminal, false,
			"token expired and logging in again failed: POST /v3/auth/tokens: 401 login answered 401"},
		{"logged in again, then the request failed with 503", []int{201}, []int{401, 503}, Retryable, false,
			"GET /v3/projects: 503 projects answered 503"},
		{"logged in again, then the request found nothing", []int{201}, []int{401, 404}, Terminal, true,
			"GET /v3/projects: 404 projects answered 404"},
	}
	for _, tc := range cases {
		t.Run(tc.reason, func(t *testing.T) {
			base := scriptedCloud(t, tc.logins, tc.api)
			provider, err := openstack.NewClient(base + "/v3")
			if err != nil {
				t.Fatal(err)
			}
			opts := gophercloud.AuthOptions{IdentityEndpoint: base + "/v3", Username: "admin", Password: password,
				DomainName: "Default", AllowReauth: true}
			if err := openstack.Authenticate(context.Background(), provider, opts); err != nil {
				t.Fatalf("first login: %v", err)
			}
			_, err = provider.Request(context.Background(), http.MethodGet, base+"/v3/projects", &gophercloud.RequestOpts{OkCodes: []int{200}})
			if err == nil {
				t.Fatal("the request succeeded; the script says it fails")
			}
			if fromGophercloud(arrive(err)) {
				t.Errorf("a %T still reaches the caller after conversion", err)
			}
			wrapped := fmt.Errorf("listing projects: %w", arrive(err))
			if got := Classify(wrapped); got != tc.class {
				t.Errorf("Classify(%T: %v) = %v, want %v", err, err, got, tc.class)
			}
			if got := IsNotFound(wrapped); got != tc.notFound {
				t.Errorf("IsNotFound(%T) = %v, want %v", err, got, tc.notFound)
			}
			if diff := cmp.Diff(tc.message, Message(wrapped)); diff != "" {
				t.Errorf("Message(%T) mismatch (-want +got):\n%s", err, diff)
			}
		})
	}
}
