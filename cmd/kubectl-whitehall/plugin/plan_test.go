package plugin

import (
	"bytes"
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"
)

// observed is the status the operator writes under Observe at generation gen: InSync
// from the drift, as lookups.RecordDrift sets it.
func observed(gen int64, drift ...whv1.DriftEntry) ([]metav1.Condition, []whv1.DriftEntry) {
	inSync := metav1.Condition{Type: whv1.ConditionInSync, Status: metav1.ConditionTrue, Reason: whv1.ReasonInSync,
		Message: "OpenStack holds what the spec asks for", ObservedGeneration: gen}
	if len(drift) > 0 {
		inSync.Status, inSync.Reason, inSync.Message = metav1.ConditionFalse, whv1.ReasonDrifted, "n difference(s); status.drift lists them"
	}
	return []metav1.Condition{inSync, {Type: whv1.ConditionReady, Status: metav1.ConditionTrue, Reason: whv1.ReasonReady,
		Message: "observed, not managed", ObservedGeneration: gen}}, drift
}

func planTenant(ns, name string, policy whv1.ManagementPolicy, gen, observedGen int64, conditions []metav1.Condition,
	drift []whv1.DriftEntry) whv1.Tenant {
	t := whv1.Tenant{ObjectMeta: objectMeta(ns, name)}
	t.Generation = gen
	t.Spec.ManagementPolicy = policy
	t.Status.ObservedGeneration, t.Status.Conditions, t.Status.Drift = observedGen, conditions, drift
	return t
}

func planQuota(ns, name string, policy whv1.ManagementPolicy, gen, observedGen int64, conditions []metav1.Condition,
	drift []whv1.DriftEntry) whv1.ComputeQuota {
	q := whv1.ComputeQuota{ObjectMeta: objectMeta(ns, name)}
	q.Generation = gen
	q.Spec.ManagementPolicy = policy
	q.Status.ObservedGeneration, q.Status.Conditions, q.Status.Drift = observedGen, conditions, drift
	return q
}

func withConditions(f func(int64, ...whv1.DriftEntry) ([]metav1.Condition, []whv1.DriftEntry), gen int64,
	drift ...whv1.DriftEntry) []metav1.Condition {
	c, _ := f(gen, drift...)
	return c
}

var (
	tagDrift   = whv1.DriftEntry{Field: "tags", Desired: "legacy,vat", Actual: "legacy"}
	grantDrift = whv1.DriftEntry{Field: "roleAssignments", Desired: "member to group g1", Actual: "absent"}
	revokeDrft = whv1.DriftEntry{Field: "roleAssignments", Desired: "absent", Actual: "reader to group g2"}
	coresDrift = whv1.DriftEntry{Field: "compute.cores", Desired: "20", Actual: "8"}
)

