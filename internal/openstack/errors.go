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
	"reflect"
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

// Error is an OpenStack service's answer to a request that failed: the operator's own
// form of it, made in this package where the answer arrives, so nothing outside it ever
// handles a gophercloud value. A login that failed when a token expired is an Error too,
// with Relogin set: its status and message are then Keystone's answer to the login.
type Error struct {
	// Service is the service type that answered (compute, identity, network, …), ""
	// when the URL falls under no endpoint of the catalog.
	Service string
	// Operation is the request's method and path, without the query (which may carry
	// names the caller searched for): "POST /v2.1/servers".
	Operation string
	// StatusCode is the HTTP status; 0 when the request got no answer (a re-login that
	// could not reach Keystone).
	StatusCode int
	// CloudMessage is the service's own message from the body, credential-free.
	CloudMessage string
	// RetryAfterHeader is the Retry-After header as the cloud sent it, "" when absent.
	RetryAfterHeader string
	// Quota is set when the answer refuses for quota.
	Quota bool
	// Relogin is set when the token expired and logging in again failed.
	Relogin bool
	// Err is the cause when there was no answer (a broken connection), or nil.
	Err error
}

func (e *Error) Error() string {
	var s string
	switch {
	case e.StatusCode == 0 && e.Err != nil:
		s = e.Err.Error()
	default:
		msg := e.CloudMessage
		if msg == "" {
			msg = http.StatusText(e.StatusCode)
		}
		s = fmt.Sprintf("%s: %d %s", e.Operation, e.StatusCode, msg)
	}
	if e.Relogin {
		return "token expired and logging in again failed: " + s
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

// contextError keeps the context a caller wrapped around an answer ("listing servers: …")
// when the answer itself is converted.
type contextError struct {
	prefix string
	err    error
}

func (e *contextError) Error() string { return e.prefix + e.err.Error() }
func (e *contextError) Unwrap() error { return e.err }

// convertError turns the gophercloud errors in err's chain into the operator's: an
// unexpected answer into an *Error, a failed re-login into an *Error with Relogin, a
// lookup miss into ErrNotFound, any other gophercloud error into plain text. service
// names the answering service from a URL. Every exported method of this package that
// reaches gophercloud passes its error through here.
func convertError(err error, service func(url string) string) error {
	if err == nil || !fromGophercloud(err) {
		return err
	}
	var conv error
	switch {
	case isAs[gophercloud.ErrUnableToReauthenticate](err):
		reauth, _ := as[gophercloud.ErrUnableToReauthenticate](err)
		cause := convertError(reauth.ErrReauth, service)
		var e *Error
		if !errors.As(cause, &e) {
			e = &Error{Err: cause}
		} else {
			c := *e
			e = &c
		}
		e.Relogin = true
		conv = e
	case isAs[gophercloud.ErrUnexpectedResponseCode](err):
		resp, _ := as[gophercloud.ErrUnexpectedResponseCode](err)
		e := &Error{
			Operation:    resp.Method + " " + redactURL(resp.URL),
			StatusCode:   resp.Actual,
			CloudMessage: cloudMessage(resp.Body),
			Quota:        isQuotaRefusal(resp.Actual, resp.Body),
		}
		if service != nil {
			e.Service = service(resp.URL)
		}
		if resp.ResponseHeader != nil {
			e.RetryAfterHeader = resp.ResponseHeader.Get("Retry-After")
		}
		conv = e
	case isAs[gophercloud.ErrResourceNotFound](err):
		miss, _ := as[gophercloud.ErrResourceNotFound](err)
		conv = fmt.Errorf("%w: %s", ErrNotFound, miss.Error())
	case isAs[gophercloud.ErrErrorAfterReauthentication](err):
		// The new token worked and the retried request failed without an answer (a reset,
		// a timeout): that failure decides, as for any request, so it stays in the chain.
		after, _ := as[gophercloud.ErrErrorAfterReauthentication](err)
		conv = &contextError{prefix: "Successfully re-authenticated, but got error executing request: ",
			err: convertError(after.ErrOriginal, service)}
	default:
		return errors.New(err.Error())
	}
	if prefix, ok := outerContext(err); ok {
		return &contextError{prefix: prefix, err: conv}
	}
	return conv
}

// outerContext returns the text that wrappers put before the first gophercloud error in
// err's chain.
func outerContext(err error) (string, bool) {
	for e, depth := err, 0; e != nil; e, depth = errors.Unwrap(e), depth+1 {
		if isGophercloud(e) {
			if depth == 0 {
				return "", false
			}
			prefix, ok := strings.CutSuffix(err.Error(), e.Error())
			return prefix, ok && prefix != ""
		}
	}
	return "", false
}

// fromGophercloud reports whether any error in err's chain is one of gophercloud's.
func fromGophercloud(err error) bool {
	for e := err; e != nil; e = errors.Unwrap(e) {
		if isGophercloud(e) {
			return true
		}
	}
	return false
}

func isGophercloud(err error) bool {
	t := reflect.TypeOf(err)
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return strings.HasPrefix(t.PkgPath(), "github.com/gophercloud/gophercloud")
}

func isAs[T error, PT interface {
	*T
	error
}](err error) bool {
	_, ok := as[T, PT](err)
	return ok
}

// convert is the deferred form of convertError for a method of Cloud, naming the
// service from the catalog.
func (c *Cloud) convert(err *error) {
	*err = convertError(*err, c.serviceAt)
}

// serviceAt names the catalog service whose endpoint url falls under.
func (c *Cloud) serviceAt(url string) string {
	if c == nil || c.routes == nil {
		return ""
	}
	return c.routes.lookup(url)
}

// StatusCode returns the HTTP status OpenStack answered with, or 0 when the error did not
// come from an HTTP answer.
func StatusCode(err error) int {
	err = convertError(err, nil) // this package asks before its methods convert
	var e *Error
	if errors.As(err, &e) && !e.Relogin {
		return e.StatusCode
	}
	return 0
}

// IsNotFound reports whether err means the resource does not exist.
func IsNotFound(err error) bool {
	err = convertError(err, nil) // this package asks before its methods convert
	return errors.Is(err, ErrNotFound) || StatusCode(err) == http.StatusNotFound
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
// expired and whose re-login failed.
func reauthFailure(err error) (*Error, bool) {
	var e *Error
	if errors.As(err, &e) && e.Relogin {
		return e, true
	}
	return nil, false
}

// IsCredentialsError reports whether err was caused by the credentials: a Secret or
// login the factory refused (ErrCredentials), or a token that expired and whose renewal
// Keystone refused, as it would a password changed behind the Secret's back.
func IsCredentialsError(err error) bool {
	err = convertError(err, nil) // this package asks before its methods convert
	if errors.Is(err, ErrCredentials) {
		return true
	}
	cause, ok := reauthFailure(err)
	return ok && loginRefused(cause.StatusCode)
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
	err = convertError(err, nil)
	// A token that expired and could not be renewed: the login's failure decides (a
	// Keystone restart is retried; a password that stopped working is not).
	if cause, ok := reauthFailure(err); ok {
		if cause.StatusCode == 0 {
			return classifyUnanswered(cause.Err)
		}
		return classifyStatus(cause.StatusCode, cause.Quota)
	}
	var e *Error
	if errors.As(err, &e) && e.StatusCode != 0 {
		return classifyStatus(e.StatusCode, e.Quota)
	}
	return classifyUnanswered(err)
}

func classifyStatus(code int, quota bool) Class {
	switch {
	case quota:
		return QuotaExceeded
	case code == http.StatusTooManyRequests, code == http.StatusRequestTimeout, code >= 500:
		return Retryable
	}
	return Terminal
}

// classifyUnanswered sorts an error that carries no answer: timeouts and broken
// connections are temporary.
func classifyUnanswered(err error) Class {
	if err == nil {
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
func isQuotaRefusal(code int, raw []byte) bool {
	body := strings.ToLower(string(raw))
	switch code {
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
	err = convertError(err, nil) // this package asks before its methods convert
	var e *Error
	if !errors.As(err, &e) || e.Relogin {
		return 0, false
	}
	return parseRetryAfter(e.RetryAfterHeader, time.Now())
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

// Message is a short, credential-free description of err fit for a condition message:
// the operation, the status and the cloud's own message, without the context callers
// wrapped around it.
func Message(err error) string {
	if err == nil {
		return ""
	}
	err = convertError(err, nil)
	var e *Error
	if errors.As(err, &e) {
		return e.Error()
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
