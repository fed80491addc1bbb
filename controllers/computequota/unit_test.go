package computequota

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"

	"k8s.io/utils/ptr"

	"github.com/whitehall-cloud/whitehall-operator/controllers/lookups"
	"github.com/whitehall-cloud/whitehall-operator/internal/openstack"
	"github.com/whitehall-cloud/whitehall-operator/internal/openstack/openstacktest"
	"github.com/whitehall-cloud/whitehall-operator/internal/quota"
)

func TestApplyQuotaBelowUsage(t *testing.T) {
	const project = "p"
	type calls struct{ reads, writes int }
	cases := []struct {
		reason      string
		service     quota.Service
		inUse       map[string]int64
		known       quota.Limits // what the last reconcile saw
		desired     quota.Limits
		wantLimits  map[string]int64
		wantUsage   quota.Limits
		wantKept    quota.Limits
		wantCalls   calls
		wantChanges int
	}{
		{
			reason:  "a season's end lowers Nova below usage: written (forced), then read once for the usage",
			service: quota.ComputeService, inUse: map[string]int64{"cores": 3},
			known: quota.Limits{quota.Cores: 6}, desired: quota.Limits{quota.Cores: 1},
			wantLimits: map[string]int64{"cores": 1}, wantUsage: quota.Limits{quota.Cores: 3},
			wantCalls: calls{reads: 1, writes: 1}, wantChanges: 1,
		},
		{
			reason:  "Neutron takes a limit below usage; the read after the write shows it",
			service: quota.NetworkService, inUse: map[string]int64{"ports": 7},
			known: quota.Limits{quota.Ports: 50}, desired: quota.Limits{quota.Ports: 2},
			wantLimits: map[string]int64{"ports": 2}, wantUsage: quota.Limits{quota.Ports: 7},
			wantCalls: calls{reads: 1, writes: 1}, wantChanges: 1,
		},
		{
			reason:  "a raise needs no read",
			service: quota.ComputeService, inUse: map[string]int64{"cores": 3},
			known: quota.Limits{quota.Cores: 6}, desired: quota.Limits{quota.Cores: 10},
			wantLimits: map[string]int64{"cores": 10}, wantUsage: quota.Limits{},
			wantCalls: calls{writes: 1}, wantChanges: 1,
		},
		{
			reason:  "Cinder refuses a limit below usage: read first, hold the limit at usage",
			service: quota.BlockStorageService, inUse: map[string]int64{"gigabytes": 8, "volumes": 2},
			known:      quota.Limits{quota.Gigabytes: 100, quota.Volumes: 10},
			desired:    quota.Limits{quota.Gigabytes: 5, quota.Volumes: 4},
			wantLimits: map[string]int64{"gigabytes": 8, "volumes": 4},
			wantUsage:  quota.Limits{quota.Gigabytes: 8, quota.Volumes: 2},
			wantKept:   quota.Limits{quota.Gigabytes: 8},
			wantCalls:  calls{reads: 1, writes: 1}, wantChanges: 2,
		},
		{
			reason:  "Cinder written blind (nothing known) and refused: read, hold at usage, write once more",
			service: quota.BlockStorageService, inUse: map[string]int64{"gigabytes": 8},
			desired:    quota.Limits{quota.Gigabytes: 5},
			wantLimits: map[string]int64{"gigabytes": 8}, wantUsage: quota.Limits{quota.Gigabytes: 8},
			wantKept:  quota.Limits{quota.Gigabytes: 8},
			wantCalls: calls{reads: 1, writes: 2}, wantChanges: 1,
		},
		{
			reason:  "Cinder held at usage, usage unchanged: one read, no write",
			service: quota.BlockStorageService, inUse: map[string]int64{"gigabytes": 8},
			known: quota.Limits{quota.Gigabytes: 8}, desired: quota.Limits{quota.Gigabytes: 5},
			wantLimits: map[string]int64{"gigabytes": 8}, wantUsage: quota.Limits{quota.Gigabytes: 8},
			wantKept:  quota.Limits{quota.Gigabytes: 8},
			wantCalls: calls{reads: 1}, wantChanges: 0,
		},
		{
			reason:  "Cinder held at usage, usage fell: lowered the rest of the way",
			service: quota.BlockStorageService, inUse: map[string]int64{"gigabytes": 3},
			known: quota.Limits{quota.Gigabytes: 8}, desired: quota.Limits{quota.Gigabytes: 5},
			wantLimits: map[string]int64{"gigabytes": 5}, wantUsage: quota.Limits{quota.Gigabytes: 3},
			wantCalls: calls{reads: 1, writes: 1}, wantChanges: 1,
		},
	}
	for _, tc := range cases {
		t.Run(tc.reason, func(t *testing.T) {
			cloud := openstacktest.New()
			for field, v := range tc.known.Of(tc.service) {
				cloud.SetLimitDirectly(project, tc.service, field.Name(), v)
			}
			for field, v := range tc.inUse {
				cloud.SetInUse(project, tc.service, field, v)
			}
			var knownUsage quota.Limits
			if tc.known != nil {
				knownUsage = quota.Limits{}
			}
			known := observation{QuotaReading: openstack.QuotaReading{Limits: tc.known, InUse: knownUsage}}
			got, err := quotaWrite{cloud: cloud, project: project}.apply(context.Background(), tc.desired, known)
			if err != nil {
				t.Fatal(err)
			}
			limits := cloud.Quota(project, tc.service)
			for field, want := range tc.wantLimits {
				if limits[field] != want {
					t.Errorf("limit %s = %d, want %d", field, limits[field], want)
				}
			}
			if diff := cmp.Diff(tc.wantUsage, got.usage, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("usage (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantKept, got.keptAtUsage, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("kept at usage (-want +got):\n%s", diff)
			}
			gotCalls := calls{
				reads:  cloud.Calls("GetQuota." + string(tc.service) + "/" + project),
				writes: cloud.Calls("SetQuota." + string(tc.service) + "/" + project),
			}
			if gotCalls != tc.wantCalls {
				t.Errorf("calls = %+v, want %+v", gotCalls, tc.wantCalls)
			}
			if len(got.changes) != tc.wantChanges {
				t.Errorf("changes = %v, want %d", got.changes, tc.wantChanges)
			}
		})
	}
}

func TestOldestQuota(t *testing.T) {
	at := func(sec int64) metav1.Time { return metav1.NewTime(time.Unix(sec, 0)) }
	q := func(name string, created int64, deleting bool) whv1.ComputeQuota {
		out := whv1.ComputeQuota{ObjectMeta: metav1.ObjectMeta{Name: name, CreationTimestamp: at(created)}}
		if deleting {
			out.DeletionTimestamp = ptr.To(at(created + 100))
		}
		return out
	}
	cases := []struct {
		reason string
		items  []whv1.ComputeQuota
		want   string
	}{
		{reason: "the oldest writes", items: []whv1.ComputeQuota{q("b", 20, false), q("a", 30, false)}, want: "b"},
		{reason: "created in the same second: the first name", items: []whv1.ComputeQuota{q("z", 10, false), q("m", 10, false)}, want: "m"},
		{reason: "one being deleted hands over to the next", items: []whv1.ComputeQuota{q("a", 10, true), q("b", 20, false)}, want: "b"},
		{reason: "all being deleted: none", items: []whv1.ComputeQuota{q("a", 10, true)}, want: ""},
	}
	for _, tc := range cases {
		got := ""
		if o := lookups.OldestQuota(tc.items); o != nil {
			got = o.Name
		}
		if got != tc.want {
			t.Errorf("%s: got %q, want %q", tc.reason, got, tc.want)
		}
	}
}
