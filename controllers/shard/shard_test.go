package shard

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

func TestNames(t *testing.T) {
	cases := []struct {
		reason, shard       string
		wantErr             bool
		wantName, wantLease string
	}{
		{reason: "empty is the default shard, with the Lease of before shards", shard: "", wantName: Default, wantLease: "whitehall-operator.whitehall.cloud"},
		{reason: "default is the default shard too", shard: "default", wantName: Default, wantLease: "whitehall-operator.whitehall.cloud"},
		{reason: "a named shard has its own Lease", shard: "shard-1", wantName: "shard-1", wantLease: "shard-1.whitehall-operator.whitehall.cloud"},
		{reason: "upper case is no DNS-1123 label", shard: "B", wantErr: true},
		{reason: "a dot would make a Lease name of another shape", shard: "a.b", wantErr: true},
		{reason: "longer than 63", shard: "a234567890123456789012345678901234567890123456789012345678901234", wantErr: true},
	}
	for _, c := range cases {
		err := Validate(c.shard)
		if (err != nil) != c.wantErr {
			t.Errorf("%s: Validate(%q) = %v, want error %v", c.reason, c.shard, err, c.wantErr)
		}
		if c.wantErr {
			continue
		}
		got := []string{Normalize(c.shard), LeaseID(c.shard)}
		if diff := cmp.Diff([]string{c.wantName, c.wantLease}, got); diff != "" {
			t.Errorf("%s: name, lease (-want +got):\n%s", c.reason, diff)
		}
	}
}

func TestRecordNames(t *testing.T) {
	cases := []struct{ reason, name, want string }{
		{reason: "a record", name: RecordName("dept-a"), want: "dept-a"},
		{reason: "a leader Lease is no record", name: LeaseID("shard-1"), want: ""},
		{reason: "the default shard's Lease is no record", name: LeaseID(""), want: ""},
		{reason: "a record-like name with a dot before it", name: "a.b" + recordSuffix, want: ""},
		{reason: "any other Lease", name: "something-else", want: ""},
	}
	for _, c := range cases {
		if diff := cmp.Diff(c.want, namespaceOfRecord(c.name)); diff != "" {
			t.Errorf("%s: namespaceOfRecord(%q) (-want +got):\n%s", c.reason, c.name, diff)
		}
	}
}

func TestLive(t *testing.T) {
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	lease := func(holder string, renewed time.Duration) *coordinationv1.Lease {
		return &coordinationv1.Lease{Spec: coordinationv1.LeaseSpec{
			HolderIdentity: ptr.To(holder), LeaseDurationSeconds: ptr.To[int32](15),
			RenewTime: ptr.To(metav1.NewMicroTime(now.Add(-renewed))),
		}}
	}
	cases := []struct {
		reason string
		lease  *coordinationv1.Lease
		want   bool
	}{
		{reason: "renewed a moment ago", lease: lease("pod-1", time.Second), want: true},
		{reason: "renewed longer ago than its duration", lease: lease("pod-1", 16*time.Second), want: false},
		{reason: "released on a clean stop (holder emptied)", lease: lease("", time.Second), want: false},
		{reason: "never renewed", lease: &coordinationv1.Lease{Spec: coordinationv1.LeaseSpec{HolderIdentity: ptr.To("pod-1")}}, want: false},
	}
	for _, c := range cases {
		if diff := cmp.Diff(c.want, live(c.lease, now)); diff != "" {
			t.Errorf("%s: (-want +got):\n%s", c.reason, diff)
		}
	}
}

func TestMoves(t *testing.T) {
	ns := func(shard string) *corev1.Namespace {
		n := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "dept", Labels: map[string]string{"team": "a"}}}
		if shard != "" {
			n.Labels[Label] = shard
		}
		return n
	}
	lease := func(labels map[string]string) *coordinationv1.Lease {
		return &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: "x", Labels: labels}}
	}
	cases := []struct {
		reason       string
		old, updated any
		want         bool
	}{
		{reason: "the shard label changed", old: ns("a"), updated: ns("b"), want: true},
		{reason: "the shard label removed", old: ns("a"), updated: ns(""), want: true},
		{reason: "default spelt out is no move", old: ns(""), updated: ns("default"), want: false},
		{reason: "another label changed", old: ns("a"), updated: func() *corev1.Namespace { n := ns("a"); n.Labels["team"] = "b"; return n }(), want: false},
		{reason: "a record written", old: lease(map[string]string{RecordLabel: "true"}), updated: lease(map[string]string{RecordLabel: "true"}), want: true},
		{reason: "a leader Lease renewed", old: lease(nil), updated: lease(nil), want: false},
	}
	for _, c := range cases {
		if diff := cmp.Diff(c.want, moves(c.old, c.updated)); diff != "" {
			t.Errorf("%s: (-want +got):\n%s", c.reason, diff)
		}
	}
}
