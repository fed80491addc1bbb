package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

// A restart with the most extreme object of every kind that the API server admits (the
// longest strings, the most list items, the boundary durations, leap-day windows, the
// largest integers) must start and serve: one object Go cannot decode stops an
// informer, and then the whole operator, for every department.
var _ = Describe("decode: a restart with the worst admissible objects", Ordered, Label("decode"), func() {
	const (
		worstNS = "e2e-decode-worst" // no Cloud admits it: nothing reaches OpenStack
		plainNS = "e2e-decode-plain" // an ordinary department of the Cloud whitehall
		project = plainNS + "_after-restart"
	)
	var worst []map[string]any

	BeforeAll(func() {
		Expect(admin.DeleteOwnedProjects(ctx, project)).To(Succeed())
		kubectl("create", "namespace", worstNS)
		kubectl("label", "namespace", worstNS, "e2e-decode=worst")
		departmentNamespace(plainNS)
		worst = worstObjects(worstNS)
		for _, obj := range worst {
			applyServerSide(obj)
		}
	})

	It("starts, syncs every informer, and still reconciles an ordinary Tenant", func() {
		By("checking the API server kept every object as written")
		for _, obj := range worst {
			kubectl(getArgs(obj)...)
		}
		By("restarting the operator")
		log := restartManager()

		By("creating an ordinary Tenant in another namespace after the restart")
		apply(tenantYAML(plainNS, "after-restart", ""))
		kubectl("-n", plainNS, "wait", "--for=condition=Ready", "tenant/after-restart", "--timeout=180s")
		Expect(admin.FindProject(ctx, project)).NotTo(BeEmpty())

		By("changing every worst object's spec: each is reconciled by the restarted operator")
		for kind, change := range worstChanges {
			where := []string{kind, worstName(kind)}
			if kind != "departmentpolicy" && kind != "peakseason" {
				where = append(where, "-n", worstNS)
			}
			kubectl(append([]string{"patch", "--type=merge", "-p", change}, where...)...)
			Eventually(func() string {
				return kubectl(append([]string{"get", "-o", "jsonpath={.status.observedGeneration}"}, where...)...)
			}).Should(Equal("2"), "%s reconciled after the restart", kind)
		}
		Expect(kubectl("get", "departmentpolicy", "e2e-decode-worst", "-o", "jsonpath={.status.namespaces}")).To(Equal("1"))
		Expect(manager.ProcessState).To(BeNil(), "the operator is still running")
		logs, err := os.ReadFile(log)
		Expect(err).NotTo(HaveOccurred())
		for _, bad := range []string{"failed to list", "Informer to sync", "cannot unmarshal", "time: unknown unit", "panic"} {
			Expect(string(logs)).NotTo(ContainSubstring(bad), "%s", log)
		}
	})

	AfterAll(func() {
		kubectl("-n", plainNS, "delete", "tenant", "after-restart", "--ignore-not-found", "--timeout=180s")
		for _, obj := range worst {
			kubectl(append([]string{"delete", "--ignore-not-found", "--timeout=120s"}, getArgs(obj)[1:]...)...)
		}
		kubectl("delete", "namespace", worstNS, plainNS, "--ignore-not-found", "--timeout=120s")
		Expect(admin.FindProject(ctx, project)).To(BeEmpty(), "the ordinary Tenant's project went with it")
	})
})

// worstChanges are spec changes, by kind, that keep each worst object at its extremes.
var worstChanges = map[string]string{
	"departmentpolicy": `{"spec": {"environments": {"maxReplicas": 499}}}`,
	"peakseason":       `{"spec": {"rampUp": "2159h"}}`,
	"tenant":           `{"spec": {"project": {"description": "changed"}}}`,
	"computequota":     `{"spec": {"baseline": {"compute": {"cores": 1}}}}`,
	"testenvironment":  `{"spec": {"replicas": 499}}`,
}

func worstName(kind string) string {
	switch kind {
	case "tenant", "computequota":
		return "worst"
	case "testenvironment":
		return strings.Repeat("e", 240)
	}
	return "e2e-decode-worst"
}

// restartManager stops the operator and starts it again until it has started its
// controllers, and returns its log. Another suite running on the same machine may hold
// the fixed metrics port for a moment: a start that finds it taken is tried again.
func restartManager() string {
	for range 20 {
		stopManager(os.Interrupt)
		startManager()
		log := managerLogName()
		var started string
		Eventually(func() string {
			data, _ := os.ReadFile(log)
			started = string(data)
			return started
		}).Should(Or(ContainSubstring("Starting workers"), ContainSubstring("address already in use")))
		if !strings.Contains(started, "address already in use") {
			return log
		}
	}
	Fail("the operator never got its metrics port")
	return ""
}