func TestPlan(t *testing.T) {
	const observe, manage = whv1.ManagementPolicyObserve, whv1.ManagementPolicyManage
	cases := []struct {
		reason   string
		tenants  []whv1.Tenant
		quotas   []whv1.ComputeQuota
		want     string
		wantCode int
	}{
		{
			reason: "nothing in scope: no drift",
			want:   "No Tenants or ComputeQuotas found.\n", wantCode: ExitOK,
		},
		{
			reason: "observed, in sync, and managed objects: exit 0; a department's Tenant before its quota",
			tenants: []whv1.Tenant{
				planTenant("hmrc", "vat", observe, 2, 2, withConditions(observed, 2), nil),
				planTenant("dwp", "benefits", manage, 1, 1, []metav1.Condition{ready(whv1.ReasonReady, "")}, nil),
			},
			quotas: []whv1.ComputeQuota{planQuota("hmrc", "vat", observe, 1, 1, withConditions(observed, 1), nil)},
			want: `Tenant dwp/benefits (Manage): managed

Tenant hmrc/vat (Observe): in sync

ComputeQuota hmrc/vat (Observe): in sync

3 objects, 0 with drift, 0 not yet observed
`,
			wantCode: ExitOK,
		},
		{
			reason: "drift in one object: exit 2, each change as terraform shows it",
			tenants: []whv1.Tenant{planTenant("hmrc", "vat", observe, 3, 3,
				withConditions(observed, 3, tagDrift, grantDrift, revokeDrft), []whv1.DriftEntry{tagDrift, grantDrift, revokeDrft})},
			quotas: []whv1.ComputeQuota{planQuota("hmrc", "vat", observe, 1, 1, withConditions(observed, 1), nil)},
			want: `Tenant hmrc/vat (Observe): 3 to change
  ~ tags: legacy → legacy,vat
  + roleAssignments: member to group g1
  - roleAssignments: reader to group g2

ComputeQuota hmrc/vat (Observe): in sync

2 objects, 1 with drift, 0 not yet observed
`,
			wantCode: ExitDrift,
		},
		{
			reason: "a spec the operator has not read yet is not yet observed, its old drift not shown: exit 3",
			quotas: []whv1.ComputeQuota{planQuota("hmrc", "vat", observe, 2, 1, withConditions(observed, 1, coresDrift), []whv1.DriftEntry{coresDrift})},
			want: `ComputeQuota hmrc/vat (Observe): not yet observed
    why: status describes generation 1, the spec is at 2

1 objects, 0 with drift, 1 not yet observed
`,
			wantCode: ExitNotObserved,
		},
		{
			reason: "status read the spec but the observation failed (InSync of an older generation): not yet observed, with Ready's reason",
			quotas: []whv1.ComputeQuota{planQuota("hmrc", "vat", observe, 2, 2, []metav1.Condition{
				{Type: whv1.ConditionInSync, Status: metav1.ConditionTrue, Reason: whv1.ReasonInSync, ObservedGeneration: 1},
				notReady(whv1.ReasonTenantNotReady, `Tenant "vat" not found`),
			}, nil)},
			want: `ComputeQuota hmrc/vat (Observe): not yet observed
    why: last observed at generation 1, the spec is at 2
    Ready False TenantNotReady: Tenant "vat" not found

1 objects, 0 with drift, 1 not yet observed
`,
			wantCode: ExitNotObserved,
		},
		{
			reason: "never observed (an import not handed over): not yet observed, never in sync",
			tenants: []whv1.Tenant{planTenant("hmrc", "peek", observe, 1, 1, []metav1.Condition{
				notReady(whv1.ReasonImportNotAllowed, "project p1 was not handed over to namespace hmrc"),
			}, nil)},
			want: `Tenant hmrc/peek (Observe): not yet observed
    why: the operator has not observed OpenStack for it yet
    Ready False ImportNotAllowed: project p1 was not handed over to namespace hmrc

1 objects, 0 with drift, 1 not yet observed
`,
			wantCode: ExitNotObserved,
		},
		{
			reason: "drift wins over not yet observed: exit 2",
			tenants: []whv1.Tenant{
				planTenant("hmrc", "a", observe, 1, 0, nil, nil),
				planTenant("hmrc", "b", observe, 1, 1, withConditions(observed, 1, tagDrift), []whv1.DriftEntry{tagDrift}),
			},
			want: `Tenant hmrc/a (Observe): not yet observed
    why: status describes generation 0, the spec is at 1

Tenant hmrc/b (Observe): 1 to change
  ~ tags: legacy → legacy,vat

2 objects, 1 with drift, 1 not yet observed
`,
			wantCode: ExitDrift,
		},
		{
			reason: "a Manage object never counts as not observed; one still carrying Observe's drift counts as drift",
			tenants: []whv1.Tenant{
				planTenant("hmrc", "a", manage, 2, 1, nil, nil),
				planTenant("hmrc", "b", manage, 2, 1, withConditions(observed, 1, tagDrift), []whv1.DriftEntry{tagDrift}),
			},
			want: `Tenant hmrc/a (Manage): managed
    why: status describes generation 1, the spec is at 2

Tenant hmrc/b (Manage): 1 to change (managed: the operator is making them)
  ~ tags: legacy → legacy,vat
    why: status describes generation 1, the spec is at 2

2 objects, 1 with drift, 0 not yet observed
`,
			wantCode: ExitDrift,
		},
		{
			reason: "values a terminal would act on are quoted; empty values shown; a cut list says how many more",
			tenants: []whv1.Tenant{planTenant("hmrc", "vat", observe, 1, 1, withConditions(observed, 1, tagDrift), []whv1.DriftEntry{
				{Field: "description", Desired: "", Actual: "made by hand\x1b[2K\rall fine"},
				{Field: "… and 3 more"},
			})},
			want: `Tenant hmrc/vat (Observe): 2 to change
  ~ description: "made by hand\x1b[2K\rall fine" → ""
  … and 3 more

1 objects, 1 with drift, 0 not yet observed
`,
			wantCode: ExitDrift,
		},
	}
	for _, tc := range cases {
		t.Run(tc.reason, func(t *testing.T) {
			report := BuildPlan(tc.tenants, tc.quotas)
			var out bytes.Buffer
			if err := RenderPlan(&out, report); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, out.String()); diff != "" {
				t.Errorf("plan (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantCode, report.Summary.ExitCode); diff != "" {
				t.Errorf("exit code (-want +got):\n%s", diff)
			}
		})
	}
}

