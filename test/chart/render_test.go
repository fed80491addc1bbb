package chart

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/utils/ptr"
)

const fullname = "whitehall-operator"

func TestLint(t *testing.T) {
	t.Parallel()
	lint := func(sets ...string) string {
		args := []string{"lint", "--strict", chartDir}
		for _, s := range append(slices.Clone(requiredValues), sets...) {
			args = append(args, "--set", s)
		}
		return helm(t, args...)
	}
	t.Log(lint())
	// Lint with every optional object on, so their templates are linted too.
	lint("serviceMonitor.enabled=true", "prometheusRules.enabled=true", "dashboards.enabled=true", "metrics.certSecret=whitehall-metrics-cert", "networkPolicy.probes.cidrs={10.0.0.0/24}")
}

func TestDefaultRender(t *testing.T) {
	t.Parallel()
	objs := render(t)

	want := []string{
		"ServiceAccount/" + fullname,
		"ClusterRole/" + fullname,
		"ClusterRoleBinding/" + fullname,
		"ClusterRole/" + fullname + "-metrics-reader",
		"Role/" + fullname + "-leader-election",
		"RoleBinding/" + fullname + "-leader-election",
		"Service/" + fullname + "-metrics",
		"Deployment/" + fullname,
		"PodDisruptionBudget/" + fullname,
		"ClusterRole/" + fullname + "-view",
		"ClusterRole/" + fullname + "-edit",
		"ClusterRole/whitehall-platform-admin",
		"ClusterRole/whitehall-finance",
		"ClusterRole/whitehall-peak-approver",
		"NetworkPolicy/" + fullname,
		"ValidatingAdmissionPolicy/whitehall-namespace-labels",
		"ValidatingAdmissionPolicyBinding/whitehall-namespace-labels",
		"ValidatingAdmissionPolicy/whitehall-tenant-project-name",
		"ValidatingAdmissionPolicyBinding/whitehall-tenant-project-name",
		"ValidatingAdmissionPolicy/whitehall-user-data-secrets",
		"ValidatingAdmissionPolicyBinding/whitehall-user-data-secrets",
		"ValidatingAdmissionPolicy/whitehall-tenant-grantable-roles",
		"ValidatingAdmissionPolicyBinding/whitehall-tenant-grantable-roles",
		"ValidatingAdmissionPolicy/whitehall-peak-approvals",
		"ValidatingAdmissionPolicyBinding/whitehall-peak-approvals",
	}
	for _, kind := range departmentPolicyKinds {
		want = append(want, "ValidatingAdmissionPolicy/whitehall-department-policy-"+kind, "ValidatingAdmissionPolicyBinding/whitehall-department-policy-"+kind)
	}
	for _, crd := range generatedCRDs(t) {
		want = append(want, "CustomResourceDefinition/"+crd.GetName())
	}
	got := objs.keys()
	slices.Sort(want)
	slices.Sort(got)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("rendered objects (-want +got):\n%s", diff)
	}

	for _, o := range objs {
		switch o.GetKind() {
		case "CustomResourceDefinition", "ClusterRole", "ClusterRoleBinding", "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding":
			if o.GetNamespace() != "" {
				t.Errorf("cluster-scoped %s/%s has namespace %q", o.GetKind(), o.GetName(), o.GetNamespace())
			}
			if o.GetKind() != "CustomResourceDefinition" && o.GetLabels()["app.kubernetes.io/managed-by"] != "Helm" {
				t.Errorf("%s/%s lacks the chart's labels: %v", o.GetKind(), o.GetName(), o.GetLabels())
			}
		default:
			if o.GetNamespace() != namespace {
				t.Errorf("%s/%s: namespace %q, want the release namespace %q", o.GetKind(), o.GetName(), o.GetNamespace(), namespace)
			}
			if o.GetLabels()["app.kubernetes.io/managed-by"] != "Helm" {
				t.Errorf("%s/%s lacks the chart's labels: %v", o.GetKind(), o.GetName(), o.GetLabels())
			}
		}
	}

	t.Run("deployment", func(t *testing.T) {
		d := get[appsv1.Deployment](t, objs, "Deployment", fullname)
		if got := ptr.Deref(d.Spec.Replicas, -1); got != 2 {
			t.Errorf("replicas %d, want 2", got)
		}
		pod := d.Spec.Template.Spec
		if len(pod.Containers) != 1 {
			t.Fatalf("%d containers, want 1", len(pod.Containers))
		}
		c := pod.Containers[0]
		if c.Image != "ghcr.io/whitehall-cloud/whitehall-operator:0.1.0" {
			t.Errorf("image %q: the tag should default to appVersion 0.1.0", c.Image)
		}
		wantArgs := []string{
			"--metrics-bind-address=:8443",
			"--health-probe-bind-address=:8081",
			"--leader-elect",
			"--resync-period=10m",
			"--usage-interval=1h",
			"--cluster-lease=5m",
			"--openstack-timeout=60s",
			"--openstack-login-timeout=10s",
			"--max-concurrent-server-creates=10",
			"--grantable-roles=member,reader",
			"--zap-log-level=info",
			"--zap-encoder=json",
		}
		if diff := cmp.Diff(wantArgs, c.Args); diff != "" {
			t.Errorf("args (-want +got):\n%s", diff)
		}
		if d.Spec.Template.Labels["app.kubernetes.io/name"] == "" || !isSubset(d.Spec.Selector.MatchLabels, d.Spec.Template.Labels) {
			t.Errorf("selector %v does not select the pod labels %v", d.Spec.Selector.MatchLabels, d.Spec.Template.Labels)
		}
		if pod.ServiceAccountName != fullname {
			t.Errorf("serviceAccountName %q, want %q", pod.ServiceAccountName, fullname)
		}

		ports := map[string]int32{}
		for _, p := range c.Ports {
			ports[p.Name] = p.ContainerPort
		}
		if diff := cmp.Diff(map[string]int32{"https": 8443, "health": 8081}, ports); diff != "" {
			t.Errorf("container ports (-want +got):\n%s", diff)
		}
		var podNamespace *corev1.EnvVar
		for i := range c.Env {
			if c.Env[i].Name == "POD_NAMESPACE" {
				podNamespace = &c.Env[i]
			}
		}
		if podNamespace == nil || podNamespace.ValueFrom == nil || podNamespace.ValueFrom.FieldRef == nil ||
			podNamespace.ValueFrom.FieldRef.FieldPath != "metadata.namespace" {
			t.Errorf("env POD_NAMESPACE %+v: want the downward API's metadata.namespace", podNamespace)
		}
		for _, v := range pod.Volumes {
			if v.Secret != nil {
				t.Errorf("volume %+v: no Secret is mounted without metrics.certSecret", v)
			}
		}
		for name, probe := range map[string]*corev1.Probe{"/healthz": c.LivenessProbe, "/readyz": c.ReadinessProbe} {
			if probe == nil || probe.HTTPGet == nil || probe.HTTPGet.Path != name || ports[probe.HTTPGet.Port.String()] != 8081 && probe.HTTPGet.Port.IntValue() != 8081 {
				t.Errorf("probe %s: %+v, want an HTTP GET of %s on port 8081", name, probe, name)
			}
		}

		for name, q := range map[string]string{"requests.cpu": "100m", "requests.memory": "128Mi", "limits.memory": "256Mi"} {
			list := c.Resources.Requests
			if strings.HasPrefix(name, "limits.") {
				list = c.Resources.Limits
			}
			got := list[corev1.ResourceName(name[strings.Index(name, ".")+1:])]
			if got.Cmp(resource.MustParse(q)) != 0 {
				t.Errorf("resources %s = %s, want %s", name, got.String(), q)
			}
		}

		psc := pod.SecurityContext
		if psc == nil || !ptr.Deref(psc.RunAsNonRoot, false) || ptr.Deref(psc.RunAsUser, 0) != 65532 ||
			psc.SeccompProfile == nil || psc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
			t.Errorf("pod securityContext %+v: want runAsNonRoot, runAsUser 65532, seccomp RuntimeDefault", psc)
		}
		sc := c.SecurityContext
		if sc == nil {
			t.Fatal("no container securityContext")
		}
		if !ptr.Deref(sc.RunAsNonRoot, false) || ptr.Deref(sc.RunAsUser, 0) != 65532 ||
			!ptr.Deref(sc.ReadOnlyRootFilesystem, false) || ptr.Deref(sc.AllowPrivilegeEscalation, true) ||
			ptr.Deref(sc.Privileged, true) || sc.SeccompProfile == nil || sc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault ||
			sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) || len(sc.Capabilities.Add) > 0 {
			t.Errorf("container securityContext %+v: want the restricted profile", sc)
		}

		aff := pod.Affinity
		if aff == nil || aff.PodAntiAffinity == nil || len(aff.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution) != 1 ||
			len(aff.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution) > 0 {
			t.Fatalf("affinity %+v: want one soft podAntiAffinity term", aff)
		}
		term := aff.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution[0].PodAffinityTerm
		if term.TopologyKey != "kubernetes.io/hostname" || term.LabelSelector == nil || !isSubset(term.LabelSelector.MatchLabels, d.Spec.Template.Labels) {
			t.Errorf("anti-affinity term %+v: want hostname topology selecting the manager pods", term)
		}
		if pod.PriorityClassName != "" || len(pod.NodeSelector) > 0 || len(pod.Tolerations) > 0 {
			t.Errorf("priorityClassName/nodeSelector/tolerations set by default: %q %v %v", pod.PriorityClassName, pod.NodeSelector, pod.Tolerations)
		}
	})

	t.Run("no wildcard in RBAC", func(t *testing.T) {
		for _, kind := range []string{"ClusterRole", "Role"} {
			for _, o := range objs.ofKind(kind) {
				for i, rule := range convert[rbacv1.ClusterRole](t, o).Rules {
					for _, field := range [][]string{rule.Verbs, rule.Resources, rule.APIGroups, rule.ResourceNames, rule.NonResourceURLs} {
						for _, v := range field {
							if strings.Contains(v, "*") {
								t.Errorf("%s/%s rule %d grants a wildcard %q: %+v", kind, o.GetName(), i, v, rule)
							}
						}
					}
				}
			}
		}
	})

	t.Run("bindings", func(t *testing.T) {
		crb := get[rbacv1.ClusterRoleBinding](t, objs, "ClusterRoleBinding", fullname)
		rb := get[rbacv1.RoleBinding](t, objs, "RoleBinding", fullname+"-leader-election")
		sa := []rbacv1.Subject{{Kind: "ServiceAccount", Name: fullname, Namespace: namespace}}
		if diff := cmp.Diff(sa, crb.Subjects); diff != "" {
			t.Errorf("ClusterRoleBinding subjects (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(sa, rb.Subjects); diff != "" {
			t.Errorf("RoleBinding subjects (-want +got):\n%s", diff)
		}
		if crb.RoleRef != (rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: fullname}) {
			t.Errorf("ClusterRoleBinding roleRef %+v", crb.RoleRef)
		}
		if rb.RoleRef != (rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: fullname + "-leader-election"}) {
			t.Errorf("RoleBinding roleRef %+v", rb.RoleRef)
		}
		role := get[rbacv1.Role](t, objs, "Role", fullname+"-leader-election")
		if !grants(role.Rules, "coordination.k8s.io", "leases", "get", "list", "watch", "create", "update", "patch", "delete") ||
			!grants(role.Rules, "", "events", "create", "patch") {
			t.Errorf("leader-election Role rules %+v: want leases and events", role.Rules)
		}
	})

	t.Run("metrics service", func(t *testing.T) {
		svc := get[corev1.Service](t, objs, "Service", fullname+"-metrics")
		if len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].Name != "https" || svc.Spec.Ports[0].Port != 8443 || svc.Spec.Ports[0].TargetPort.String() != "https" {
			t.Errorf("ports %+v: want https 8443 -> https", svc.Spec.Ports)
		}
		d := get[appsv1.Deployment](t, objs, "Deployment", fullname)
		if !isSubset(svc.Spec.Selector, d.Spec.Template.Labels) {
			t.Errorf("Service selector %v does not select the pods %v", svc.Spec.Selector, d.Spec.Template.Labels)
		}
	})

	t.Run("metrics reader role", func(t *testing.T) {
		role := get[rbacv1.ClusterRole](t, objs, "ClusterRole", fullname+"-metrics-reader")
		want := []rbacv1.PolicyRule{{NonResourceURLs: []string{"/metrics"}, Verbs: []string{"get"}}}
		if diff := cmp.Diff(want, role.Rules); diff != "" {
			t.Errorf("rules (-want +got):\n%s", diff)
		}
	})

	t.Run("pod disruption budget", func(t *testing.T) {
		pdb := get[policyv1.PodDisruptionBudget](t, objs, "PodDisruptionBudget", fullname)
		if pdb.Spec.MinAvailable == nil || pdb.Spec.MinAvailable.IntValue() != 1 {
			t.Errorf("minAvailable %v, want 1", pdb.Spec.MinAvailable)
		}
		d := get[appsv1.Deployment](t, objs, "Deployment", fullname)
		if pdb.Spec.Selector == nil || !cmp.Equal(pdb.Spec.Selector.MatchLabels, d.Spec.Selector.MatchLabels) {
			t.Errorf("PDB selector %v, want the Deployment's %v", pdb.Spec.Selector, d.Spec.Selector.MatchLabels)
		}
	})

	t.Run("CRDs kept and installed", func(t *testing.T) {
		for _, o := range objs.ofKind("CustomResourceDefinition") {
			if o.GetAnnotations()["helm.sh/resource-policy"] != "keep" {
				t.Errorf("CRD %s lacks helm.sh/resource-policy: keep", o.GetName())
			}
		}
	})
}

