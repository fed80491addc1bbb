package frame

import (
	"errors"
	"fmt"
	"net/url"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"
	"github.com/whitehall-cloud/whitehall-operator/internal/openstack"
)

func TestClassify(t *testing.T) {
	iv := Intervals{Resync: time.Hour, Dependency: time.Minute, Blocked: 30 * time.Second}
	cases := []struct {
		reason      string
		err         error
		wantReason  string
		progressing bool
		backoff     bool // the controller's exponential back-off, not a fixed interval
	}{
		{"success", nil, whv1.ReasonReady, false, false},
		{"a spec problem waits for a change", NewSpecError(whv1.ReasonAlreadyExists, "x"), whv1.ReasonAlreadyExists, false, false},
		{"waiting for a dependency is progress", fmt.Errorf("quota: %w", NewWaitingError(whv1.ReasonTenantNotReady, "x")), whv1.ReasonTenantNotReady, true, false},
		{"credentials", openstack.ErrCredentials, whv1.ReasonCredentialsError, false, false},
		{"a missing group", openstack.ErrNotFound, whv1.ReasonDependencyNotFound, true, false},
		{"a reset connection backs off", &url.Error{Op: "Get", URL: "u", Err: errors.New("reset")}, whv1.ReasonTransientError, true, true},
		{"deletion blocked", &BlockedError{Message: "m"}, whv1.ReasonDeletionBlocked, true, false},
		{"a Kubernetes update conflict backs off", fmt.Errorf("removing finalizer: %w",
			apierrors.NewConflict(schema.GroupResource{Group: "whitehall.cloud", Resource: "tenants"}, "sa", errors.New("the object has been modified"))),
			whv1.ReasonTransientError, true, true},
		{"a failed re-login backs off", &openstack.Error{Relogin: true, Err: &url.Error{Op: "Post", URL: "u", Err: errors.New("EOF")}},
			whv1.ReasonTransientError, true, true},
		{"anything else is reported, not hammered", errors.New("boom"), whv1.ReasonCloudRefused, false, false},
	}
	for _, tc := range cases {
		t.Run(tc.reason, func(t *testing.T) {
			o := classify(tc.err, "ok", iv)
			if o.reason != tc.wantReason || o.progressing != tc.progressing {
				t.Errorf("classify() = %s progressing=%v; want %s progressing=%v", o.reason, o.progressing, tc.wantReason, tc.progressing)
			}
			res, err := o.result(tc.err)
			if tc.backoff != (err != nil) {
				t.Errorf("result error = %v; want back-off %v", err, tc.backoff)
			}
			if !tc.backoff && res.RequeueAfter == 0 {
				t.Errorf("no requeue interval for %s", tc.reason)
			}
		})
	}
}