// TestPlanJSON pins the documented schema: its field names, and drift never null.
func TestPlanJSON(t *testing.T) {
	conditions, drift := observed(4, coresDrift)
	report := BuildPlan(nil, []whv1.ComputeQuota{
		planQuota("hmrc", "vat", whv1.ManagementPolicyObserve, 4, 4, conditions, drift),
		planQuota("hmrc", "new", whv1.ManagementPolicyObserve, 1, 0, nil, nil),
	})
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetIndent("", "  ")
	if err := enc.Encode(report); err != nil {
		t.Fatal(err)
	}
	want := `{
  "kind": "Plan",
  "version": 1,
  "objects": [
    {
      "kind": "ComputeQuota",
      "namespace": "hmrc",
      "name": "new",
      "managementPolicy": "Observe",
      "state": "NotYetObserved",
      "generation": 1,
      "observedGeneration": 0,
      "why": "status describes generation 0, the spec is at 1",
      "drift": []
    },
    {
      "kind": "ComputeQuota",
      "namespace": "hmrc",
      "name": "vat",
      "managementPolicy": "Observe",
      "state": "Drifted",
      "generation": 4,
      "observedGeneration": 4,
      "inSync": {
        "status": "False",
        "reason": "Drifted",
        "message": "n difference(s); status.drift lists them",
        "observedGeneration": 4
      },
      "ready": {
        "status": "True",
        "reason": "Ready",
        "message": "observed, not managed",
        "observedGeneration": 4
      },
      "drift": [
        {
          "action": "update",
          "field": "compute.cores",
          "desired": "20",
          "actual": "8"
        }
      ]
    }
  ],
  "summary": {
    "objects": 2,
    "drifted": 1,
    "notYetObserved": 1,
    "inSync": 0,
    "managed": 0,
    "exitCode": 2
  }
}
`
	if diff := cmp.Diff(want, out.String()); diff != "" {
		t.Errorf("plan -o json (-want +got):\n%s", diff)
	}
}

