package testenvironment

import (
	"testing"

	"k8s.io/utils/ptr"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"
)

func TestDesiredReplicas(t *testing.T) {
	env := func(replicas *int32) *whv1.TestEnvironment {
		return &whv1.TestEnvironment{Spec: whv1.TestEnvironmentSpec{
			Replicas: replicas,
			Peaks:    []whv1.ReplicaPeak{{Season: "sa", Replicas: 40}},
		}}
	}
	cases := []struct {
		reason string
		env    *whv1.TestEnvironment
		active []string
		want   int32
	}{
		{reason: "a peak raises replicas", env: env(ptr.To[int32](3)), active: []string{"sa"}, want: 40},
		{reason: "no season active: spec.replicas", env: env(ptr.To[int32](3)), want: 3},
		{reason: "replicas 0 turns it off, peaks included", env: env(ptr.To[int32](0)), active: []string{"sa"}, want: 0},
		{reason: "replicas unset defaults to 1", env: env(nil), want: 1},
	}
	for _, tc := range cases {
		if got := desiredReplicas(tc.env, tc.active); got != tc.want {
			t.Errorf("%s: got %d, want %d", tc.reason, got, tc.want)
		}
	}
}
