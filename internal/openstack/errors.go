package openstack

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gophercloud/gophercloud/v2"
)

// ErrNotFound is wrapped by every error that means "the resource does not exist".
var ErrNotFound = errors.New("not found")

// Class tells a caller what to do with an error.
type Class int

const (
	// Terminal errors come from a bad request or a refusal that retrying cannot change
	// (400, 401, 403, 404 on a named dependency, 409 conflicts of identity): surface them
	// and wait for the spec or the credentials to change.
	Terminal Class = iota
	// Retryable errors are temporary: 5xx, 429, timeouts, broken connections.
	Retryable
	// QuotaExceeded is a retryable refusal for quota: it clears when quota rises or usage
	// falls.
	QuotaExceeded
)

func (c Class) String() string {
	switch c {
	case Retryable:
		return "Retryable"
	case QuotaExceeded:
		return "QuotaExceeded"
	default:
		return "Terminal"
	}
}

// StatusCode returns the HTTP status OpenStack answered with, or 0 when the error did not
// come from an HTTP answer.
func StatusCode(err error) int {
	var coder interface{ GetStatusCode() int }
	if errors.As(err, &coder) {
		return coder.GetStatusCode()
	}
	return 0
}

// IsNotFound reports whether err means the resource does not exist.
func IsNotFound(err error) bool {
	if errors.Is(err, ErrNotFound) {
		return true
	}
	_, rnf := as[gophercloud.ErrResourceNotFound](err)
	return rnf || StatusCode(err) == http.StatusNotFound
}

// as finds a gophercloud error of type T in err's chain, as a value or as a pointer:
// gophercloud returns some of its error types as pointers (a failed re-login is a
// *ErrUnableToReauthenticate) and others as values, and errors.As tells them apart.
func as[T error, PT interface {
	*T
	error
}](err error) (T, bool) {
	var v T
	if errors.As(err, &v) {
		return v, true
	}
	var p PT
	if errors.As(err, &p) && p != nil {
		return *p, true
	}
	return v, false
}

// reauthFailure returns why logging in again failed, when err is a request whose token
// expired and whose re-login failed. That error does not unwrap: its cause is only here.
func reauthFailure(err error) (error, bool) {
	reauth, ok := as[gophercloud.ErrUnableToReauthenticate](err)
	if !ok || reauth.ErrReauth == nil {
		return nil, false
	}
	return reauth.ErrReauth, true
}

// IsCredentialsError reports whether err was caused by the credentials: a Secret or
// login the factory refused (ErrCredentials), or a token that expired and whose renewal
// Keystone refused, as it would a password changed behind the Secret's back.
func IsCredentialsError(err error) bool {
	if errors.Is(err, ErrCredentials) {
		return true
	}
	cause, ok := reauthFailure(err)
	return ok && loginRefused(StatusCode(cause))
}

// loginRefused reports whether Keystone's answer to a login refuses the credentials
// (404: an application credential that no longer exists, or an auth URL that is not
// Keystone's), rather than failing for a while.
func loginRefused(code int) bool {
	switch code {
	case http.StatusUnauthorized, http.StatusForbidden, http.StatusBadRequest, http.StatusNotFound:
		return true
	}
	return false
}

// Classify sorts an error into Terminal, Retryable or QuotaExceeded.
func Classify(err error) Class {
	if err == nil {
		return Terminal
	}
	// A token that expired and could not be renewed: the login's failure decides (a
	// Keystone restart is retried; a password that stopped working is not).
	if cause, ok := reauthFailure(err); ok {
		return Classify(cause)
	}
	if isQuotaRefusal(err) {
		return QuotaExceeded
	}
	switch code := StatusCode(err); {
	case code == http.StatusTooManyRequests, code == http.StatusRequestTimeout, code >= 500:
		return Retryable
	case code != 0:
		return Terminal
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return Retryable
	}
	var netErr net.Error
	if errors.As(err, &netErr) {
		return Retryable
	}
	var urlErr *url.Error
	if errors.As(err, &urlErr) {
		// Connection refused or reset, EOF mid-response: the cloud is restarting or
		// overloaded.
		return Retryable
	}
	return Terminal
}

// IsRetryable reports whether a retry may succeed without any change to the spec.
func IsRetryable(err error) bool { return Classify(err) != Terminal }