func TestParsePlanTargets(t *testing.T) {
	cases := []struct {
		reason  string
		args    []string
		want    []PlanTarget
		wantErr string
	}{
		{reason: "nothing named", args: nil, want: nil},
		{
			reason: "kinds as kubectl spells them, and plain names",
			args:   []string{"tenant/a", "Tenants/b", "computequota/c", "cq/d", "tenant.whitehall.cloud/e", "f"},
			want: []PlanTarget{{kindTenant, "a"}, {kindTenant, "b"}, {kindComputeQuota, "c"}, {kindComputeQuota, "d"},
				{kindTenant, "e"}, {"", "f"}},
		},
		{reason: "another kind", args: []string{"secret/x"}, wantErr: `"secret/x": plan reads Tenants and ComputeQuotas, not "secret"`},
		{reason: "no name", args: []string{"tenant/"}, wantErr: `"tenant/": name an object as NAME, tenant/NAME or computequota/NAME`},
		{reason: "a path", args: []string{"tenant/a/b"}, wantErr: `"tenant/a/b": name an object as NAME, tenant/NAME or computequota/NAME`},
	}
	for _, tc := range cases {
		t.Run(tc.reason, func(t *testing.T) {
			got, err := ParsePlanTargets(tc.args)
			gotErr := ""
			if err != nil {
				gotErr = err.Error()
			}
			if diff := cmp.Diff(tc.wantErr, gotErr); diff != "" {
				t.Errorf("error (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("targets (-want +got):\n%s", diff)
			}
		})
	}
}

// TestPlanCommandLine checks plan's flags up to Connect; envtest runs it to the end.
func TestPlanCommandLine(t *testing.T) {
	cases := []struct {
		reason    string
		args      []string
		wantFlags *KubeFlags
		wantErr   string
	}{
		{
			reason:    "flags among the names, as with kubectl",
			args:      []string{"plan", "tenant/vat", "-n", "hmrc", "vat", "-o", "json"},
			wantFlags: &KubeFlags{Namespace: "hmrc"},
			wantErr:   "error: stop at connect\n",
		},
		{
			reason:    "every namespace",
			args:      []string{"plan", "-A"},
			wantFlags: &KubeFlags{AllNamespaces: true},
			wantErr:   "error: stop at connect\n",
		},
		{
			reason:  "names need one namespace",
			args:    []string{"plan", "-A", "vat"},
			wantErr: "error: objects named by name need one namespace: use -n, not -A\n",
		},
		{
			reason:  "an unknown output format is refused before connecting",
			args:    []string{"plan", "-o", "yaml"},
			wantErr: "error: unknown output format \"yaml\": use text or json\n",
		},
	}
	for _, tc := range cases {
		t.Run(tc.reason, func(t *testing.T) {
			var out, errOut bytes.Buffer
			var got *KubeFlags
			env := Env{Out: &out, Err: &errOut, Now: time.Now, Connect: func(k KubeFlags) (Cluster, error) {
				got = &k
				return Cluster{}, errStop
			}}
			if diff := cmp.Diff(ExitError, run(context.Background(), env, tc.args)); diff != "" {
				t.Errorf("exit code (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantFlags, got); diff != "" {
				t.Errorf("connection flags (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantErr, errOut.String()); diff != "" {
				t.Errorf("stderr (-want +got):\n%s", diff)
			}
			if out.Len() > 0 {
				t.Errorf("stdout: %q, want nothing", out.String())
			}
		})
	}
}

// TestExitStatus: plan's outcome ends the process with its code and prints no error.
func TestExitStatus(t *testing.T) {
	saved := commands
	t.Cleanup(func() { commands = saved })
	for _, code := range []int{ExitDrift, ExitNotObserved} {
		var out, errOut bytes.Buffer
		commands = append(slices.Clone(saved), command{name: "outcome", run: func(context.Context, Env, []string) error {
			return exitStatus(code)
		}})
		if diff := cmp.Diff(code, run(context.Background(), Env{Out: &out, Err: &errOut}, []string{"outcome"})); diff != "" {
			t.Errorf("exit code (-want +got):\n%s", diff)
		}
		if errOut.Len() > 0 {
			t.Errorf("stderr %q, want nothing", errOut.String())
		}
	}
}
