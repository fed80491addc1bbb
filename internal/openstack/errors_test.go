package openstack

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/gophercloud/gophercloud/v2"
)

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
	}
	for _, tc := range cases {
		t.Run(tc.reason, func(t *testing.T) {
			if got := Classify(tc.err); got != tc.want {
				t.Errorf("Classify() = %v, want %v", got, tc.want)
			}
		})
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
		{"a 500", httpErr(500, "", nil), false},
		{"nil", nil, false},
	} {
		if got := IsNotFound(tc.err); got != tc.want {
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
	} {
		h := http.Header{}
		if tc.header != "" {
			h.Set("Retry-After", tc.header)
		}
		got, ok := RetryAfter(httpErr(429, "", h))
		if got != tc.want || ok != tc.ok {
			t.Errorf("%s: RetryAfter() = %v, %v; want %v, %v", tc.reason, got, ok, tc.want, tc.ok)
		}
	}
	h := http.Header{}
	h.Set("Retry-After", future)
	if got, ok := RetryAfter(httpErr(503, "", h)); !ok || got < 80*time.Second || got > 90*time.Second {
		t.Errorf("HTTP date: RetryAfter() = %v, %v; want about 90s", got, ok)
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
	}
	for _, tc := range cases {
		if diff := cmp.Diff(tc.want, Message(tc.err)); diff != "" {
			t.Errorf("%s: Message() mismatch (-want +got):\n%s", tc.reason, diff)
		}
	}
}
