package frame

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	corev1 "k8s.io/api/core/v1"
	ctrl "sigs.k8s.io/controller-runtime"

	"k8s.io/apimachinery/pkg/runtime"

	"sigs.k8s.io/controller-runtime/pkg/log/zap"
)

// noteRecorder keeps the notes of the events recorded.
type noteRecorder struct{ notes []string }

func (r *noteRecorder) Eventf(_, _ runtime.Object, _, _, _, note string, args ...any) {
	r.notes = append(r.notes, fmt.Sprintf(note, args...))
}

func (r *noteRecorder) AnnotatedEventf(_, _ runtime.Object, _ map[string]string, _, _, _, note string, args ...any) {
	r.notes = append(r.notes, fmt.Sprintf(note, args...))
}

func TestCutNote(t *testing.T) {
	cases := []struct {
		reason string
		in     string
	}{
		{"ASCII", strings.Repeat("a", 5000)},
		{"two-byte runes", strings.Repeat("é", 3000)},
		{"three-byte runes across the cut", "x" + strings.Repeat("€", 2000)},
		{"four-byte runes", strings.Repeat("𝄞", 1000)},
		{"exactly the limit", strings.Repeat("b", maxNote)},
		{"short", "Deleted project p1"},
	}
	for _, tc := range cases {
		t.Run(tc.reason, func(t *testing.T) {
			got := cutNote(tc.in)
			if len(got) > maxNote {
				t.Errorf("note of %d bytes, the events API takes %d", len(got), maxNote)
			}
			if !utf8.ValidString(got) {
				t.Errorf("note cut inside a rune: %q", got[len(got)-8:])
			}
			if len(tc.in) <= maxNote {
				if got != tc.in {
					t.Errorf("a note within the limit was changed: %q", got)
				}
				return
			}
			if !strings.HasSuffix(got, "…") || !strings.HasPrefix(tc.in, strings.TrimSuffix(got, "…")) {
				t.Errorf("the cut note is not a marked prefix of the message")
			}
			if len(got) < maxNote-6 {
				t.Errorf("note cut to %d bytes, more than a rune short of %d", len(got), maxNote)
			}
		})
	}
}

func TestNotifyCutsTheNoteAndLogsItWhole(t *testing.T) {
	var logged bytes.Buffer
	ctx := ctrl.LoggerInto(context.Background(), zap.New(zap.WriteTo(&logged)))
	rec := &noteRecorder{}
	leftovers := strings.Repeat("server-ü, ", 400)
	Notify(ctx, rec, &corev1.ConfigMap{}, corev1.EventTypeWarning, "DeletionBlocked", "DeleteProject", "project p1 still holds %s", leftovers)
	if len(rec.notes) != 1 || len(rec.notes[0]) > maxNote || !utf8.ValidString(rec.notes[0]) {
		t.Fatalf("notes %d, first of %d bytes; want one of at most %d, valid UTF-8", len(rec.notes), len(rec.notes[0]), maxNote)
	}
	line := logged.String()
	if strings.Count(line, "\n") != 1 || !strings.Contains(line, strings.TrimSpace(leftovers)) || !strings.Contains(line, `"eventNoteCut":true`) {
		t.Errorf("the log line does not contain the whole message and the mark of the cut: %.300s…", line)
	}
}
