package controllers

import (
	"errors"
	"fmt"
	"net/url"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/utils/ptr"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"
	"github.com/whitehall-cloud/whitehall-operator/internal/openstack"
)

func TestProjectDrift(t *testing.T) {
	base := func() *whv1.Tenant {
		return &whv1.Tenant{
			ObjectMeta: metav1.ObjectMeta{Namespace: "hmrc", Name: "sa"},
			Spec: whv1.TenantSpec{Project: whv1.ProjectSpec{
				Description: ptr.To("d"), Tags: []string{"a", "b"}, Enabled: ptr.To(true),
			}},
		}
	}
	inSync := openstack.Project{Name: "hmrc_sa", Description: "d", Tags: []string{"b", "a"}, Enabled: true}
	cases := []struct {
		reason  string
		tenant  func(*whv1.Tenant)
		project func(*openstack.Project)
		want    []string
	}{
		{"nothing differs; tag order does not matter", nil, nil, nil},
		{"renamed and disabled by hand", nil, func(p *openstack.Project) { p.Name, p.Enabled = "x", false }, []string{"name", "enabled"}},
		{"a tag added by hand", nil, func(p *openstack.Project) { p.Tags = append(p.Tags, "c") }, []string{"tags"}},
		{"description not managed when the spec leaves it out", func(t *whv1.Tenant) { t.Spec.Project.Description = nil },
			func(p *openstack.Project) { p.Description = "set by hand" }, nil},
		{"tags not managed when the spec leaves them out", func(t *whv1.Tenant) { t.Spec.Project.Tags = nil },
			func(p *openstack.Project) { p.Tags = []string{"z"} }, nil},
		{"an empty tag list clears tags", func(t *whv1.Tenant) { t.Spec.Project.Tags = []string{} }, nil, []string{"tags"}},
		{"an imported project keeps the name it was adopted with", func(t *whv1.Tenant) {
			t.Spec.Import = &whv1.ProjectImport{ID: ptr.To("p1")}
			t.Status.ProjectName = "legacy"
		}, func(p *openstack.Project) { p.Name = "legacy" }, nil},
		{"a project made under the old default name keeps it", func(t *whv1.Tenant) { t.Status.ProjectName = "hmrc-sa" },
			func(p *openstack.Project) { p.Name = "hmrc-sa" }, nil},
	}
	for _, tc := range cases {
		t.Run(tc.reason, func(t *testing.T) {
			tenant, project := base(), inSync
			project.Tags = append([]string(nil), inSync.Tags...)
			if tc.tenant != nil {
				tc.tenant(tenant)
			}
			if tc.project != nil {
				tc.project(&project)
			}
			update, changed := projectDrift(tenant, &project)
			if diff := cmp.Diff(tc.want, changed); diff != "" {
				t.Errorf("changed fields (-want +got):\n%s", diff)
			}
			if update.IsEmpty() != (len(tc.want) == 0) {
				t.Errorf("update.IsEmpty() = %v with changes %v", update.IsEmpty(), changed)
			}
		})
	}
}

func TestDescribeContents(t *testing.T) {
	got := describeContents(openstack.Contents{
		Servers: []string{"s1", "s2", "s3", "s4", "s5", "s6", "s7"},
		Ports:   []string{"p1"},
	})
	want := "7 server(s): s1, s2, s3, s4, s5 and 2 more; 1 port(s): p1"
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("describeContents (-want +got):\n%s", diff)
	}
	got = describeContents(openstack.Contents{
		Snapshots: []string{"sn"}, Backups: []string{"b"}, Images: []string{"i"}, FloatingIPs: []string{"f"},
		Containers: []string{"c"}, Networks: []string{"n1", "n2"}, Routers: []string{"r"}, SecurityGroups: []string{"g"},
	})
	want = "1 volume snapshot(s): sn; 1 volume backup(s): b; 1 image(s): i; 1 floating IP(s): f; 1 object container(s): c; " +
		"2 network(s): n1, n2; 1 router(s): r; 1 security group(s): g"
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("describeContents of the other kinds (-want +got):\n%s", diff)
	}
}

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
			o := Classify(tc.err, "ok", iv)
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
