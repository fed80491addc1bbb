package controllers

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/recorder"
)

// notify records an event a person cares about and logs the same line, so the
// operator's log tells the story the events tell. Messages never hold credentials: they
// are built from names and IDs only.
func notify(ctx context.Context, rec recorder.EventRecorder, obj runtime.Object, eventType, reason, action, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	rec.Eventf(obj, nil, eventType, reason, action, "%s", msg)
	log := ctrl.LoggerFrom(ctx)
	if eventType == corev1.EventTypeWarning {
		log.Info(msg, "reason", reason, "warning", true)
		return
	}
	log.Info(msg, "reason", reason)
}
