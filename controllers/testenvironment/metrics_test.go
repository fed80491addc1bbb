package testenvironment

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"
	"github.com/whitehall-cloud/whitehall-operator/controllers/frame/frametest"
)

func TestServerMetricsFollowTheObject(t *testing.T) {
	const ns = "metrics-servers"
	env := &whv1.TestEnvironment{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "load"}}
	env.Status.Servers = []whv1.ServerStatus{{Name: "load-0", Status: "ACTIVE"}, {Name: "load-1", Status: "BUILD"}}
	recordServerMetrics(env)
	if diff := cmp.Diff([]string{"environment=load,status=ACTIVE,", "environment=load,status=BUILD,"}, frametest.SeriesOf(t, environmentServers, ns)); diff != "" {
		t.Errorf("servers (-want +got):\n%s", diff)
	}
	env.Status.Servers[1].Status = "ACTIVE"
	recordServerMetrics(env)
	if diff := cmp.Diff([]string{"environment=load,status=ACTIVE,"}, frametest.SeriesOf(t, environmentServers, ns)); diff != "" {
		t.Errorf("servers once all are up (-want +got):\n%s", diff)
	}
	forgetServerMetrics(ns, "load")
	if got := frametest.SeriesOf(t, environmentServers, ns); len(got) != 0 {
		t.Errorf("after deletion, series %v remain", got)
	}
}
