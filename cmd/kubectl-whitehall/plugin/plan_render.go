package plugin

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"
	"github.com/whitehall-cloud/whitehall-operator/controllers/lookups"
)

// PlanVersion is the version of plan's JSON document. Fields may be added within a
// version; none is renamed, removed or given another meaning without a new one.
const PlanVersion = 1

// States of an object in a plan.
const (
	// StateDrifted: the operator would change OpenStack: drift lists how.
	StateDrifted = "Drifted"
	// StateInSync: observed at the current generation; OpenStack holds what the spec asks.
	StateInSync = "InSync"
	// StateNotYetObserved: under Observe, and the operator has not reported on the current
	// generation: the plan cannot say what Manage would change.
	StateNotYetObserved = "NotYetObserved"
	// StateManaged: under Manage, the operator makes OpenStack match; nothing to review.
	StateManaged = "Managed"
)

// Drift actions, as terraform names them.
const (
	ActionCreate = "create" // nothing there now: Manage makes it
	ActionDelete = "delete" // Manage removes it
	ActionUpdate = "update" // Manage changes actual to desired
	// ActionTruncated: the operator listed more drift than status holds; field says how
	// many more.
	ActionTruncated = "truncated"
)

// PlanReport is the document plan -o json writes (docs/plugin.md describes it).
type PlanReport struct {
	// Kind is always "Plan".
	Kind string `json:"kind"`
	// Version is PlanVersion.
	Version int          `json:"version"`
	Objects []PlanObject `json:"objects"`
	Summary PlanSummary  `json:"summary"`
}

// PlanObject is one Tenant or ComputeQuota: its state and the changes Manage would make.
type PlanObject struct {
	Kind      string `json:"kind"`
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	// ManagementPolicy is Manage or Observe.
	ManagementPolicy   string `json:"managementPolicy"`
	State              string `json:"state"`
	Generation         int64  `json:"generation"`
	ObservedGeneration int64  `json:"observedGeneration"`
	// Why says why an object is NotYetObserved, or a Manage object's status is behind.
	Why    string         `json:"why,omitempty"`
	InSync *PlanCondition `json:"inSync,omitempty"`
	Ready  *PlanCondition `json:"ready,omitempty"`
	// Drift is never null: an empty list is no change (or, NotYetObserved, none known).
	Drift []PlanChange `json:"drift"`
}

// PlanCondition is a condition as the operator last wrote it.
type PlanCondition struct {
	Status             string `json:"status"`
	Reason             string `json:"reason"`
	Message            string `json:"message,omitempty"`
	ObservedGeneration int64  `json:"observedGeneration"`
}

// PlanChange is one entry of status.drift.
type PlanChange struct {
	Action  string `json:"action"`
	Field   string `json:"field"`
	Desired string `json:"desired"`
	Actual  string `json:"actual"`
}

// PlanSummary counts the objects by state, and gives the exit code plan ends with.
type PlanSummary struct {
	Objects        int `json:"objects"`
	Drifted        int `json:"drifted"`
	NotYetObserved int `json:"notYetObserved"`
	InSync         int `json:"inSync"`
	Managed        int `json:"managed"`
	ExitCode       int `json:"exitCode"`
}

// assess is one object's place in the plan. An Observe object counts as observed only
// when status and its InSync condition both describe the current generation: a drift
// list of an older spec is no plan for this one.
func assess(kind string, obj client.Object, policy whv1.ManagementPolicy, observed int64,
	conditions []metav1.Condition, drift []whv1.DriftEntry) PlanObject {
	o := PlanObject{
		Kind: kind, Namespace: obj.GetNamespace(), Name: obj.GetName(),
		ManagementPolicy: string(whv1.ManagementPolicyManage),
		Generation:       obj.GetGeneration(), ObservedGeneration: observed,
		InSync: planCondition(conditions, whv1.ConditionInSync),
		Ready:  planCondition(conditions, whv1.ConditionReady),
		Drift:  []PlanChange{},
	}
	for _, d := range drift {
		o.Drift = append(o.Drift, PlanChange{Action: action(d), Field: d.Field, Desired: d.Desired, Actual: d.Actual})
	}
	behind := ""
	if observed < o.Generation {
		behind = fmt.Sprintf("status describes generation %d, the spec is at %d", observed, o.Generation)
	}
	if policy != whv1.ManagementPolicyObserve {
		// Drift under Manage is Observe's, not cleared yet: the operator is making it.
		o.State, o.Why = StateManaged, behind
		if len(o.Drift) > 0 {
			o.State = StateDrifted
		}
		return o
	}
	o.ManagementPolicy = string(whv1.ManagementPolicyObserve)
	switch {
	case behind != "":
		o.State, o.Why = StateNotYetObserved, behind
	case o.InSync == nil:
		o.State, o.Why = StateNotYetObserved, "the operator has not observed OpenStack for it yet"
	case o.InSync.ObservedGeneration < o.Generation:
		o.State, o.Why = StateNotYetObserved, fmt.Sprintf("last observed at generation %d, the spec is at %d",
			o.InSync.ObservedGeneration, o.Generation)
	case len(o.Drift) > 0 || o.InSync.Status != string(metav1.ConditionTrue):
		o.State = StateDrifted
	default:
		o.State = StateInSync
	}
	if o.State == StateNotYetObserved {
		o.Drift = []PlanChange{} // an older spec's drift is no plan for this one
	}
	return o
}

