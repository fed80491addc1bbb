package tenant

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/events"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"

	"github.com/whitehall-cloud/whitehall-operator/controllers/access"
	"github.com/whitehall-cloud/whitehall-operator/controllers/frame"
)

const ledgerTestNamespace = "whitehall-system"

// networkedTenant is a Tenant with a network in ns, of cidr when not "".
func networkedTenant(ns, name, cidr string) *whv1.Tenant {
	return &whv1.Tenant{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, UID: types.UID(ns + "-" + name)},
		Spec:       whv1.TenantSpec{Network: &whv1.TenantNetwork{CIDR: cidr}},
	}
}

func claimOf(t *whv1.Tenant, block string) pendingClaim {
	return pendingClaim{Namespace: t.Namespace, Name: t.Name, UID: t.UID, Block: block}
}

func TestLedgerPrune(t *testing.T) {
	withStatus := func(t *whv1.Tenant, cidr, networkID string) *whv1.Tenant {
		t.Status.Network = &whv1.TenantNetworkStatus{CIDR: cidr, NetworkID: networkID}
		return t
	}
	recreated := networkedTenant("hmrc", "again", "")
	recreated.UID = "a-new-uid"
	cases := []struct {
		reason string
		tenant *whv1.Tenant // nil: gone
		block  string
		kept   bool
	}{
		{"an allocation whose status is not written yet is kept", networkedTenant("hmrc", "a", ""), "10.0.0.0/28", true},
		{"an allocation its status holds, read live, is pruned", withStatus(networkedTenant("hmrc", "b", ""), "10.0.0.16/28", ""), "10.0.0.16/28", false},
		{"an allocation whose status holds another range is pruned: it has its range", withStatus(networkedTenant("hmrc", "c", ""), "10.0.0.32/28", ""), "10.0.0.48/28", false},
		{"an explicit range recorded in status but with no network yet is kept", withStatus(networkedTenant("dwp", "d", "10.0.1.0/28"), "10.0.1.0/28", ""), "10.0.1.0/28", true},
		{"an explicit range whose network exists is pruned", withStatus(networkedTenant("dwp", "e", "10.0.1.16/28"), "10.0.1.16/28", "net"), "10.0.1.16/28", false},
		{"a Tenant gone is pruned", nil, "10.0.2.0/28", false},
		{"a Tenant of that name made again (another UID) is pruned", recreated, "10.0.2.16/28", false},
		{"a Tenant without a network any more is pruned", &whv1.Tenant{ObjectMeta: metav1.ObjectMeta{Namespace: "dwp", Name: "f", UID: "dwp-f"}}, "10.0.2.32/28", false},
		{"a Tenant whose spec names another range now is pruned", networkedTenant("dwp", "g", "10.0.3.0/28"), "10.0.2.48/28", false},
		{"a block that does not parse (edited by hand) is pruned", networkedTenant("dwp", "h", ""), "not-a-cidr", false},
	}
	var led ledger
	var live []whv1.Tenant
	var want []string
	for i, tc := range cases {
		owner := tc.tenant
		if owner == nil || owner == recreated {
			owner = networkedTenant("gone", fmt.Sprint(i), "")
			if tc.tenant == recreated {
				owner.Namespace, owner.Name = recreated.Namespace, recreated.Name
			}
		}
		led.claims = append(led.claims, claimOf(owner, tc.block))
		if tc.tenant != nil {
			live = append(live, *tc.tenant)
		}
		if tc.kept {
			want = append(want, tc.reason)
		}
	}
	led.prune(live)
	var got []string
	for _, c := range led.claims {
		for _, tc := range cases {
			if c.Block == tc.block {
				got = append(got, tc.reason)
				break
			}
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("claims kept (-want +got):\n%s", diff)
	}
}

func TestLedgerPutIsBounded(t *testing.T) {
	var led ledger
	for i := range MaxPendingClaims {
		if err := led.put(pendingClaim{UID: types.UID(fmt.Sprint(i)), Block: "10.0.0.0/28"}); err != nil {
			t.Fatalf("claim %d of %d refused: %v", i+1, MaxPendingClaims, err)
		}
	}
	if err := led.put(pendingClaim{UID: "one-more", Block: "10.0.0.0/28"}); !errors.Is(err, errLedgerFull) {
		t.Errorf("claim beyond the bound: got %v, want errLedgerFull", err)
	}
	// A Tenant drawing again replaces its own claim: the ledger does not grow.
	if err := led.put(pendingClaim{UID: "7", Block: "10.0.0.16/28"}); err != nil {
		t.Errorf("replacing a claim in a full ledger: %v", err)
	}
	if diff := cmp.Diff(MaxPendingClaims, len(led.claims)); diff != "" {
		t.Errorf("claims (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(netip.MustParsePrefix("10.0.0.16/28"), led.own("7"), cmp.Comparer(func(a, b netip.Prefix) bool { return a == b })); diff != "" {
		t.Errorf("own claim (-want +got):\n%s", diff)
	}
}

func TestLedgerDecode(t *testing.T) {
	since := time.Date(2026, 12, 7, 22, 0, 0, 0, time.UTC)
	led := newLedger(ledgerTestNamespace)
	led.claims = []pendingClaim{{Namespace: "hmrc", Name: "a", UID: "u1", Block: "10.0.0.0/28", Since: since}}
	cm, err := led.encode()
	if err != nil {
		t.Fatal(err)
	}
	back, err := decodeLedger(cm)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(led.claims, back.claims); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
	empty, err := decodeLedger(&corev1.ConfigMap{})
	if err != nil || len(empty.claims) != 0 {
		t.Errorf("a ConfigMap without claims: %v, %v", empty.claims, err)
	}
	if _, err := decodeLedger(&corev1.ConfigMap{Data: map[string]string{ledgerKey: "{"}}); err == nil {
		t.Error("a ledger that does not decode was read as empty: claims in flight would be forgotten")
	}
}

// poolWorld is a namespace governed by a /26 pool of /28 blocks, with Tenants a and b
// in two namespaces, in a fake API server whose ConfigMap writes go through intercept.
func poolWorld(t *testing.T, intercept func(ctx context.Context, c client.WithWatch, obj client.Object, write func() error) error) (*Reconciler, client.Client, *whv1.Tenant, *whv1.Tenant) {
	r, c, a, b, _ := countedPoolWorld(t, intercept)
	return r, c, a, b
}

// countedPoolWorld is poolWorld, and counts the live lists of Tenants.
func countedPoolWorld(t *testing.T, intercept func(ctx context.Context, c client.WithWatch, obj client.Object, write func() error) error) (*Reconciler, client.Client, *whv1.Tenant, *whv1.Tenant, *int) {
	t.Helper()
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	if err := whv1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	a, b := networkedTenant("hmrc", "a", ""), networkedTenant("dwp", "b", "")
	label := map[string]string{"pool": "yes"}
	objects := []client.Object{
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "hmrc", Labels: label}},
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "dwp", Labels: label}},
		&whv1.DepartmentPolicy{ObjectMeta: metav1.ObjectMeta{Name: "pool"}, Spec: whv1.DepartmentPolicySpec{
			NamespaceSelector: metav1.LabelSelector{MatchLabels: label},
			Networks:          &whv1.NetworkRules{Pool: "10.0.0.0/26", PrefixLength: ptr.To[int32](28)},
		}},
		a.DeepCopy(), b.DeepCopy(),
	}
	write := func(ctx context.Context, c client.WithWatch, obj client.Object, do func() error) error {
		if _, ok := obj.(*corev1.ConfigMap); ok && intercept != nil {
			return intercept(ctx, c, obj, do)
		}
		return do()
	}
	lists := 0
	c := fake.NewClientBuilder().WithScheme(scheme).WithObjects(objects...).WithInterceptorFuncs(interceptor.Funcs{
		List: func(ctx context.Context, c client.WithWatch, list client.ObjectList, opts ...client.ListOption) error {
			if _, ok := list.(*whv1.TenantList); ok {
				lists++
			}
			return c.List(ctx, list, opts...)
		},
		Create: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.CreateOption) error {
			return write(ctx, c, obj, func() error { return c.Create(ctx, obj, opts...) })
		},
		Update: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.UpdateOption) error {
			return write(ctx, c, obj, func() error { return c.Update(ctx, obj, opts...) })
		},
	}).Build()
	r := &Reconciler{
		Client: c, APIReader: c, Recorder: events.NewFakeRecorder(100),
		Access: access.Access{Reader: c, OperatorNamespace: ledgerTestNamespace},
		Now:    func() time.Time { return time.Date(2026, 12, 7, 22, 0, 0, 0, time.UTC) },
	}
	return r, c, a, b, &lists
}

