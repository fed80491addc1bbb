package chart

import (
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
)

// TestShardsRender checks shards: 3: the default shard's Deployment as with one, and two
// more that differ only in their name, their Pods' component label and --shard; each
// with its own PDB and metrics Service selecting its own Pods alone; the NetworkPolicy
// and ServiceMonitor covering all three.
func TestShardsRender(t *testing.T) {
	t.Parallel()
	one := get[appsv1.Deployment](t, render(t, "serviceMonitor.enabled=true"), "Deployment", fullname)
	objs := render(t, "shards=3", "serviceMonitor.enabled=true")
	names := []string{fullname, fullname + "-shard-1", fullname + "-shard-2"}
	pods := map[string]labels.Set{}
	for i, name := range names {
		d := get[appsv1.Deployment](t, objs, "Deployment", name)
		pods[name] = d.Spec.Template.Labels
		args := d.Spec.Template.Spec.Containers[0].Args
		wantArgs := slices.Clone(one.Spec.Template.Spec.Containers[0].Args)
		if i > 0 {
			at := slices.Index(wantArgs, "--leader-elect") + 1
			wantArgs = slices.Insert(wantArgs, at, "--shard=shard-"+name[len(fullname)+len("-shard-"):])
		}
		if diff := cmp.Diff(wantArgs, args); diff != "" {
			t.Errorf("%s args (-want +got):\n%s", name, diff)
		}
		if i == 0 {
			if diff := cmp.Diff(one.Spec, d.Spec); diff != "" {
				t.Errorf("the default shard's Deployment differs from the one of shards: 1 (-one +three):\n%s", diff)
			}
		}
	}
	for _, name := range names {
		d := get[appsv1.Deployment](t, objs, "Deployment", name)
		pdb := get[policyv1.PodDisruptionBudget](t, objs, "PodDisruptionBudget", name)
		svc := get[corev1.Service](t, objs, "Service", name+"-metrics")
		for _, s := range []struct {
			what     string
			selector labels.Selector
		}{
			{"Deployment", selector(t, d.Spec.Selector)},
			{"PodDisruptionBudget", selector(t, pdb.Spec.Selector)},
			{"metrics Service", labels.SelectorFromSet(svc.Spec.Selector)},
		} {
			for other, podLabels := range pods {
				if got, want := s.selector.Matches(podLabels), other == name; got != want {
					t.Errorf("%s %s selects the Pods of %s: %v, want %v", s.what, name, other, got, want)
				}
			}
		}
	}
	np := get[networkingv1.NetworkPolicy](t, objs, "NetworkPolicy", fullname)
	sm := objs.find("ServiceMonitor", fullname)
	if sm == nil {
		t.Fatal("no ServiceMonitor")
	}
	raw, _, _ := unstructured.NestedMap(sm.Object, "spec", "selector")
	smSelector := metav1.LabelSelector{}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(raw, &smSelector); err != nil {
		t.Fatal(err)
	}
	for _, name := range names {
		if !selector(t, &np.Spec.PodSelector).Matches(pods[name]) {
			t.Errorf("the NetworkPolicy does not hold the Pods of %s", name)
		}
		svc := get[corev1.Service](t, objs, "Service", name+"-metrics")
		if !selector(t, &smSelector).Matches(labels.Set(svc.Labels)) {
			t.Errorf("the ServiceMonitor does not scrape %s-metrics", name)
		}
	}
}

// TestShardsForceLeaderElection: a shard hands a namespace over by the other's Lease, so
// with shards leader election is on even for one replica.
func TestShardsForceLeaderElection(t *testing.T) {
	t.Parallel()
	objs := render(t, "shards=2", "replicas=1", "leaderElection.enabled=false")
	for _, name := range []string{fullname, fullname + "-shard-1"} {
		d := get[appsv1.Deployment](t, objs, "Deployment", name)
		if !slices.Contains(d.Spec.Template.Spec.Containers[0].Args, "--leader-elect") {
			t.Errorf("%s runs without --leader-elect: %v", name, d.Spec.Template.Spec.Containers[0].Args)
		}
	}
}

func selector(t *testing.T, s *metav1.LabelSelector) labels.Selector {
	t.Helper()
	out, err := metav1.LabelSelectorAsSelector(s)
	if err != nil {
		t.Fatal(err)
	}
	return out
}
