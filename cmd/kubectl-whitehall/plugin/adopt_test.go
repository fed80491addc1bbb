package plugin

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"
	"github.com/whitehall-cloud/whitehall-operator/internal/openstack"
	"github.com/whitehall-cloud/whitehall-operator/internal/quota"
)

// fakeInventory is a cloud as adopt reads it: projects, people, quotas and bundles by
// project ID, and the tags added.
type fakeInventory struct {
	admin    string
	projects []openstack.Project
	people   map[string][]openstack.NamedAssignment
	limits   map[string]quota.Limits
	bundles  map[string]*openstack.FoundBundle
	noBundle map[string]string
	tagged   []string // "<project ID> <tag>"
}

var _ openstack.Inventory = (*fakeInventory)(nil)

func (f *fakeInventory) DomainID(_ context.Context, nameOrID string) (string, error) {
	if nameOrID != "default" && nameOrID != "Default" {
		return "", openstack.ErrNotFound
	}
	return "default", nil
}
func (f *fakeInventory) AdminProjectID(context.Context) (string, error) { return f.admin, nil }
func (f *fakeInventory) ListProjects(context.Context, string) ([]openstack.Project, error) {
	return f.projects, nil
}
func (f *fakeInventory) ListNamedAssignments(_ context.Context, id string) ([]openstack.NamedAssignment, error) {
	return f.people[id], nil
}
func (f *fakeInventory) GetQuota(_ context.Context, service quota.Service, id string) (openstack.QuotaReading, error) {
	out := openstack.QuotaReading{Limits: quota.Limits{}}
	for field, v := range f.limits[id] {
		if field.Service() == service {
			out.Limits[field] = v
		}
	}
	return out, nil
}
func (f *fakeInventory) FindNetworkBundle(_ context.Context, id, _ string) (*openstack.FoundBundle, string, error) {
	return f.bundles[id], f.noBundle[id], nil
}
func (f *fakeInventory) AddProjectTag(_ context.Context, id, tag string) error {
	f.tagged = append(f.tagged, id+" "+tag)
	return nil
}

func project(id, name string, edit ...func(*openstack.Project)) openstack.Project {
	p := openstack.Project{ID: id, Name: name, DomainID: "default", Enabled: true}
	for _, e := range edit {
		e(&p)
	}
	return p
}

func owned(p *openstack.Project) { p.Owner, p.OwnerNamespace, p.OwnerName = "uid", "hmrc", "vat" }

func TestTenantName(t *testing.T) {
	cases := []struct{ reason, project, want string }{
		{"already a name", "vat-returns", "vat-returns"},
		{"upper case, underscores and spaces", "HMRC_VAT Returns", "hmrc-vat-returns"},
		{"runs of other characters are one dash, none at either end", "--dwp..benefits!!", "dwp-benefits"},
		{"nothing usable", "___", "project"},
		{"non-ASCII letters go", "café", "caf"},
		{"cut to 63, no dash at the end", strings.Repeat("a", 62) + "_b", strings.Repeat("a", 62)},
	}
	for _, tc := range cases {
		if diff := cmp.Diff(tc.want, tenantName(tc.project)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.reason, diff)
		}
	}
}

func TestAssignNames(t *testing.T) {
	long := strings.Repeat("x", 70)
	list := []*adoption{
		{project: project("1", "VAT"), namespace: "hmrc"},
		{project: project("2", "vat"), namespace: "hmrc"},
		{project: project("3", "vat_"), namespace: "hmrc"},
		{project: project("4", "vat"), namespace: "dwp"},
		{project: project("5", long), namespace: "dwp"},
		{project: project("6", long+"y"), namespace: "dwp"},
	}
	assignNames(list)
	var got []string
	for _, a := range list {
		got = append(got, a.namespace+"/"+a.name)
	}
	want := []string{"hmrc/vat", "hmrc/vat-2", "hmrc/vat-3", "dwp/vat", "dwp/" + strings.Repeat("x", 63), "dwp/" + strings.Repeat("x", 61) + "-2"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("collisions in a namespace get -2, -3, within 63 characters (-want +got):\n%s", diff)
	}
}