// seedLedger writes a ledger holding claims, as another process would have.
func seedLedger(t *testing.T, c client.Client, claims ...pendingClaim) {
	t.Helper()
	led := newLedger(ledgerTestNamespace)
	led.claims = claims
	cm, err := led.encode()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Create(context.Background(), cm); err != nil {
		t.Fatal(err)
	}
}

// ledgerClaims are the claims of the ledger in c, as "namespace/name block".
func ledgerClaims(t *testing.T, c client.Reader) []string {
	t.Helper()
	var cm corev1.ConfigMap
	if err := c.Get(context.Background(), client.ObjectKey{Namespace: ledgerTestNamespace, Name: LedgerName}, &cm); err != nil {
		if apierrors.IsNotFound(err) {
			return nil
		}
		t.Fatal(err)
	}
	led, err := decodeLedger(&cm)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, cl := range led.claims {
		out = append(out, cl.Namespace+"/"+cl.Name+" "+cl.Block)
	}
	return out
}

// TestTakeConflict: another process records a claim between this one's read of the
// ledger and its write; the write is refused and the block drawn again, around it.
func TestTakeConflict(t *testing.T) {
	other := 0
	var b *whv1.Tenant
	r, c, a, bb := poolWorld(t, func(ctx context.Context, c client.WithWatch, obj client.Object, write func() error) error {
		if other == 0 { // the other shard gives b the lowest block first
			other++
			led := newLedger(ledgerTestNamespace)
			led.claims = []pendingClaim{claimOf(b, "10.0.0.0/28")}
			cm, _ := led.encode()
			if err := c.Create(ctx, cm); err != nil {
				return err
			}
		}
		return write()
	})
	b = bb
	cidr, step, err := r.tenantCIDR(context.Background(), a, neutronView{})
	if err != nil || step == nil || cidr != "" {
		t.Fatalf("tenantCIDR = %q, %v, %v; want a step and no error", cidr, step, err)
	}
	if diff := cmp.Diff("10.0.0.16/28", a.Status.Network.CIDR); diff != "" {
		t.Errorf("block given (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"dwp/b 10.0.0.0/28", "hmrc/a 10.0.0.16/28"}, ledgerClaims(t, c)); diff != "" {
		t.Errorf("ledger (-want +got):\n%s", diff)
	}
}

// TestTakeRefusedWrite: when the API server refuses the ledger write, nothing is given.
func TestTakeRefusedWrite(t *testing.T) {
	cases := []struct {
		reason string
		err    error
	}{
		{"a server error", apierrors.NewInternalError(errors.New("etcd is away"))},
		{"a conflict every time", apierrors.NewConflict(schema.GroupResource{Resource: "configmaps"}, LedgerName, errors.New("changed"))},
	}
	for _, tc := range cases {
		t.Run(tc.reason, func(t *testing.T) {
			writes := 0
			r, c, a, _ := poolWorld(t, func(context.Context, client.WithWatch, client.Object, func() error) error {
				writes++
				return tc.err
			})
			_, step, err := r.tenantCIDR(context.Background(), a, neutronView{})
			if !apierrors.IsInternalError(err) && !apierrors.IsConflict(err) || step != nil {
				t.Fatalf("tenantCIDR = %v, %v; want the API server's error", step, err)
			}
			if a.Status.Network != nil || len(r.cidrs.claims) != 0 || ledgerClaims(t, c) != nil {
				t.Errorf("a block was given: status %+v, claims %v, ledger %v", a.Status.Network, r.cidrs.claims, ledgerClaims(t, c))
			}
			want := 1
			if apierrors.IsConflict(tc.err) {
				want = ledgerAttempts
			}
			if diff := cmp.Diff(want, writes); diff != "" {
				t.Errorf("ledger writes (-want +got):\n%s", diff)
			}
		})
	}
}

// TestTakeCountsOtherClaims: a pending claim of another Tenant blocks an explicit range
// overlapping it, and a Tenant's own pending claim is given to it again.
func TestTakeCountsOtherClaims(t *testing.T) {
	r, c, a, b := poolWorld(t, nil)
	seedLedger(t, c, claimOf(b, "10.0.0.32/28"), claimOf(a, "10.0.0.48/28"))
	if _, _, err := r.tenantCIDR(context.Background(), a, neutronView{}); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff("10.0.0.48/28", a.Status.Network.CIDR); diff != "" {
		t.Errorf("a's own pending block (-want +got):\n%s", diff)
	}
	explicit := networkedTenant("hmrc", "x", "10.0.0.32/27")
	explicit.CreationTimestamp = metav1.NewTime(time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)) // older than b: only b's claim blocks it
	if err := c.Create(context.Background(), explicit.DeepCopy()); err != nil {
		t.Fatal(err)
	}
	_, _, err := r.tenantCIDR(context.Background(), explicit, neutronView{})
	if diff := cmp.Diff(whv1.ReasonPolicyViolation, frame.Reason(err, frame.Intervals{})); diff != "" {
		t.Errorf("explicit range overlapping a pending claim (-want +got):\n%s", diff)
	}
}