// TestOptions renders with non-default values and checks what changes.
func TestOptions(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		reason string
		sets   []string
		check  func(t *testing.T, objs objects)
	}{{
		name:   "service monitor",
		reason: "serviceMonitor.enabled adds a ServiceMonitor scraping the metrics port over HTTPS with Prometheus' token",
		sets:   []string{"serviceMonitor.enabled=true", "serviceMonitor.labels.release=prometheus"},
		check: func(t *testing.T, objs objects) {
			sm := objs.find("ServiceMonitor", fullname)
			if sm == nil {
				t.Fatalf("no ServiceMonitor: %v", objs.keys())
			}
			if sm.GetAPIVersion() != "monitoring.coreos.com/v1" || sm.GetLabels()["release"] != "prometheus" {
				t.Errorf("ServiceMonitor %s labels %v", sm.GetAPIVersion(), sm.GetLabels())
			}
			want := map[string]any{
				"port":            "https",
				"path":            "/metrics",
				"scheme":          "https",
				"bearerTokenFile": "/var/run/secrets/kubernetes.io/serviceaccount/token",
				// The manager's certificate is self-signed without metrics.certSecret.
				"tlsConfig":     map[string]any{"insecureSkipVerify": true},
				"interval":      "30s",
				"scrapeTimeout": "10s",
			}
			if diff := cmp.Diff([]any{want}, serviceMonitorEndpoints(t, sm)); diff != "" {
				t.Errorf("endpoints (-want +got):\n%s", diff)
			}
		},
	}, {
		name:   "metrics certificate from a Secret",
		reason: "metrics.certSecret mounts the Secret as the manager's metrics certificate and the ServiceMonitor verifies it with its ca.crt",
		sets:   []string{"metrics.certSecret=whitehall-metrics-cert", "serviceMonitor.enabled=true"},
		check: func(t *testing.T, objs objects) {
			d := get[appsv1.Deployment](t, objs, "Deployment", fullname)
			pod := d.Spec.Template.Spec
			c := pod.Containers[0]
			const dir = "/etc/whitehall-operator/metrics-certs"
			if !slices.Contains(c.Args, "--metrics-cert-dir="+dir) {
				t.Errorf("args %v lack --metrics-cert-dir=%s", c.Args, dir)
			}
			var volume string
			for _, v := range pod.Volumes {
				if v.Secret != nil && v.Secret.SecretName == "whitehall-metrics-cert" {
					volume = v.Name
				}
			}
			mounted := slices.ContainsFunc(c.VolumeMounts, func(m corev1.VolumeMount) bool {
				return volume != "" && m.Name == volume && m.MountPath == dir && m.ReadOnly
			})
			if !mounted {
				t.Errorf("volumes %+v mounts %+v: want the Secret mounted read-only at %s", pod.Volumes, c.VolumeMounts, dir)
			}
			eps := serviceMonitorEndpoints(t, objs.find("ServiceMonitor", fullname))
			if len(eps) != 1 {
				t.Fatalf("endpoints %v: want one", eps)
			}
			want := map[string]any{
				"serverName": fullname + "-metrics." + namespace + ".svc",
				"ca":         map[string]any{"secret": map[string]any{"name": "whitehall-metrics-cert", "key": "ca.crt"}},
			}
			if diff := cmp.Diff(want, eps[0].(map[string]any)["tlsConfig"]); diff != "" {
				t.Errorf("tlsConfig (-want +got):\n%s", diff)
			}
		},
	}, {
		name:   "metrics port",
		reason: "metrics.port moves the listener, the container port, the Service and what the NetworkPolicy admits together",
		sets:   []string{"metrics.port=9443"},
		check: func(t *testing.T, objs objects) {
			d := get[appsv1.Deployment](t, objs, "Deployment", fullname)
			c := d.Spec.Template.Spec.Containers[0]
			if !slices.Contains(c.Args, "--metrics-bind-address=:9443") {
				t.Errorf("args %v lack --metrics-bind-address=:9443", c.Args)
			}
			named := map[string]int32{}
			for _, p := range c.Ports {
				named[p.Name] = p.ContainerPort
			}
			svc := get[corev1.Service](t, objs, "Service", fullname+"-metrics")
			if len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].Port != 9443 || named[svc.Spec.Ports[0].TargetPort.String()] != 9443 {
				t.Errorf("Service ports %+v, container ports %v: want 9443 -> the container's 9443", svc.Spec.Ports, named)
			}
			np := get[networkingv1.NetworkPolicy](t, objs, "NetworkPolicy", fullname)
			if len(np.Spec.Ingress) != 1 || len(np.Spec.Ingress[0].Ports) != 1 || named[np.Spec.Ingress[0].Ports[0].Port.String()] != 9443 {
				t.Errorf("ingress %+v: want the container's port 9443", np.Spec.Ingress)
			}
		},
	}, {
		name:   "dashboard",
		reason: "dashboards.enabled adds the Grafana dashboard ConfigMap holding the dashboard file",
		sets:   []string{"dashboards.enabled=true", "dashboards.annotations.grafana_folder=Whitehall"},
		check: func(t *testing.T, objs objects) {
			cm := get[corev1.ConfigMap](t, objs, "ConfigMap", fullname+"-dashboard")
			if cm.Labels["grafana_dashboard"] != "1" || cm.Annotations["grafana_folder"] != "Whitehall" {
				t.Errorf("labels %v annotations %v: want grafana_dashboard: \"1\" and the folder", cm.Labels, cm.Annotations)
			}
			file := readFile(t, filepath.Join(chartDir, "dashboards", "whitehall-operator.json"))
			if cm.Data["whitehall-operator.json"] != strings.TrimRight(string(file), "\n") {
				t.Errorf("the ConfigMap does not hold dashboards/whitehall-operator.json as it is")
			}
		},
	}, {
		name:   "one replica without leader election",
		reason: "a single replica may run without leader election, and then has no PDB",
		sets:   []string{"replicas=1", "leaderElection.enabled=false"},
		check: func(t *testing.T, objs objects) {
			d := get[appsv1.Deployment](t, objs, "Deployment", fullname)
			if slices.Contains(d.Spec.Template.Spec.Containers[0].Args, "--leader-elect") {
				t.Errorf("--leader-elect with one replica and leaderElection.enabled=false")
			}
			if objs.find("PodDisruptionBudget", "") != nil {
				t.Errorf("a PodDisruptionBudget with one replica would block every drain")
			}
		},
	}, {
		name:   "replicas force leader election",
		reason: "with more than one replica leader election is on whatever leaderElection.enabled says",
		sets:   []string{"replicas=3", "leaderElection.enabled=false"},
		check: func(t *testing.T, objs objects) {
			d := get[appsv1.Deployment](t, objs, "Deployment", fullname)
			if !slices.Contains(d.Spec.Template.Spec.Containers[0].Args, "--leader-elect") {
				t.Errorf("no --leader-elect with 3 replicas")
			}
		},
	}, {
		name:   "manager flags and pod placement",
		reason: "flag values, image, placement and pod metadata come from values",
		sets: []string{"resyncPeriod=5m", "usageInterval=15m", "clusterLease=2m", "clusterID=central-2", "openstackTimeout=30s", "maxConcurrentServerCreates=20", "logLevel=debug",
			"logFormat=console", "image.tag=1.2.3", "image.pullPolicy=Always", "priorityClassName=system-cluster-critical",
			"nodeSelector.role=infra", "podAnnotations.team=platform", "podLabels.tier=control",
			"tolerations[0].key=infra", "tolerations[0].operator=Exists", "tolerations[0].effect=NoSchedule",
			"affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0].key=role",
			"affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0].operator=Exists"},
		check: func(t *testing.T, objs objects) {
			d := get[appsv1.Deployment](t, objs, "Deployment", fullname)
			pod := d.Spec.Template
			c := pod.Spec.Containers[0]
			for _, arg := range []string{"--resync-period=5m", "--usage-interval=15m", "--cluster-lease=2m", "--cluster-id=central-2", "--openstack-timeout=30s", "--max-concurrent-server-creates=20", "--zap-log-level=debug", "--zap-encoder=console"} {
				if !slices.Contains(c.Args, arg) {
					t.Errorf("args %v lack %s", c.Args, arg)
				}
			}
			if c.Image != "ghcr.io/whitehall-cloud/whitehall-operator:1.2.3" || c.ImagePullPolicy != corev1.PullAlways {
				t.Errorf("image %s %s", c.Image, c.ImagePullPolicy)
			}
			if pod.Spec.PriorityClassName != "system-cluster-critical" || pod.Spec.NodeSelector["role"] != "infra" ||
				pod.Annotations["team"] != "platform" || pod.Labels["tier"] != "control" || len(pod.Spec.Tolerations) != 1 {
				t.Errorf("pod placement/metadata not applied: %+v", pod)
			}
			if a := pod.Spec.Affinity; a == nil || a.NodeAffinity == nil || a.PodAntiAffinity != nil {
				t.Errorf("affinity %+v: a given affinity replaces the default anti-affinity", a)
			}
		},
	}, {
		name:   "admission policies off",
		reason: "admissionPolicies.enabled=false renders no ValidatingAdmissionPolicy nor binding, the DepartmentPolicy ones included",
		sets:   []string{"admissionPolicies.enabled=false"},
		check: func(t *testing.T, objs objects) {
			for _, kind := range []string{"ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding"} {
				if got := objs.ofKind(kind); len(got) > 0 {
					t.Errorf("%s rendered: %v", kind, got.keys())
				}
			}
		},
	}, {
		name:   "CRDs not installed",
		reason: "crds.install=false leaves the CRDs to whoever manages them",
		sets:   []string{"crds.install=false"},
		check: func(t *testing.T, objs objects) {
			if n := len(objs.ofKind("CustomResourceDefinition")); n != 0 {
				t.Errorf("%d CRDs rendered with crds.install=false", n)
			}
		},
	}, {
		name:   "CRDs not kept",
		reason: "crds.keep=false drops the resource policy, so uninstall deletes the CRDs",
		sets:   []string{"crds.keep=false"},
		check: func(t *testing.T, objs objects) {
			crds := objs.ofKind("CustomResourceDefinition")
			if len(crds) == 0 {
				t.Fatal("no CRDs")
			}
			for _, o := range crds {
				if _, ok := o.GetAnnotations()["helm.sh/resource-policy"]; ok {
					t.Errorf("CRD %s keeps the resource policy with crds.keep=false", o.GetName())
				}
			}
		},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			t.Log(tc.reason)
			tc.check(t, render(t, tc.sets...))
		})
	}
}