func TestSelectProjects(t *testing.T) {
	all := []openstack.Project{
		project("p-admin", "admin"), project("p-svc", "service"),
		project("p2", "hmrc-vat"), project("p1", "hmrc-paye"), project("p3", "dwp-benefits"),
		project("p4", "hmrc-owned", owned), project("p5", "hmrc-old"),
	}
	never := []string{"p-admin", "admin", "service"}
	names := func(list []openstack.Project) []string {
		var out []string
		for _, p := range list {
			out = append(out, p.Name)
		}
		return out
	}
	cases := []struct {
		reason    string
		opts      adoptOptions
		want      []string
		wantSkips []string
		wantErr   string
	}{
		{reason: "all projects no Tenant owns, never the admin's or the protected ones, sorted",
			want:      []string{"dwp-benefits", "hmrc-old", "hmrc-paye", "hmrc-vat"},
			wantSkips: []string{"admin", "service", "hmrc-owned"}},
		{reason: "by glob, with an exclusion", opts: adoptOptions{match: "hmrc-*", exclude: []string{"hmrc-o*"}},
			want: []string{"hmrc-paye", "hmrc-vat"}, wantSkips: []string{"hmrc-owned", "hmrc-old"}},
		{reason: "by name or ID", opts: adoptOptions{projects: []string{"hmrc-vat", "p3"}},
			want: []string{"dwp-benefits", "hmrc-vat"}},
		{reason: "a protected project named is still skipped", opts: adoptOptions{projects: []string{"admin"}},
			wantSkips: []string{"admin"}},
		{reason: "a project named that is not there is an error", opts: adoptOptions{projects: []string{"nope"}, domain: "default"},
			wantErr: `project "nope" is not in domain default`},
	}
	for _, tc := range cases {
		got, skips, err := tc.opts.selectProjects(all, never)
		if diff := cmp.Diff(tc.wantErr, errText(err)); diff != "" {
			t.Errorf("%s: error (-want +got):\n%s", tc.reason, diff)
		}
		var skipped []string
		for _, s := range skips {
			skipped = append(skipped, s.project.Name)
		}
		if diff := cmp.Diff(tc.want, names(got)); diff != "" {
			t.Errorf("%s: chosen (-want +got):\n%s", tc.reason, diff)
		}
		if diff := cmp.Diff(tc.wantSkips, skipped); diff != "" {
			t.Errorf("%s: skipped (-want +got):\n%s", tc.reason, diff)
		}
	}
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func TestNamespaceMapping(t *testing.T) {
	cases := []struct {
		reason  string
		opts    adoptOptions
		project string
		want    string
		wantOK  bool
		wantErr string
	}{
		{reason: "--namespace takes all", opts: adoptOptions{namespace: "hmrc"}, project: "anything", want: "hmrc", wantOK: true},
		{reason: "the first --map that matches wins", opts: adoptOptions{maps: []string{"hmrc-*=hmrc", "*-vat=dwp"}},
			project: "hmrc-vat", want: "hmrc", wantOK: true},
		{reason: "a project no rule matches is unmapped", opts: adoptOptions{maps: []string{"hmrc-*=hmrc"}}, project: "dwp-x"},
		{reason: "both --namespace and --map", opts: adoptOptions{namespace: "a", maps: []string{"*=b"}},
			wantErr: "give exactly one of --namespace NS and --map GLOB=NS"},
		{reason: "neither", wantErr: "give exactly one of --namespace NS and --map GLOB=NS"},
		{reason: "a map without =", opts: adoptOptions{maps: []string{"hmrc"}}, wantErr: `--map "hmrc": want GLOB=NS`},
		{reason: "a namespace that is no DNS label", opts: adoptOptions{maps: []string{"*=HMRC"}},
			wantErr: `namespace "HMRC": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')`},
	}
	for _, tc := range cases {
		err := tc.opts.check()
		if diff := cmp.Diff(tc.wantErr, errText(err)); diff != "" {
			t.Errorf("%s: error (-want +got):\n%s", tc.reason, diff)
		}
		if err != nil {
			continue
		}
		rules, _ := tc.opts.mapping()
		ns, ok := namespaceFor(rules, tc.project)
		if diff := cmp.Diff([]any{tc.want, tc.wantOK}, []any{ns, ok}); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.reason, diff)
		}
	}
}

