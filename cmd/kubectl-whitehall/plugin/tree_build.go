package plugin

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"
	"github.com/whitehall-cloud/whitehall-operator/internal/quota"
)

// The parts of a Tenant, as lines of the tree.
const (
	partProject    = "Project"
	partPeople     = "People"
	partNetwork    = "Network"
	partCredential = "Credential"
	partPolicy     = "Policy"
)

// reasonPart says which part of a Tenant a Ready reason is about, so the tree shows the
// failure on that part as well as on the Tenant.
var reasonPart = map[string]string{
	whv1.ReasonAlreadyExists:       partProject,
	whv1.ReasonAlreadyOwned:        partProject,
	whv1.ReasonImportNotAllowed:    partProject,
	whv1.ReasonProjectProtected:    partProject,
	whv1.ReasonRoleNotAllowed:      partPeople,
	whv1.ReasonNetworkConflict:     partNetwork,
	whv1.ReasonNetworkAllocated:    partNetwork,
	whv1.ReasonPoolExhausted:       partNetwork,
	whv1.ReasonSecretConflict:      partCredential,
	whv1.ReasonPolicyViolation:     partPolicy,
	whv1.ReasonDeletionBlocked:     partProject,
	whv1.ReasonNamespaceNotAllowed: partProject,
}

// BuildTree turns departments into tree lines: failing departments first, and in each
// the failing parts first.
func BuildTree(departments []Department) []*Line {
	lines := make([]*Line, 0, len(departments))
	for _, d := range departments {
		lines = append(lines, departmentLine(d))
	}
	sortLines(lines)
	return lines
}

func departmentLine(d Department) *Line {
	root := &Line{Kind: "Tenant", Name: d.Namespace + "/" + d.TenantName}
	if d.Tenant == nil {
		root.Ready, root.Reason = string(metav1.ConditionFalse), "NotFound"
		root.Message = "named by the objects below, but there is no such Tenant"
	} else {
		t := d.Tenant
		setReady(root, t.Status.Conditions, t.Generation)
		root.Detail = tenantDetail(t)
		root.Children = append(root.Children, projectLine(t), peopleLine(t))
		root.Children = appendIf(root.Children, networkLine(t), credentialLine(t), policyLine(t.Status.Conditions))
	}
	for i := range d.Quotas {
		root.Children = append(root.Children, quotaLine(&d.Quotas[i]))
	}
	for i := range d.Environments {
		root.Children = append(root.Children, environmentLine(&d.Environments[i]))
	}
	return root
}

func tenantDetail(t *whv1.Tenant) string {
	switch {
	case t.Spec.CloudRef != nil:
		return "cloud " + t.Spec.CloudRef.Name
	case t.Spec.CloudCredentialsRef != nil:
		return "own credentials secret/" + t.Spec.CloudCredentialsRef.SecretName
	}
	return ""
}

// setReady copies the Ready condition onto the line; a missing one is Unknown. A
// condition written for an older generation says so in the message, as kstatus would
// call the object in progress: the spec changed and the operator has not caught up.
func setReady(l *Line, conditions []metav1.Condition, generation int64) {
	c := meta.FindStatusCondition(conditions, whv1.ConditionReady)
	if c == nil {
		l.Ready, l.Reason, l.Message = string(metav1.ConditionUnknown), "NoStatus", "the operator has not reported on it yet"
		return
	}
	l.Ready, l.Reason, l.Message = string(c.Status), c.Reason, c.Message
	if c.ObservedGeneration < generation {
		l.Message = fmt.Sprintf("(of generation %d, spec is %d) %s", c.ObservedGeneration, generation, c.Message)
	}
}

// setPart gives a Tenant's part its state: the Tenant's failure when its reason is
// about this part; else True when status records the part, Unknown while it does not.
func setPart(l *Line, t *whv1.Tenant, recorded bool) {
	ready := meta.FindStatusCondition(t.Status.Conditions, whv1.ConditionReady)
	switch {
	case ready != nil && ready.Status != metav1.ConditionTrue && reasonPart[ready.Reason] == l.Kind:
		l.Ready, l.Reason, l.Message = string(ready.Status), ready.Reason, ready.Message
	case recorded:
		l.Ready = string(metav1.ConditionTrue)
	case t.Status.ProjectID == "":
		l.Ready, l.Reason, l.Message = string(metav1.ConditionUnknown), "Pending", "waits for the project"
	default:
		l.Ready, l.Reason, l.Message = string(metav1.ConditionUnknown), "Pending", "not in the Tenant's status yet"
	}
}