func planCondition(conditions []metav1.Condition, condType string) *PlanCondition {
	c := meta.FindStatusCondition(conditions, condType)
	if c == nil {
		return nil
	}
	return &PlanCondition{Status: string(c.Status), Reason: c.Reason, Message: c.Message, ObservedGeneration: c.ObservedGeneration}
}

func action(d whv1.DriftEntry) string {
	switch {
	case d.Desired == "" && d.Actual == "" && strings.HasPrefix(d.Field, "…"):
		return ActionTruncated
	case d.Actual == lookups.Absent:
		return ActionCreate
	case d.Desired == lookups.Absent:
		return ActionDelete
	default:
		return ActionUpdate
	}
}

// summarizePlan counts the states. Drift anywhere is exit 2; else an object not yet
// observed is 3, since "no drift" cannot be said of it.
func summarizePlan(objects []PlanObject) PlanSummary {
	s := PlanSummary{Objects: len(objects)}
	for _, o := range objects {
		switch o.State {
		case StateDrifted:
			s.Drifted++
		case StateNotYetObserved:
			s.NotYetObserved++
		case StateInSync:
			s.InSync++
		case StateManaged:
			s.Managed++
		}
	}
	switch {
	case s.Drifted > 0:
		s.ExitCode = ExitDrift
	case s.NotYetObserved > 0:
		s.ExitCode = ExitNotObserved
	default:
		s.ExitCode = ExitOK
	}
	return s
}

// RenderPlan writes report for a person, grouped per object as terraform plan does:
// "+ field: desired" to create, "- field: actual" to remove, "~ field: actual → desired"
// to change, then the summary line.
func RenderPlan(out io.Writer, report PlanReport) error {
	p := &printer{w: out}
	if len(report.Objects) == 0 {
		p.printf("No Tenants or ComputeQuotas found.\n")
		return p.err
	}
	for _, o := range report.Objects {
		p.printf("%s %s/%s (%s): %s\n", o.Kind, o.Namespace, o.Name, o.ManagementPolicy, headline(o))
		for _, d := range o.Drift {
			p.printf("  %s\n", changeLine(d))
		}
		if o.Why != "" {
			p.printf("    why: %s\n", printable(o.Why))
		}
		if r := o.Ready; r != nil && r.Status != string(metav1.ConditionTrue) && o.State != StateInSync {
			p.printf("    Ready %s %s: %s\n", r.Status, r.Reason, printable(r.Message))
		}
		p.printf("\n")
	}
	s := report.Summary
	p.printf("%d objects, %d with drift, %d not yet observed\n", s.Objects, s.Drifted, s.NotYetObserved)
	return p.err
}

func headline(o PlanObject) string {
	switch o.State {
	case StateDrifted:
		if o.ManagementPolicy != string(whv1.ManagementPolicyObserve) {
			return fmt.Sprintf("%d to change (managed: the operator is making them)", len(o.Drift))
		}
		return fmt.Sprintf("%d to change", len(o.Drift))
	case StateNotYetObserved:
		return "not yet observed"
	case StateInSync:
		return "in sync"
	}
	if o.InSync != nil {
		return fmt.Sprintf("managed (InSync %s %s)", o.InSync.Status, o.InSync.Reason)
	}
	return "managed"
}

func changeLine(d PlanChange) string {
	switch d.Action {
	case ActionTruncated:
		return printable(d.Field)
	case ActionCreate:
		return fmt.Sprintf("+ %s: %s", printable(d.Field), printable(d.Desired))
	case ActionDelete:
		return fmt.Sprintf("- %s: %s", printable(d.Field), printable(d.Actual))
	}
	return fmt.Sprintf("~ %s: %s → %s", printable(d.Field), printable(d.Actual), printable(d.Desired))
}

// printable quotes a value that is empty, has spaces at its ends, or holds a character
// a terminal would act on (a description made by hand may hold escape sequences that
// would hide a line of the plan from its reviewer).
func printable(s string) string {
	if s == "" || strings.TrimSpace(s) != s {
		return strconv.Quote(s)
	}
	for _, r := range s {
		if !unicode.IsPrint(r) && r != ' ' {
			return strconv.Quote(s)
		}
	}
	return s
}
