package frame

import (
	"context"
	"fmt"
	"unicode/utf8"

	corev1 "k8s.io/api/core/v1"
	ctrl "sigs.k8s.io/controller-runtime"

	"k8s.io/apimachinery/pkg/runtime"

	"sigs.k8s.io/controller-runtime/pkg/recorder"
)

// maxNote is the longest event note the events API accepts, in bytes: a longer one is
// refused and the event lost.
const maxNote = 1024

// Notify records an event a person cares about and logs the same line, so the
// operator's log tells the story the events tell. A note longer than the events API
// accepts is cut; the log has it whole. Messages never contain credentials: they are built
// from names and IDs only.
func Notify(ctx context.Context, rec recorder.EventRecorder, obj runtime.Object, eventType, reason, action, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	note := cutNote(msg)
	rec.Eventf(obj, nil, eventType, reason, action, "%s", note)
	log := ctrl.LoggerFrom(ctx)
	if len(note) < len(msg) {
		log = log.WithValues("eventNoteCut", true)
	}
	if eventType == corev1.EventTypeWarning {
		log.Info(msg, "reason", reason, "warning", true)
		return
	}
	log.Info(msg, "reason", reason)
}

// cutNote shortens s to at most maxNote bytes, on a rune boundary, marking the cut.
func cutNote(s string) string { return CutText(s, maxNote, "…") }

// CutText shortens s to at most limit bytes, on a rune boundary, ending with mark when
// it was cut.
func CutText(s string, limit int, mark string) string {
	if len(s) <= limit {
		return s
	}
	cut := limit - len(mark)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + mark
}