func projectLine(t *whv1.Tenant) *Line {
	l := &Line{Kind: partProject, Name: t.ProjectName()}
	var detail []string
	if t.Status.ProjectID != "" {
		detail = append(detail, "id "+t.Status.ProjectID)
	}
	if t.Status.Adopted {
		detail = append(detail, "adopted")
	}
	if !t.Spec.Project.IsEnabled() {
		detail = append(detail, "disabled")
	}
	l.Detail = strings.Join(detail, ", ")
	setPart(l, t, t.Status.ProjectID != "")
	return l
}

func peopleLine(t *whv1.Tenant) *Line {
	applied := 0
	for _, a := range t.Status.RoleAssignments {
		// The operator's own service user holds a role on the project: not one of the people.
		if a.UserID == "" || a.UserID != t.Status.ServiceUserID {
			applied++
		}
	}
	l := &Line{Kind: partPeople, Detail: fmt.Sprintf("%d in spec, %d applied", len(t.Spec.RoleAssignments), applied)}
	setPart(l, t, t.Status.ProjectID != "" && applied == len(t.Spec.RoleAssignments))
	for _, a := range t.Spec.RoleAssignments {
		kind, name, domain := "User", ptr.Deref(a.User, ""), a.UserDomain
		if a.Group != nil {
			kind, name, domain = "Group", *a.Group, a.GroupDomain
		}
		if domain != nil {
			name += "@" + *domain
		}
		l.Children = append(l.Children, &Line{Kind: kind, Name: name, Detail: strings.Join(a.Roles, ", ")})
	}
	return l
}

// networkLine is nil for a Tenant that asks for no network and has none.
func networkLine(t *whv1.Tenant) *Line {
	s := t.Status.Network
	if t.Spec.Network == nil && s == nil {
		return nil
	}
	l := &Line{Kind: partNetwork}
	recorded := s != nil && s.NetworkID != "" && s.SubnetID != ""
	if t.Spec.Network != nil && t.Spec.Network.ExternalNetwork != nil {
		recorded = recorded && s.RouterID != ""
	}
	if s != nil {
		l.Detail = joinSet("cidr", s.CIDR, "network", s.NetworkID, "subnet", s.SubnetID, "router", s.RouterID)
		if len(s.Adopted) > 0 {
			l.Detail += ", adopted " + strings.Join(s.Adopted, "+")
		}
	}
	setPart(l, t, recorded)
	return l
}

// credentialLine is nil for a Tenant that asks for no application credential.
func credentialLine(t *whv1.Tenant) *Line {
	s := t.Status.ApplicationCredential
	if t.Spec.ApplicationCredential == nil && s == nil {
		return nil
	}
	l := &Line{Kind: partCredential}
	if t.Spec.ApplicationCredential != nil {
		l.Name = t.Spec.ApplicationCredential.SecretName
	}
	if s != nil {
		l.Detail = joinSet("id", s.ID, "expires", timeText(s.ExpiresAt), "rotates", timeText(s.RotateAt))
		if len(s.Retiring) > 0 {
			l.Detail += fmt.Sprintf(", %d retiring", len(s.Retiring))
		}
	}
	setPart(l, t, s != nil && s.ID != "")
	return l
}

// policyLine is the PolicyViolation condition as a line that is failing when the policy
// is broken; nil when no policy governs the object.
func policyLine(conditions []metav1.Condition) *Line {
	c := meta.FindStatusCondition(conditions, whv1.ConditionPolicyViolation)
	if c == nil {
		return nil
	}
	l := &Line{Kind: partPolicy, Reason: c.Reason, Message: c.Message}
	switch c.Status {
	case metav1.ConditionTrue:
		l.Ready = string(metav1.ConditionFalse)
	case metav1.ConditionFalse:
		l.Ready = string(metav1.ConditionTrue)
	default:
		l.Ready = string(metav1.ConditionUnknown)
	}
	return l
}

