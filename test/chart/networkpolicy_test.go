package chart

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestNetworkPolicyRender checks the NetworkPolicy rendered by default (with the
// addresses it requires): out, exactly DNS, the API server and each OpenStack endpoint
// with its own ports; in, exactly the metrics port; probes only where node addresses
// are given.
func TestNetworkPolicyRender(t *testing.T) {
	t.Parallel()
	dns := "to ns{kubernetes.io/metadata.name=kube-system} pods{k8s-app=kube-dns} | UDP/53 TCP/53"
	for _, tc := range []struct {
		name        string
		sets        []string
		wantEgress  []string
		wantIngress []string
	}{{
		name: "required values only",
		wantEgress: []string{
			dns,
			"to 10.0.0.1/32 | TCP/443 TCP/6443",
			"to 192.0.2.10/32 | TCP/5000",
			"to 198.51.100.0/24 2001:db8::1/128 | TCP/8774 TCP/9696",
		},
		wantIngress: []string{"from ns{kubernetes.io/metadata.name=monitoring} pods{} | TCP/https"},
	}, {
		name: "probes from the nodes, a proxy, other API server ports",
		sets: []string{"networkPolicy.probes.cidrs={10.1.0.0/16}", "networkPolicy.apiServer.ports={8443}",
			"networkPolicy.extraEgress[0].to[0].ipBlock.cidr=203.0.113.5/32", "networkPolicy.extraEgress[0].ports[0].port=3128"},
		wantEgress: []string{
			dns,
			"to 10.0.0.1/32 | TCP/8443",
			"to 192.0.2.10/32 | TCP/5000",
			"to 198.51.100.0/24 2001:db8::1/128 | TCP/8774 TCP/9696",
			"to 203.0.113.5/32 | /3128",
		},
		wantIngress: []string{
			"from ns{kubernetes.io/metadata.name=monitoring} pods{} | TCP/https",
			"from 10.1.0.0/16 | TCP/health",
		},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			np := get[networkingv1.NetworkPolicy](t, render(t, tc.sets...), "NetworkPolicy", fullname)
			if !slices.Equal(np.Spec.PolicyTypes, []networkingv1.PolicyType{"Ingress", "Egress"}) {
				t.Errorf("policyTypes %v: both directions are denied but for the rules", np.Spec.PolicyTypes)
			}
			var egress, ingress []string
			for _, r := range np.Spec.Egress {
				egress = append(egress, "to "+describePeers(r.To)+" | "+describePorts(r.Ports))
			}
			for _, r := range np.Spec.Ingress {
				ingress = append(ingress, "from "+describePeers(r.From)+" | "+describePorts(r.Ports))
			}
			if diff := cmp.Diff(tc.wantEgress, egress); diff != "" {
				t.Errorf("egress rules (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantIngress, ingress); diff != "" {
				t.Errorf("ingress rules (-want +got):\n%s", diff)
			}
		})
	}
	t.Run("selects the manager", func(t *testing.T) {
		t.Parallel()
		objs := render(t)
		np := get[networkingv1.NetworkPolicy](t, objs, "NetworkPolicy", fullname)
		d := get[appsv1.Deployment](t, objs, "Deployment", fullname)
		if !isSubset(np.Spec.PodSelector.MatchLabels, d.Spec.Template.Labels) {
			t.Errorf("podSelector %v does not select the manager's pods %v", np.Spec.PodSelector, d.Spec.Template.Labels)
		}
	})
}

// TestNetworkPolicyRequired checks that the chart's true defaults do not render: the
// NetworkPolicy is on and the addresses it allows cannot be guessed, so the message
// says which values to set, or how to turn it off knowingly.
func TestNetworkPolicyRequired(t *testing.T) {
	t.Parallel()
	_, err := renderBare()
	if err == nil {
		t.Fatal("the chart rendered without the NetworkPolicy's addresses")
	}
	for _, want := range []string{"networkPolicy.apiServer.cidrs is required", "networkPolicy.enabled=false"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not say %q:\n%v", want, err)
		}
	}
	out, err := renderBare("networkPolicy.enabled=false")
	if err != nil {
		t.Fatal(err)
	}
	objs, err := parseManifests(out)
	if err != nil {
		t.Fatal(err)
	}
	if objs.find("NetworkPolicy", "") != nil || objs.find("Deployment", fullname) == nil {
		t.Errorf("with networkPolicy.enabled=false: want the chart without a NetworkPolicy, got %v", objs.keys())
	}
}

func describePeers(peers []networkingv1.NetworkPolicyPeer) string {
	var out []string
	for _, p := range peers {
		var parts []string
		if p.IPBlock != nil {
			parts = append(parts, p.IPBlock.CIDR+strings.Join(p.IPBlock.Except, " except "))
		}
		if p.NamespaceSelector != nil {
			parts = append(parts, "ns"+describeSelector(p.NamespaceSelector))
		}
		if p.PodSelector != nil {
			parts = append(parts, "pods"+describeSelector(p.PodSelector))
		}
		out = append(out, strings.Join(parts, " "))
	}
	return strings.Join(out, " ")
}

func describeSelector(s *metav1.LabelSelector) string {
	var parts []string
	for k, v := range s.MatchLabels {
		parts = append(parts, k+"="+v)
	}
	slices.Sort(parts)
	for _, e := range s.MatchExpressions {
		parts = append(parts, fmt.Sprintf("%s %s %v", e.Key, e.Operator, e.Values))
	}
	return "{" + strings.Join(parts, ",") + "}"
}

func describePorts(ports []networkingv1.NetworkPolicyPort) string {
	var out []string
	for _, p := range ports {
		s := ""
		if p.Protocol != nil {
			s = string(*p.Protocol)
		}
		if p.Port != nil {
			s += "/" + p.Port.String()
		}
		if p.EndPort != nil {
			s += fmt.Sprintf("-%d", *p.EndPort)
		}
		out = append(out, s)
	}
	return strings.Join(out, " ")
}
