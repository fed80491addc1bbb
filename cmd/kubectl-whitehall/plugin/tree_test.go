package plugin

import (
	"bytes"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"
)

// treeCase is objects and the tree they make.
type treeCase struct {
	reason      string
	departments []Department
	want        string
}

func TestRenderTree(t *testing.T) {
	cases := []treeCase{
		{
			reason:      "nothing in scope",
			departments: nil,
			want:        "NAME  READY  REASON  DETAIL  MESSAGE\n",
		},
		{
			reason: "a healthy department shows every part; the limit used above its value sorts first",
			departments: []Department{{
				Namespace: "dwp", TenantName: "benefits", Tenant: healthyTenant(),
				Quotas:       []whv1.ComputeQuota{healthyQuota()},
				Environments: []whv1.TestEnvironment{environment("dwp", "load", "benefits", 3, 3, ready(whv1.ReasonReady, ""))},
			}},
			want: `
NAME                                READY  REASON           DETAIL                                                        MESSAGE
Tenant/dwp/benefits                 True   Ready            cloud whitehall                                               project, people, network and credential match the spec
├─ ComputeQuota/benefits            True   Ready            seasons self-assessment
│  ├─ Limit/compute.ramMiB          False  LimitBelowUsage  used 90000 of 81920                                           the project uses more than the limit: new resources fail
│  ├─ Limit/compute.cores                                   used 12 of 40
│  └─ Limit/blockStorage.gigabytes                          limit unlimited, usage not read
├─ Project/dwp_benefits             True                    id p-dwp
├─ People                           True                    2 in spec, 2 applied
│  ├─ Group/dwp-devops                                      member, reader
│  └─ User/alice@staff                                      reader
├─ Network                          True                    cidr 10.20.0.0/24, network n1, subnet s1, router r1
├─ Credential/benefits-cloud        True                    id ac1, expires 2027-03-01T09:00Z, rotates 2027-01-30T09:00Z
├─ Policy                           True   WithinPolicy                                                                   every policy holds
└─ TestEnvironment/load             True   Ready            ready 3/3
`,
		},
		{
			reason: "a failing Tenant comes before a Ready one whose quota fails, the failing part first within it",
			departments: []Department{
				{Namespace: "dwp", TenantName: "benefits", Tenant: plainTenant("dwp", "benefits"), Quotas: []whv1.ComputeQuota{healthyQuota()}},
				{
					Namespace: "hmrc", TenantName: "tax", Tenant: failingTenant(),
					Environments: []whv1.TestEnvironment{environment("hmrc", "ci", "tax", 0, 2, notReady("TenantNotReady", "Tenant tax has no project yet"))},
				},
			},
			want: `
NAME                                READY    REASON           DETAIL                           MESSAGE
Tenant/hmrc/tax                     False    AlreadyOwned     cloud whitehall                  project name "hmrc_tax" in domain default belongs to another Tenant
├─ Project/hmrc_tax                 False    AlreadyOwned                                      project name "hmrc_tax" in domain default belongs to another Tenant
├─ TestEnvironment/ci               False    TenantNotReady   ready 0/2                        Tenant tax has no project yet
└─ People                           Unknown  Pending          0 in spec, 0 applied             waits for the project
Tenant/dwp/benefits                 True     Ready            own credentials secret/clouds
├─ ComputeQuota/benefits            True     Ready            seasons self-assessment
│  ├─ Limit/compute.ramMiB          False    LimitBelowUsage  used 90000 of 81920              the project uses more than the limit: new resources fail
│  ├─ Limit/compute.cores                                     used 12 of 40
│  └─ Limit/blockStorage.gigabytes                            limit unlimited, usage not read
├─ Project/dwp_benefits             True                      id p-dwp
└─ People                           True                      0 in spec, 0 applied
`,
		},
		{
			reason: "objects naming a Tenant that does not exist make a failing line",
			departments: []Department{{
				Namespace: "cabinet", TenantName: "gone",
				Environments: []whv1.TestEnvironment{environment("cabinet", "ci", "gone", 0, 1, condition(whv1.ConditionReady, metav1.ConditionUnknown, "TenantNotReady", ""))},
			}},
			want: `
NAME                   READY    REASON          DETAIL     MESSAGE
Tenant/cabinet/gone    False    NotFound                   named by the objects below, but there is no such Tenant
└─ TestEnvironment/ci  Unknown  TenantNotReady  ready 0/1
`,
		},
	}
	stale := environment("cabinet", "ci", "office", 2, 2, ready(whv1.ReasonReady, "2 servers ACTIVE"))
	stale.Generation, stale.Status.Conditions[0].ObservedGeneration = 3, 2
	cases = append(cases, treeCase{
		reason: "a Ready condition of an older generation says so",
		departments: []Department{{
			Namespace: "cabinet", TenantName: "office", Tenant: plainTenant("cabinet", "office"),
			Environments: []whv1.TestEnvironment{stale},
		}},
		want: `
NAME                       READY  REASON  DETAIL                         MESSAGE
Tenant/cabinet/office      True   Ready   own credentials secret/clouds
├─ Project/cabinet_office  True           id p-cabinet
├─ People                  True           0 in spec, 0 applied
└─ TestEnvironment/ci      True   Ready   ready 2/2                      (of generation 2, spec is 3) 2 servers ACTIVE
`,
	})
	for _, tc := range cases {
		t.Run(tc.reason, func(t *testing.T) {
			var out bytes.Buffer
			if err := RenderTree(&out, BuildTree(tc.departments)); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(strings.TrimPrefix(tc.want, "\n"), out.String()); diff != "" {
				t.Errorf("%s: tree (-want +got):\n%s", tc.reason, diff)
			}
		})
	}
}