func quotaLine(cq *whv1.ComputeQuota) *Line {
	l := &Line{Kind: "ComputeQuota", Name: cq.Name, Detail: "baseline"}
	if len(cq.Status.ActiveSeasons) > 0 {
		l.Detail = "seasons " + strings.Join(cq.Status.ActiveSeasons, ", ")
	}
	setReady(l, cq.Status.Conditions, cq.Generation)
	effective, usage := quota.FromAPI(cq.Status.Effective), quota.FromAPI(cq.Status.Usage)
	for _, f := range fieldsIn(effective) {
		l.Children = append(l.Children, limitLine(f, effective[f], usage))
	}
	l.Children = appendIf(l.Children, policyLine(cq.Status.Conditions))
	return l
}

// limitLine is one quota field: effective against usage, failing when usage is above.
func limitLine(f quota.Field, limit int64, usage quota.Limits) *Line {
	l := &Line{Kind: "Limit", Name: f.String()}
	used, read := usage[f]
	if !read {
		l.Detail = "limit " + quota.Format(limit) + ", usage not read"
		return l
	}
	l.Detail = "used " + quota.Format(used) + " of " + quota.Format(limit)
	if quota.Above(used, limit) {
		l.Ready, l.Reason = string(metav1.ConditionFalse), whv1.ReasonLimitBelowUsage
		l.Message = "the project uses more than the limit: new resources fail"
	}
	return l
}

func environmentLine(te *whv1.TestEnvironment) *Line {
	l := &Line{
		Kind: "TestEnvironment", Name: te.Name,
		Detail: fmt.Sprintf("ready %d/%d", te.Status.ReadyReplicas, te.Status.DesiredReplicas),
	}
	if len(te.Status.ActiveSeasons) > 0 {
		l.Detail += ", seasons " + strings.Join(te.Status.ActiveSeasons, ", ")
	}
	if te.Status.ExpiresAt != nil {
		l.Detail += ", expires " + timeText(te.Status.ExpiresAt)
	}
	setReady(l, te.Status.Conditions, te.Generation)
	l.Children = appendIf(l.Children, policyLine(te.Status.Conditions))
	return l
}

// fieldsIn lists the fields limits sets, in the quota table's order.
func fieldsIn(limits quota.Limits) []quota.Field {
	var out []quota.Field
	for _, s := range quota.Services {
		for _, f := range quota.FieldsOf(s) {
			if _, ok := limits[f]; ok {
				out = append(out, f)
			}
		}
	}
	return out
}

// joinSet writes label-value pairs whose value is set: "network n1, subnet s1".
func joinSet(pairs ...string) string {
	var out []string
	for i := 0; i+1 < len(pairs); i += 2 {
		if pairs[i+1] != "" {
			out = append(out, pairs[i]+" "+pairs[i+1])
		}
	}
	return strings.Join(out, ", ")
}

func timeText(t *metav1.Time) string {
	if t == nil {
		return ""
	}
	return t.UTC().Format("2006-01-02T15:04Z")
}

func appendIf(lines []*Line, more ...*Line) []*Line {
	for _, l := range more {
		if l != nil {
			lines = append(lines, l)
		}
	}
	return lines
}

// rank orders states: False first, then Unknown, then True, then lines that only inform.
func rank(ready string) int {
	switch ready {
	case string(metav1.ConditionFalse):
		return 0
	case string(metav1.ConditionUnknown):
		return 1
	case string(metav1.ConditionTrue):
		return 2
	}
	return 3
}

// worst is the lowest rank of a line and everything under it: a Tenant whose quota
// fails sorts before a healthy one even when the Tenant itself is Ready.
func worst(l *Line) int {
	r := rank(l.Ready)
	for _, c := range l.Children {
		r = min(r, worst(c))
	}
	return r
}

// sortLines puts failing lines first at every level, keeping the order otherwise: by
// the worst state under a line, then by its own (a failing Tenant before a Ready one
// with a failing quota).
func sortLines(lines []*Line) {
	slices.SortStableFunc(lines, func(a, b *Line) int {
		return cmp.Or(cmp.Compare(worst(a), worst(b)), cmp.Compare(rank(a.Ready), rank(b.Ready)))
	})
	for _, l := range lines {
		sortLines(l.Children)
	}
}