func TestReleasePending(t *testing.T) {
	r, c, a, b := poolWorld(t, nil)
	seedLedger(t, c, claimOf(a, "10.0.0.0/28"), claimOf(b, "10.0.0.16/28"))
	r.releasePending(context.Background(), a)
	if diff := cmp.Diff([]string{"dwp/b 10.0.0.16/28"}, ledgerClaims(t, c)); diff != "" {
		t.Errorf("ledger after a's deletion (-want +got):\n%s", diff)
	}
}

// TestTakeFullLedger: with MaxPendingClaims claims in flight, a giving waits and is
// retried soon; nothing is given and the ledger does not grow.
func TestTakeFullLedger(t *testing.T) {
	r, c, a, _ := poolWorld(t, nil)
	var claims []pendingClaim
	for i := range MaxPendingClaims {
		waiting := networkedTenant("dwp", fmt.Sprintf("w%d", i), "")
		if err := c.Create(context.Background(), waiting.DeepCopy()); err != nil {
			t.Fatal(err)
		}
		claims = append(claims, claimOf(waiting, "10.1.0.0/28"))
	}
	seedLedger(t, c, claims...)
	_, step, err := r.tenantCIDR(context.Background(), a, neutronView{})
	got := struct {
		Reason string
		Given  bool
		Claims int
	}{frame.Reason(err, frame.Intervals{}), step != nil || a.Status.Network != nil, len(ledgerClaims(t, c))}
	want := got
	want.Reason, want.Given, want.Claims = whv1.ReasonTransientError, false, MaxPendingClaims
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("a giving with the ledger full (-want +got):\n%s", diff)
	}
}

