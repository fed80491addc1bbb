package lookups

import (
	"fmt"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"
	"github.com/whitehall-cloud/whitehall-operator/controllers/frame"
)

// Absent is how a drift entry says there is nothing: a project, an assignment or a
// limit that does not exist, or one the operator would remove.
const Absent = "absent"

// Drift is one difference, each string cut to what the API server admits.
func Drift(field, desired, actual string) whv1.DriftEntry {
	cut := func(s string) string { return frame.CutText(s, whv1.MaxDriftValue, " …") }
	return whv1.DriftEntry{Field: cut(field), Desired: cut(desired), Actual: cut(actual)}
}

// BoundDrift cuts a drift list to what the API server admits (whv1.MaxDrift entries):
// the last one kept says how many more there are, so the status write is never refused.
func BoundDrift(drift []whv1.DriftEntry) []whv1.DriftEntry {
	if len(drift) <= whv1.MaxDrift {
		return drift
	}
	out := drift[: whv1.MaxDrift-1 : whv1.MaxDrift-1]
	return append(out, whv1.DriftEntry{Field: fmt.Sprintf("… and %d more", len(drift)-len(out))})
}

// RecordDrift sets, under managementPolicy Observe, the bounded drift into *status and
// the InSync condition: True with none, False (Drifted) with their count. It returns
// the count, for the Ready message.
func RecordDrift(status *[]whv1.DriftEntry, conditions *[]metav1.Condition, drift []whv1.DriftEntry, generation int64) int {
	*status = BoundDrift(drift)
	cond := metav1.Condition{Type: whv1.ConditionInSync, Status: metav1.ConditionTrue, Reason: whv1.ReasonInSync,
		Message: "OpenStack holds what the spec asks for", ObservedGeneration: generation}
	if len(drift) > 0 {
		cond.Status, cond.Reason = metav1.ConditionFalse, whv1.ReasonDrifted
		cond.Message = fmt.Sprintf("%d difference(s); status.drift lists them", len(drift))
	}
	meta.SetStatusCondition(conditions, cond)
	return len(drift)
}

// ClearDrift removes drift and InSync: under managementPolicy Manage neither is reported.
func ClearDrift(status *[]whv1.DriftEntry, conditions *[]metav1.Condition) {
	*status = nil
	meta.RemoveStatusCondition(conditions, whv1.ConditionInSync)
}