// TestRejectedValues checks that the schema and the templates refuse bad values with
// a message that names them.
func TestRejectedValues(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		reason string
		sets   []string
		want   string
	}{
		{"an unknown top-level key is a typo", []string{"replica=3"}, "replica"},
		{"an unknown nested key is a typo", []string{"image.tags=1.0"}, "tags"},
		{"the resync period is a Go duration", []string{"resyncPeriod=ten minutes"}, "resyncPeriod"},
		{"the log encoder is json or console", []string{"logFormat=xml"}, "logFormat"},
		{"at least one concurrent create", []string{"maxConcurrentServerCreates=0"}, "maxConcurrentServerCreates"},
		{"a NetworkPolicy needs the API server's addresses", []string{"networkPolicy.apiServer.cidrs=null"}, "networkPolicy.apiServer.cidrs is required"},
		{"a NetworkPolicy needs OpenStack's addresses", []string{"networkPolicy.openstack.endpoints=null"}, "networkPolicy.openstack.endpoints is required"},
		{"an OpenStack endpoint names its ports: never every port", []string{"networkPolicy.openstack.endpoints[0].ports=null"}, "ports"},
		{"a NetworkPolicy matches addresses, not host names", []string{"networkPolicy.openstack.endpoints[0].cidrs={keystone.example.org}"}, "cidrs"},
		{"the old single list of OpenStack CIDRs is gone", []string{"networkPolicy.openstack.cidrs={192.0.2.0/24}"}, "cidrs"},
		{"a privileged grantable role needs the allowance", []string{"grantableRoles={member,Admin}"}, "privileged role(s) Admin"},
		{"service is privileged too", []string{"grantableRoles={service}"}, "allowPrivilegedGrantableRoles=true"},
		{"Swift's ResellerAdmin is privileged too", []string{"grantableRoles={ResellerAdmin}"}, "privileged role(s) ResellerAdmin"},
		{"without creating a ServiceAccount one must be named", []string{"serviceAccount.create=false"}, "serviceAccount.name is required"},
		{"at least the default shard", []string{"shards=0"}, "shards"},
		{"at most 16 shards", []string{"shards=17"}, "shards"},
	} {
		t.Run(tc.reason, func(t *testing.T) {
			t.Parallel()
			_, err := renderErr(tc.sets...)
			if err == nil {
				t.Fatalf("rendered with %v; want an error mentioning %q", tc.sets, tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error does not mention %q:\n%v", tc.want, err)
			}
		})
	}
}