func TestRoleAssignments(t *testing.T) {
	people := []openstack.NamedAssignment{
		{Role: "reader", Group: "devops", GroupDomain: "Default"},
		{Role: "member", Group: "devops", GroupDomain: "Default"},
		{Role: "member", User: "alice", UserDomain: "staff"},
		{Role: "admin", User: "root", UserDomain: "Default"},
		{Role: "member", User: "root", UserDomain: "Default"},
		{Role: "member", User: "", UserDomain: "Default"},
	}
	got, left := roleAssignments(people, []string{"member", "reader"})
	want := []whv1.RoleAssignment{
		{User: ptr.To("alice"), UserDomain: ptr.To("staff"), Roles: []string{"member"}},
		{Group: ptr.To("devops"), GroupDomain: ptr.To("Default"), Roles: []string{"member", "reader"}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("one entry per principal, all its roles (-want +got):\n%s", diff)
	}
	wantLeft := []string{"user root (domain Default) holds admin, which the operator may not grant: left out of roleAssignments (untouched)"}
	if diff := cmp.Diff(wantLeft, left); diff != "" {
		t.Errorf("a principal with a role beyond --grantable-roles is left out whole (-want +got):\n%s", diff)
	}
}

func TestBuild(t *testing.T) {
	a := &adoption{
		project: project("p1", "hmrc_vat", func(p *openstack.Project) {
			p.Description, p.Tags = "VAT returns", []string{"vat", "legacy"}
		}),
		namespace: "hmrc", name: "hmrc-vat",
		people:  []openstack.NamedAssignment{{Role: "member", Group: "whitehall-devops", GroupDomain: "Default"}},
		limits:  quota.Limits{quota.Cores: 20, quota.Ports: -1, quota.Gigabytes: 500},
		network: &openstack.FoundBundle{CIDR: "10.40.0.0/24", DNSNameservers: []string{"192.0.2.53"}, ExternalNetwork: "public"},
	}
	b := build(a, "whitehall", []string{"member"}, true)
	wantTenant := &whv1.Tenant{
		TypeMeta:   metav1.TypeMeta{APIVersion: "whitehall.cloud/v1alpha1", Kind: "Tenant"},
		ObjectMeta: metav1.ObjectMeta{Namespace: "hmrc", Name: "hmrc-vat"},
		Spec: whv1.TenantSpec{
			CloudRef: &whv1.CloudReference{Name: "whitehall"},
			Import:   &whv1.ProjectImport{ID: ptr.To("p1")},
			Project: whv1.ProjectSpec{Domain: "default", Description: ptr.To("VAT returns"), Enabled: ptr.To(true),
				Tags: []string{"legacy", "vat", whv1.HandoverTagPrefix + "hmrc"}},
			RoleAssignments:  []whv1.RoleAssignment{{Group: ptr.To("whitehall-devops"), GroupDomain: ptr.To("Default"), Roles: []string{"member"}}},
			Network:          &whv1.TenantNetwork{CIDR: "10.40.0.0/24", DNSNameservers: []string{"192.0.2.53"}, ExternalNetwork: ptr.To("public")},
			DeletionPolicy:   whv1.DeletionPolicyRetain,
			ManagementPolicy: whv1.ManagementPolicyObserve,
		},
	}
	if diff := cmp.Diff(wantTenant, b.tenant); diff != "" {
		t.Errorf("Tenant (-want +got):\n%s", diff)
	}
	wantQuota := whv1.ComputeQuotaSpec{
		TenantRef: whv1.LocalObjectReference{Name: "hmrc-vat"},
		Baseline: whv1.QuotaSet{Compute: &whv1.ComputeLimits{Cores: ptr.To[int64](20)}, Network: &whv1.NetworkLimits{Ports: ptr.To[int64](-1)},
			BlockStorage: &whv1.BlockStorageLimits{Gigabytes: ptr.To[int64](500)}},
		ManagementPolicy: whv1.ManagementPolicyObserve,
	}
	if diff := cmp.Diff(wantQuota, b.quota.Spec); diff != "" {
		t.Errorf("ComputeQuota: every field as read (-want +got):\n%s", diff)
	}
	long := build(&adoption{project: project("p2", "x", func(p *openstack.Project) { p.Description = strings.Repeat("d", 1025) })}, "c", nil, false)
	if long.tenant.Spec.Project.Description != nil || len(long.notes) != 1 {
		t.Errorf("a description beyond the API's bound is left unmanaged, and said: %v", long.notes)
	}
}

// adoptEnv runs adopt with a cluster holding one Cloud.
func adoptEnv(out, errOut *bytes.Buffer) Env {
	scheme := runtime.NewScheme()
	_ = whv1.AddToScheme(scheme)
	cloud := &whv1.Cloud{ObjectMeta: metav1.ObjectMeta{Name: "whitehall"}, Spec: whv1.CloudSpec{ProtectedProjects: []string{"service"}}}
	reader := fake.NewClientBuilder().WithScheme(scheme).WithObjects(cloud).Build()
	return Env{Out: out, Err: errOut, Connect: func(KubeFlags) (Cluster, error) { return Cluster{Client: reader}, nil }}
}

func TestAdoptCommand(t *testing.T) {
	inv := &fakeInventory{
		admin: "p-admin",
		projects: []openstack.Project{project("p-admin", "admin"), project("p-svc", "service"),
			project("p1", "hmrc-vat", func(p *openstack.Project) { p.Tags = []string{"vat"} }), project("p2", "dwp-x"),
			project("p3", "elsewhere", func(p *openstack.Project) { p.Tags = []string{whv1.HandoverTagPrefix + "other"} })},
		people:   map[string][]openstack.NamedAssignment{"p1": {{Role: "member", User: "alice", UserDomain: "Default"}}},
		limits:   map[string]quota.Limits{"p1": {quota.Cores: 8}, "p2": {quota.Instances: 3}, "p3": {quota.Cores: 1}},
		noBundle: map[string]string{"p2": "router dwp-x has no interface on the subnet of network dwp-x"},
	}
	var out, errOut bytes.Buffer
	cmd := adoptCommand{open: func(_ context.Context, cloud string) (openstack.Inventory, error) {
		if cloud != "dev" {
			return nil, errors.New("wrong cloud " + cloud)
		}
		return inv, nil
	}}
	dir := t.TempDir()
	err := cmd.run(context.Background(), adoptEnv(&out, &errOut),
		[]string{"--os-cloud", "dev", "--map", "hmrc-*=hmrc", "--map", "dwp-*=dwp", "--map", "else*=hmrc", "--handover", "--out", dir})
	if err != nil {
		t.Fatalf("adopt: %v\n%s", err, errOut.String())
	}
	if diff := cmp.Diff([]string{"p2 " + whv1.HandoverTagPrefix + "dwp", "p1 " + whv1.HandoverTagPrefix + "hmrc"}, inv.tagged); diff != "" {
		t.Errorf("each project adopted is handed over to its namespace, once (-want +got):\n%s", diff)
	}
	hmrc, err := os.ReadFile(filepath.Join(dir, "hmrc.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	wantHMRC := `# project "hmrc-vat" (p1), adopted by kubectl whitehall adopt
apiVersion: whitehall.cloud/v1alpha1
kind: Tenant
metadata:
  name: hmrc-vat
  namespace: hmrc
spec:
  cloudRef:
    name: whitehall
  deletionPolicy: Retain
  import:
    id: p1
  managementPolicy: Observe
  project:
    description: ""
    domain: default
    enabled: true
    tags:
    - vat
    - whitehall.cloud:handover=hmrc
  roleAssignments:
  - roles:
    - member
    user: alice
    userDomain: Default
---
apiVersion: whitehall.cloud/v1alpha1
kind: ComputeQuota
metadata:
  name: hmrc-vat
  namespace: hmrc
spec:
  baseline:
    compute:
      cores: 8
  managementPolicy: Observe
  tenantRef:
    name: hmrc-vat
---
`
	if diff := cmp.Diff(wantHMRC, string(hmrc)); diff != "" {
		t.Errorf("hmrc.yaml (-want +got):\n%s", diff)
	}
	for _, want := range []string{
		"skipped: project admin (p-admin): it is the login's own project or one the Cloud protects\n",
		"skipped: project service (p-svc): it is the login's own project or one the Cloud protects\n",
		"skipped: project elsewhere (p3): it is handed over to namespace other already, not hmrc\n",
		"note: Tenant dwp/dwp-x has no spec.network: router dwp-x has no interface on the subnet of network dwp-x\n",
	} {
		if !strings.Contains(errOut.String(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut.String())
		}
	}
	if out.Len() != 0 {
		t.Errorf("with --out nothing goes to stdout: %q", out.String())
	}
}

func TestAdoptRefusals(t *testing.T) {
	cases := []struct{ reason, args, wantErr string }{
		{"no namespace", "--os-cloud dev", "give exactly one of --namespace NS and --map GLOB=NS"},
		{"a bad glob", "--namespace a --match [", `bad glob "[": syntax error in pattern`},
		{"a Cloud the cluster lacks", "--namespace a --cloud-ref nope", "--cloud-ref nope: no such Cloud: not found in the cluster"},
	}
	for _, tc := range cases {
		var out, errOut bytes.Buffer
		cmd := adoptCommand{open: func(context.Context, string) (openstack.Inventory, error) { return &fakeInventory{}, nil }}
		err := cmd.run(context.Background(), adoptEnv(&out, &errOut), strings.Fields(tc.args))
		if diff := cmp.Diff(tc.wantErr, errText(err), cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.reason, diff)
		}
	}
}