// managerLogName is the log of the operator now running.
func managerLogName() string {
	return filepath.Join(repoRoot, ".local", "e2e", fmt.Sprintf("manager-%d.log", starts))
}

// applyServerSide applies obj with kubectl --server-side: client-side apply would copy
// it into an annotation, which is limited to 256 KiB.
func applyServerSide(obj map[string]any) {
	data, err := json.Marshal(obj)
	Expect(err).NotTo(HaveOccurred())
	path := filepath.Join(GinkgoT().TempDir(), "worst.json")
	Expect(os.WriteFile(path, data, 0o644)).To(Succeed())
	kubectl("apply", "--server-side", "--field-manager", "e2e-decode", "-f", path)
}

// getArgs are kubectl's arguments to get obj.
func getArgs(obj map[string]any) []string {
	meta := obj["metadata"].(map[string]any)
	args := []string{"get", strings.ToLower(obj["kind"].(string)), meta["name"].(string), "-o", "name"}
	if ns, ok := meta["namespace"]; ok {
		args = append(args, "-n", ns.(string))
	}
	return args
}

// The extremes each schema allows.
const (
	maxInt64   = int64(9223372036854775807)
	maxDecimal = "999999999999.999999999999"
	// The longest spellings of the longest durations each field admits.
	yearTTL = "8759h59m59.999999999s"
)

func repeat(s string, n int) string { return strings.Repeat(s, n) }

// names are n distinct strings of length size.
func names(prefix string, n, size int) []any {
	out := make([]any, n)
	for i := range n {
		head := fmt.Sprintf("%s%03d", prefix, i)
		out[i] = head + repeat("x", size-len(head))
	}
	return out
}

func object(kind, ns, name string, spec map[string]any) map[string]any {
	meta := map[string]any{"name": name}
	if ns != "" {
		meta["namespace"] = ns
	}
	return map[string]any{"apiVersion": "whitehall.cloud/v1alpha1", "kind": kind, "metadata": meta, "spec": spec}
}

// worstObjects are the most extreme object of every kind, in namespace ns.
func worstObjects(ns string) []map[string]any {
	// The policy comes last: it selects the worst namespace and requires labels its
	// objects lack, so once the admission policy sees it, it would refuse them. Added
	// after them, it reports their breaches (as a policy added later does).
	return []map[string]any{
		worstCloud(), worstSeason(), worstTenant(ns), worstQuota(ns), worstEnvironment(ns), worstReport(), worstPolicy(),
	}
}

func worstCloud() map[string]any {
	return object("Cloud", "", "e2e-decode-worst", map[string]any{
		"credentialsSecretRef": map[string]any{"name": repeat("s", 253), "cloudName": repeat("c", 255)},
		"namespaceSelector":    map[string]any{"matchLabels": map[string]any{"e2e-decode": "no-such-namespace"}},
		"protectedProjects":    names("p", 64, 64),
		"tariff":               map[string]any{"currency": "BHD", "vcpuHour": maxDecimal, "ramGiBHour": maxDecimal, "volumeGiBMonth": maxDecimal},
		"timeZone":             "America/Argentina/ComodRivadavia",
	})
}

func worstLimits() map[string]any {
	limits := func(keys ...string) map[string]any {
		m := map[string]any{}
		for _, k := range keys {
			m[k] = maxInt64
		}
		return m
	}
	return map[string]any{
		"compute":      limits("cores", "instances", "ramMiB", "serverGroups", "serverGroupMembers", "keyPairs", "metadataItems"),
		"network":      limits("networks", "subnets", "ports", "routers", "floatingIPs", "securityGroups", "securityGroupRules"),
		"blockStorage": limits("volumes", "gigabytes", "snapshots", "backups", "backupGigabytes"),
	}
}

func worstPolicy() map[string]any {
	return object("DepartmentPolicy", "", "e2e-decode-worst", map[string]any{
		"namespaceSelector": map[string]any{"matchLabels": map[string]any{"e2e-decode": "worst"}},
		"requiredLabels":    names("example.com/l", 32, 317),
		"roles":             names("r", 32, 255),
		"quotaCeiling":      worstLimits(),
		"environments": map[string]any{
			"flavors": names("f", 64, 255), "images": names("i", 64, 255), "maxReplicas": 500, "maxTTL": "8760h",
		},
		"networks": map[string]any{"pool": "fd00::/8", "prefixLength": 128},
	})
}