// TestDashboard checks the dashboard's panels and that every whitehall_ metric it
// queries is one the manager registers.
func TestDashboard(t *testing.T) {
	t.Parallel()
	var dash struct {
		Title  string `json:"title"`
		UID    string `json:"uid"`
		Panels []struct {
			Type    string `json:"type"`
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(readFile(t, filepath.Join(chartDir, "dashboards", "whitehall-operator.json")), &dash); err != nil {
		t.Fatalf("dashboard JSON: %v", err)
	}
	if dash.UID == "" || dash.Title == "" {
		t.Errorf("dashboard lacks uid or title")
	}
	var exprs []string
	for _, p := range dash.Panels {
		for _, tg := range p.Targets {
			exprs = append(exprs, tg.Expr)
		}
	}
	all := strings.Join(exprs, "\n")
	for _, want := range []struct{ reason, re string }{
		{"quota limit per department", `whitehall_quota_limit\{`},
		{"quota in use per department", `whitehall_quota_in_use\{`},
		{"active seasons", `whitehall_season_active`},
		{"OpenStack API latency", `histogram_quantile\(0\.\d+, sum by \(le[^)]*\) \(rate\(whitehall_openstack_request_duration_seconds_bucket`},
		{"OpenStack API error rate", `whitehall_openstack_requests_total\{code=~"0\|5\.\.\|429"\}`},
		{"reconcile errors", `controller_runtime_reconcile_errors_total`},
		{"test environment servers by status", `by \([^)]*status[^)]*\) \([^\n]*whitehall_testenvironment_servers`},
		{"cost by department this month", `sum by \(namespace, tenant, currency\) \(whitehall_usage_month_cost\{`},
		{"usage against quota over time", `rate\(whitehall_usage_vcpu_hours_total\{`},
	} {
		if !regexp.MustCompile(want.re).MatchString(all) {
			t.Errorf("no panel for %s (no expression matches %s)", want.reason, want.re)
		}
	}

	registered := registeredMetrics(t)
	for _, m := range regexp.MustCompile(`whitehall_[a-z_]+`).FindAllString(all, -1) {
		base := m
		for _, suffix := range []string{"_bucket", "_sum", "_count"} {
			if trimmed, ok := strings.CutSuffix(m, suffix); ok && registered[trimmed] {
				base = trimmed
			}
		}
		if !registered[base] {
			t.Errorf("the dashboard queries %s, which the manager does not register", m)
		}
	}
}

// registeredMetrics collects the metric names declared in the manager's source
// (prometheus Opts{Name: "whitehall_…"}).
func registeredMetrics(t *testing.T) map[string]bool {
	t.Helper()
	names := map[string]bool{}
	re := regexp.MustCompile(`Name:\s*"(whitehall_[a-z_]+)"`)
	for _, dir := range []string{"controllers", "internal"} {
		err := filepath.WalkDir(filepath.Join(repoRoot, dir), func(path string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
				return err
			}
			for _, m := range re.FindAllStringSubmatch(string(readFile(t, path)), -1) {
				names[m[1]] = true
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if len(names) == 0 {
		t.Fatal("found no whitehall_ metrics in controllers/ or internal/")
	}
	return names
}

// serviceMonitorEndpoints returns spec.endpoints of a rendered ServiceMonitor (its CRD
// types are not a dependency of this module).
func serviceMonitorEndpoints(t *testing.T, sm *unstructured.Unstructured) []any {
	t.Helper()
	if sm == nil {
		t.Fatal("no ServiceMonitor rendered")
	}
	eps, _, err := unstructured.NestedSlice(sm.Object, "spec", "endpoints")
	if err != nil {
		t.Fatal(err)
	}
	return eps
}

// grants reports whether one rule grants all the verbs on group/resource.
func grants(rules []rbacv1.PolicyRule, group, resource string, verbs ...string) bool {
	for _, r := range rules {
		if slices.Contains(r.APIGroups, group) && slices.Contains(r.Resources, resource) && isSubsetSlice(verbs, r.Verbs) {
			return true
		}
	}
	return false
}

func isSubsetSlice(sub, of []string) bool {
	for _, s := range sub {
		if !slices.Contains(of, s) {
			return false
		}
	}
	return true
}

func isSubset(sub, of map[string]string) bool {
	if len(sub) == 0 {
		return false
	}
	for k, v := range sub {
		if of[k] != v {
			return false
		}
	}
	return true
}