// TestLiveReadReused: a burst of givings in one process reads every Tenant live once,
// while the ledger is as it wrote it; a write by another process makes it read again.
func TestLiveReadReused(t *testing.T) {
	r, c, a, b, lists := countedPoolWorld(t, nil)
	// c and d are made after the read: what this process gave c still keeps d from it.
	cc, d := networkedTenant("hmrc", "c", ""), networkedTenant("dwp", "d", "")
	var got []string
	for i, tenant := range []*whv1.Tenant{a, b, cc, d} {
		if i >= 2 {
			if err := c.Create(context.Background(), tenant.DeepCopy()); err != nil {
				t.Fatal(err)
			}
		}
		if _, _, err := r.tenantCIDR(context.Background(), tenant, neutronView{}); err != nil {
			t.Fatal(err)
		}
		got = append(got, tenant.Status.Network.CIDR)
	}
	if diff := cmp.Diff([]string{"10.0.0.0/28", "10.0.0.16/28", "10.0.0.32/28", "10.0.0.48/28"}, got); diff != "" {
		t.Errorf("blocks given in a row from one read (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(1, *lists); diff != "" {
		t.Errorf("live reads for givings in a row (-want +got):\n%s", diff)
	}
	// Their claims stay in flight for the other processes, though the read lacks them.
	if diff := cmp.Diff([]string{"hmrc/a 10.0.0.0/28", "dwp/b 10.0.0.16/28", "hmrc/c 10.0.0.32/28", "dwp/d 10.0.0.48/28"}, ledgerClaims(t, c)); diff != "" {
		t.Errorf("ledger (-want +got):\n%s", diff)
	}
	// The pool is full now; c and d leave it again for what follows.
	r.cidrs.forget(client.ObjectKeyFromObject(cc))
	r.cidrs.forget(client.ObjectKeyFromObject(d))
	for _, gone := range []*whv1.Tenant{cc, d} {
		if err := c.Delete(context.Background(), gone.DeepCopy()); err != nil {
			t.Fatal(err)
		}
	}
	// Another process gives a block: this one's read no longer says all there is.
	var cm corev1.ConfigMap
	if err := c.Get(context.Background(), client.ObjectKey{Namespace: ledgerTestNamespace, Name: LedgerName}, &cm); err != nil {
		t.Fatal(err)
	}
	other := networkedTenant("dwp", "other", "")
	if err := c.Create(context.Background(), other.DeepCopy()); err != nil {
		t.Fatal(err)
	}
	led, err := decodeLedger(&cm)
	if err != nil {
		t.Fatal(err)
	}
	if err := led.put(claimOf(other, "10.0.0.32/28")); err != nil {
		t.Fatal(err)
	}
	if err := r.writeLedger(context.Background(), &led); err != nil {
		t.Fatal(err)
	}
	third := networkedTenant("hmrc", "third", "")
	if err := c.Create(context.Background(), third.DeepCopy()); err != nil {
		t.Fatal(err)
	}
	if _, _, err := r.tenantCIDR(context.Background(), third, neutronView{}); err != nil {
		t.Fatal(err)
	}
	after := struct {
		Lists int
		Block string
	}{*lists, third.Status.Network.CIDR}
	want := after
	want.Lists, want.Block = 2, "10.0.0.48/28"
	if diff := cmp.Diff(want, after); diff != "" {
		t.Errorf("a giving after another process's (-want +got):\n%s", diff)
	}
}