// isQuotaRefusal recognises the services' quota refusals: Nova answers 403 or 413,
// Neutron 409 with the OverQuota type, Cinder 413.
func isQuotaRefusal(err error) bool {
	resp, ok := as[gophercloud.ErrUnexpectedResponseCode](err)
	if !ok {
		return false
	}
	body := strings.ToLower(string(resp.Body))
	switch resp.Actual {
	case http.StatusRequestEntityTooLarge:
		return true
	case http.StatusForbidden:
		return strings.Contains(body, "quota exceeded") || strings.Contains(body, "quota_exceeded")
	case http.StatusConflict:
		return strings.Contains(body, "overquota") || strings.Contains(body, "quota exceeded")
	}
	return false
}

// MaxRetryAfter is the longest wait a Retry-After header can impose: a cloud that asks
// for an hour (or, by mistake, for years) is asked again after this.
const MaxRetryAfter = 10 * time.Minute

// RetryAfter returns how long the cloud asked the caller to wait (a 429 or 503 with a
// Retry-After header in seconds or as an HTTP date), at most MaxRetryAfter, or false
// when it did not say.
func RetryAfter(err error) (time.Duration, bool) {
	resp, ok := as[gophercloud.ErrUnexpectedResponseCode](err)
	if !ok || resp.ResponseHeader == nil {
		return 0, false
	}
	return parseRetryAfter(resp.ResponseHeader.Get("Retry-After"), time.Now())
}

// parseRetryAfter reads a Retry-After header, seconds or an HTTP date, as a wait from
// now between zero and MaxRetryAfter: no value, however large, overflows.
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.ParseUint(v, 10, 64); err == nil {
		return time.Duration(min(secs, uint64(MaxRetryAfter/time.Second))) * time.Second, true
	} else if errors.Is(err, strconv.ErrRange) {
		return MaxRetryAfter, true // all digits, too many of them
	}
	if at, err := http.ParseTime(v); err == nil {
		return min(max(at.Sub(now), 0), MaxRetryAfter), true
	}
	return 0, false
}

// Message is a short, credential-free description of err fit for a condition message.
// gophercloud's errors quote whole response bodies; this keeps the status and the
// cloud's own message.
func Message(err error) string {
	if err == nil {
		return ""
	}
	if cause, ok := reauthFailure(err); ok {
		return "token expired and logging in again failed: " + Message(cause)
	}
	if resp, ok := as[gophercloud.ErrUnexpectedResponseCode](err); ok {
		msg := cloudMessage(resp.Body)
		if msg == "" {
			msg = http.StatusText(resp.Actual)
		}
		return fmt.Sprintf("%s %s: %d %s", resp.Method, redactURL(resp.URL), resp.Actual, msg)
	}
	return err.Error()
}

// redactURL drops the query, which may carry names the caller searched for, and keeps
// the path that says which API refused.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "request"
	}
	return u.Path
}

// cloudMessage pulls the human message out of an OpenStack error body, whichever
// service's shape it has ({"error": {"message"}}, {"forbidden": {"message"}},
// {"NeutronError": {"message"}}, …).
func cloudMessage(body []byte) string {
	var doc map[string]json.RawMessage
	if json.Unmarshal(body, &doc) != nil {
		return ""
	}
	for _, raw := range doc {
		var inner struct {
			Message string `json:"message"`
		}
		if json.Unmarshal(raw, &inner) == nil && inner.Message != "" {
			return truncate(inner.Message, 300)
		}
	}
	return ""
}

// redact removes secret from the body of an OpenStack answer: Keystone's validation
// messages may quote the request's values, and the request held a password.
func redact(err error, secret string) error {
	resp, ok := as[gophercloud.ErrUnexpectedResponseCode](err)
	if secret == "" || !ok {
		return err
	}
	forms := [][]byte{[]byte(secret)}
	if quoted, jerr := json.Marshal(secret); jerr == nil {
		forms = append(forms, quoted[1:len(quoted)-1]) // as it appears inside a JSON string
	}
	body := resp.Body
	for _, f := range forms {
		body = bytes.ReplaceAll(body, f, []byte("[redacted]"))
	}
	if bytes.Equal(body, resp.Body) {
		return err
	}
	resp.Body = body
	return resp
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