func worstSeason() map[string]any {
	windows := []any{
		map[string]any{"yearly": map[string]any{"from": "02-29", "to": "03-01"}},
		map[string]any{"yearly": map[string]any{"from": "12-31", "to": "01-01"}},
		map[string]any{"from": "2028-02-29T00:00:00", "to": "9999-12-31T23:59:59"},
		map[string]any{"from": "0000-01-01T00:00:00", "to": "0000-01-01T00:00:01"},
		// The hour the clocks skip and the hour they repeat in the zone.
		map[string]any{"from": "2027-10-03T02:30:00", "to": "2028-04-02T02:30:00"},
	}
	for i := len(windows); i < 32; i++ { // the last day of every long month, to a leap day
		month := []string{"01", "03", "05", "07", "08", "10", "12"}[i%7]
		windows = append(windows, map[string]any{"yearly": map[string]any{"from": month + "-31", "to": "02-29"}})
	}
	return object("PeakSeason", "", "e2e-decode-worst", map[string]any{
		"timeZone": "Australia/Lord_Howe", "windows": windows, "rampUp": "2160h", "rampDown": "2159h59m59.999999999s",
	})
}

func worstTenant(ns string) map[string]any {
	assignments := make([]any, 64)
	for i := range assignments {
		assignments[i] = map[string]any{
			"group": fmt.Sprintf("g%03d", i) + repeat("g", 251), "groupDomain": repeat("d", 64), "roles": names("r", 32, 255),
		}
	}
	return object("Tenant", ns, "worst", map[string]any{
		"cloudRef": map[string]any{"name": "whitehall"},
		"project": map[string]any{
			"name": repeat("é", 64), "domain": repeat("d", 64), "description": repeat("🙂", 1024), "tags": names("t", 80, 255),
		},
		"roleAssignments": assignments,
		"network": map[string]any{
			"cidr": "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ff00/120", "externalNetwork": repeat("n", 255),
			"dnsNameservers": []any{"2001:0db8:0000:0000:0000:0000:0000:0001", "255.255.255.255", "::", "0.0.0.0", "fe80::1"},
		},
		"applicationCredential": map[string]any{
			"secretName": repeat("a", 253), "roles": names("r", 16, 255),
			// the longest rotateBefore that leaves a gracePeriod between rotations
			"expiresAfter": "8760h", "rotateBefore": "8592h", "gracePeriod": "168h",
		},
		"deletionPolicy": "Retain",
	})
}

func worstQuota(ns string) map[string]any {
	peaks := make([]any, 16)
	for i := range peaks {
		peak := worstLimits()
		peak["season"] = names("s", 16, 253)[i]
		peaks[i] = peak
	}
	return object("ComputeQuota", ns, "worst", map[string]any{
		"tenantRef": map[string]any{"name": repeat("t", 253)}, "baseline": worstLimits(), "peaks": peaks,
	})
}

func worstEnvironment(ns string) map[string]any {
	metadata := map[string]any{}
	for _, k := range names("k", 64, 255) {
		metadata[k.(string)] = repeat("v", 255)
	}
	networks := make([]any, 8)
	for i := range networks {
		networks[i] = map[string]any{"name": names("n", 8, 255)[i]}
	}
	peaks := make([]any, 16)
	for i := range peaks {
		peaks[i] = map[string]any{"season": names("s", 16, 253)[i], "replicas": 500}
	}
	return object("TestEnvironment", ns, repeat("e", 240), map[string]any{
		"tenantRef": map[string]any{"name": "worst"}, "replicas": 500, "serverGroupPolicy": "soft-anti-affinity",
		"peaks": peaks, "ttl": yearTTL,
		"template": map[string]any{
			"flavor": repeat("f", 255), "image": repeat("i", 255), "networks": networks,
			"securityGroups": names("g", 16, 255), "keyName": repeat("k", 255), "userData": repeat("#", 65535),
			"metadata": metadata, "availabilityZone": repeat("z", 255),
		},
	})
}

func worstReport() map[string]any {
	departments := make([]any, 1000)
	for i := range departments {
		departments[i] = map[string]any{
			"namespace": fmt.Sprintf("n%03d", i) + repeat("n", 59), "tenant": repeat("t", 253), "projectID": repeat("0", 64),
			"costCode": repeat("c", 63), "vcpuHours": repeat("9", 32), "cost": repeat("9", 29) + ".99", "currency": "BHD",
		}
	}
	return object("UsageReport", "", "9999-12.e2e-decode-worst", map[string]any{
		"month": "9999-12", "cloud": "e2e-decode-worst", "timeZone": "Pacific/Kiritimati",
		"tariff":   map[string]any{"currency": "BHD", "vcpuHour": maxDecimal},
		"currency": "BHD", "departmentCount": 2147483647, "departments": departments,
		"totals": []any{map[string]any{"costCode": repeat("c", 63), "departments": 2147483647, "cost": repeat("9", 32)}},
		"total":  repeat("9", 32),
	})
}
