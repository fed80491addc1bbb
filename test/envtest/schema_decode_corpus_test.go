package envtest

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
	"time"

	. "github.com/onsi/gomega"
	authenticationv1 "k8s.io/api/authentication/v1"
	apiextv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/yaml"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"
	"github.com/whitehall-cloud/whitehall-operator/controllers/lookups"
	"github.com/whitehall-cloud/whitehall-operator/internal/policy"
	"github.com/whitehall-cloud/whitehall-operator/internal/season"
	"github.com/whitehall-cloud/whitehall-operator/internal/usage"
)

// valueClass is a kind of spelling the API server checks (a format, a pattern, a rule)
// and Go parses: the spellings to feed a field of that class, the first one a value that
// must be admitted, and the parse the controllers run on the value as stored (the typed
// decode, which every field gets, comes first).
type valueClass struct {
	name      string
	good      any
	spellings []any
	parse     func(value any, typed runtime.Object) error
}

func (c *valueClass) corpus() []any { return append([]any{c.good}, c.spellings...) }

// The patterns of the CRDs, as generated, that each class covers.
const (
	durationPattern  = `^([0-9]+(\.[0-9]+)?(ns|us|ms|s|m|h))+$`
	localTimePattern = `^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T([01]\d|2[0-3]):[0-5]\d:[0-5]\d$`
	monthDayPattern  = `^(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$`
	timeZonePattern  = `^[A-Za-z0-9_+\-]+(/[A-Za-z0-9_+\-]+)*$`
	decimalPattern   = `^[0-9]{1,12}(\.[0-9]{1,12})?$`
	currencyPattern  = `^[A-Z]{3}$`
	monthPattern     = `^[0-9]{4}-(0[1-9]|1[0-2])$`
	datePattern      = `^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$`
	factorPattern    = `^([1-9][0-9]?(\.[0-9]{1,2})?|100(\.0{1,2})?)$`
	keystonePattern  = `^[^,/]+$`
	// metav1.Condition's own.
	reasonPattern = `^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$`
	typePattern   = `^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$`
)

// classify finds the class of a field; nil when none fits, which fails the test.
func classify(s apiextv1.JSONSchemaProps) *valueClass {
	var c *valueClass
	switch {
	case s.Type == "integer" && (s.Format == "int32" || s.Format == "int64"):
		c = integerClass(s)
	case s.Type != "string":
		return nil
	case s.Format == "duration" || s.Pattern == durationPattern:
		c = durationClass
	case s.Format == "date-time":
		c = dateTimeClass
	case s.Format != "":
		return nil
	case s.Pattern == "":
		c = ruleClass(s)
	default:
		c = patternClasses[s.Pattern]
	}
	if c == nil {
		return nil
	}
	if s.Default != nil { // a field whose other rules need its default (expiresAfter)
		copied := *c
		Expect(json.Unmarshal(s.Default.Raw, &copied.good)).To(Succeed())
		c = &copied
	}
	return c
}

// ruleClass is a string checked by a CEL rule only.
func ruleClass(s apiextv1.JSONSchemaProps) *valueClass {
	for _, rule := range s.XValidations {
		switch {
		case strings.Contains(rule.Rule, "isCIDR("):
			return cidrClass
		case strings.Contains(rule.Rule, "isIP("):
			return ipClass
		}
	}
	return nil
}

var durationClass = &valueClass{
	name: "duration", good: "1h",
	spellings: []any{"14d", "2w", "P14D", "PT1H", "1 day", "1 h", "9999999999h", "2562048h", "2562047h",
		"1.5h", "0s", "1H", "1Ms", " 1h", "1h ", "1h\n", "١h", "1e3h", "-1h", "+1h", ".5h", "1.h", "1µs", "1us",
		"0.000000001ns", "000000000000000000000000000001h", "99999999999999999999ns", "1h1h1h1h1h1h1h1h1h1h1h1h1h1h1h1h",
		"8760h0m0.000000001s", "9223372036854775807ns", "9223372036854775808ns", "1.99999999999999999999h"},
	parse: func(v any, _ runtime.Object) error { _, err := time.ParseDuration(v.(string)); return err },
}

var dateTimeClass = &valueClass{
	name: "date-time", good: "2027-04-01T00:00:00Z",
	spellings: []any{"2027-04-01t00:00:00z", "2027-04-01T00:00:00x5Z", "2027-04-01T00:00:00+99:99",
		"2027-04-01T00:00:00+24:00", "2027-04-01T23:59:59.5z", "2028-02-29T00:00:00Z", "2027-02-29T00:00:00Z",
		"2027-04-01T00:00:00", "2027-04-01 00:00:00Z", "0000-01-01T00:00:00Z", "9999-12-31T23:59:59Z",
		"2027-04-01T00:00:00,5Z", "2027-04-01T00:00:00.123456789123Z", "2027-04-01T24:00:00Z", "2027-04-01T00:00:60Z",
		"2027-04-01T00:00:00-00:00", "1735689600", "2027-04-01", "２０２７-04-01T00:00:00Z"},
	parse: func(v any, _ runtime.Object) error { _, err := time.Parse(time.RFC3339, v.(string)); return err },
}

var patternClasses = map[string]*valueClass{
	localTimePattern: {
		name: "local date-time", good: "2027-04-01T00:00:00",
		spellings: []any{"2027-02-29T00:00:00", "2028-02-29T00:00:00", "2100-02-29T00:00:00", "2000-02-29T00:00:00",
			"2027-04-31T00:00:00", "2027-04-01T24:00:00", "2027-04-01T23:59:60", "2027-04-01 00:00:00", "2027-04-01t00:00:00",
			"2027-04-01T00:00:00Z", "2027-04-01T00:00:00+01:00", "0000-01-01T00:00:00", "9999-12-31T23:59:59",
			"2027-03-28T01:30:00", "2027-10-31T01:30:00", "٢٠٢٧-04-01T00:00:00", "2027-04-01T00:00"},
		parse: compilesSeason,
	},
	monthDayPattern: {
		name: "month-day", good: "04-01",
		spellings: []any{"02-29", "02-30", "02-31", "04-31", "06-31", "11-31", "12-31", "12-32", "13-01", "00-01",
			"01-00", "4-1", "01-01 ", "０４-01", "١٢-01"},
		parse: compilesSeason,
	},
	timeZonePattern: {
		name: "time zone", good: "Europe/London",
		spellings: []any{"Europe/LONDON", "europe/london", "EUROPE/LONDON", "Local", "UTC", "utc", "Etc/GMT+5",
			"Etc/GMT-14", "Etc/GMT+13", "Mars/Base", "America/Argentina/Buenos_Aires", "EST5EDT", "Factory",
			"leapseconds", "posixrules", "GMT-0", "Europe/London/", "Europe//London", "US/Pacific-New", "+05:00",
			"Etc/UTC", "Asia/Calcutta", "Europe/Kyiv", "Europe/Kiev", "zone1970"},
		parse: func(v any, _ runtime.Object) error { _, err := season.LoadZone(v.(string)); return err },
	},
	decimalPattern: {
		name: "decimal", good: "0.021",
		spellings: []any{"1", "1.", "1.5e3", "999999999999.999999999999", "000000000000", "0", "-1", "1,5", "٣",
			"01.10", ".5", "1 ", "9999999999999", "1.0000000000001", "0x10", "1_000"},
		parse: parsesTariff,
	},
	currencyPattern: {
		name: "currency", good: "GBP",
		spellings: []any{"gbp", "XXX", "XTS", "GBPP", "£££", "JPY", "BHD", "ZZZ", "ＧＢＰ"},
		parse:     parsesTariff,
	},
	monthPattern: {
		name: "month", good: "2027-04",
		spellings: []any{"0000-01", "9999-12", "2027-13", "2027-00", "2027-4", "２０２７-04"},
		parse:     func(v any, _ runtime.Object) error { _, err := usage.ParseMonth(v.(string), time.UTC); return err },
	},
	factorPattern: {
		name: "factor", good: "2",
		spellings: []any{"1", "1.5", "99.99", "100", "100.0", "100.00", "100.5", "101", "0", "0.5", "01", "1.", "1.234", "1e2",
			"+2", " 2", "2 ", "٢", "２"},
		parse: func(v any, _ runtime.Object) error { _, err := policy.ParseFactor(v.(string)); return err },
	},
	datePattern: {
		name: "date", good: "2027-04-01",
		spellings: []any{"2027-02-29", "2028-02-29", "2100-02-29", "2000-02-29", "2027-04-31", "2027-13-01", "2027-00-10",
			"0000-01-01", "9999-12-31", "2027-4-1", "2027-04-01T00:00:00", "2027-04-01 ", "٢٠٢٧-04-01", "２０２７-04-01"},
		parse: func(v any, _ runtime.Object) error { _, err := season.ParseDate(v.(string)); return err },
	},
	`^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$`:                                  dnsSubdomainClass,
	`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`: dnsSubdomainClass,
	keystonePattern: {
		name: "keystone name", good: "x",
		spellings: []any{" ", "\t", "a\u0000b", "é", "😀", strings.Repeat("a", 64), "a,b", "a/b", "..", "\u202e"},
		parse:     func(any, runtime.Object) error { return nil }, // Keystone takes any string
	},
	reasonPattern: {
		name: "condition reason", good: "Ready",
		spellings: []any{"ready", "Ready:x", "Ready,", "Ready_", "R"},
		parse:     func(any, runtime.Object) error { return nil },
	},
	typePattern: {
		name: "condition type", good: "Ready",
		spellings: []any{"ready", "example.com/Ready", "a.b/c", "Ready-"},
		parse:     func(any, runtime.Object) error { return nil },
	},
}

// dnsSubdomainClass: a Secret the operator writes under this name.
var dnsSubdomainClass = &valueClass{
	name: "secret name", good: "creds",
	spellings: []any{"a..b", "a.-b", "a-.b", "A", "a_b", "-a", "a.b", "0", strings.Repeat("a", 253), "a" + strings.Repeat(".a", 126)},
	parse: func(v any, _ runtime.Object) error {
		if errs := validation.IsDNS1123Subdomain(v.(string)); len(errs) > 0 {
			return errors.New(strings.Join(errs, "; "))
		}
		return nil
	},
}

var cidrClass = &valueClass{
	name: "cidr", good: "10.20.0.0/24",
	spellings: []any{"10.20.0.1/24", "010.20.0.0/24", "10.20.0.0/024", "::ffff:10.20.0.0/120", "fe80::%eth0/64",
		"10.20.0.0/33", "0.0.0.0/0", "2001:db8::/32", "2001:DB8::/32", "10.20.0.0/ 24", " 10.20.0.0/24", "10.20.0.0",
		"10.20/16", "::/0"},
	parse: func(v any, _ runtime.Object) error {
		if _, err := netip.ParsePrefix(v.(string)); err != nil {
			return err
		}
		_, _, err := net.ParseCIDR(v.(string))
		return err
	},
}

var ipClass = &valueClass{
	name: "ip", good: "192.0.2.53",
	spellings: []any{"::1", "::ffff:192.0.2.1", "192.0.2.1%eth0", "fe80::1%eth0", "0192.0.2.1", "192.000.002.001",
		"1.2.3", "256.1.1.1", " 1.1.1.1", "2001:DB8::1"},
	parse: func(v any, _ runtime.Object) error {
		if _, err := netip.ParseAddr(v.(string)); err != nil {
			return err
		}
		if net.ParseIP(v.(string)) == nil {
			return fmt.Errorf("net.ParseIP refuses %q", v)
		}
		return nil
	},
}

// integerClass feeds numbers past the field's Go size, and spellings of integers that are
// not integer literals. The typed decode is the parse.
func integerClass(s apiextv1.JSONSchemaProps) *valueClass {
	good := int64(0)
	if s.Minimum != nil && *s.Minimum != 0 { // ofMonth: -23 to 23, never 0
		good = int64(*s.Minimum)
	}
	return &valueClass{
		name: "integer " + s.Format, good: good,
		spellings: []any{json.Number("2147483647"), json.Number("2147483648"), json.Number("-2147483649"),
			json.Number("9223372036854775807"), json.Number("9223372036854775808"), json.Number("-9223372036854775809"),
			json.Number("1.5"), json.Number("1e3"), json.Number("1.0"), json.Number("1e30")},
		parse: func(any, runtime.Object) error { return nil },
	}
}

// compilesSeason runs the season parser on a PeakSeason as the controller converts it.
func compilesSeason(_ any, typed runtime.Object) error {
	_, err := lookups.CompileSeason(typed.(*whv1.PeakSeason))
	return err
}

// parsesTariff runs the tariff parser on a Cloud's or a UsageReport's tariff.
func parsesTariff(_ any, typed runtime.Object) error {
	var t *whv1.Tariff
	switch o := typed.(type) {
	case *whv1.Cloud:
		t = o.Spec.Tariff
	case *whv1.UsageReport:
		t = o.Spec.Tariff
	}
	if t == nil {
		return errors.New("no tariff read back")
	}
	_, err := usage.ParseTariff(t.Currency, t.VCPUHour, t.RAMGiBHour, t.VolumeGiBMonth)
	return err
}

// approverPlaceholder stands in a seed for the suite's own user name, which an approval
// must carry.
const approverPlaceholder = "SUITE-USER"

// suiteUser is the user the suite's client is, as the API server says (SelfSubjectReview).
var suiteUser = sync.OnceValue(func() string {
	review := &authenticationv1.SelfSubjectReview{}
	Expect(k8s.Create(ctx, review)).To(Succeed())
	return review.Status.UserInfo.Username
})

// The seeds: for each kind, an object the API server admits, with one item in each list
// the walk goes into, so that setting one field leaves the rest valid.
var seedSpecs = map[string]string{
	"Cloud": `
credentialsSecretRef: {name: s, cloudName: c}
namespaceSelector: {}
tariff: {currency: GBP, vcpuHour: "1"}`,
	"ComputeQuota": `
tenantRef: {name: t}
baseline: {compute: {cores: 1}}
peaks: [{season: s, compute: {cores: 1}}]
approvals: [{season: s, compute: {cores: 1}, approvedBy: ` + approverPlaceholder + `, approvedAt: "2027-01-01T00:00:00Z"}]`,
	"DepartmentPolicy": `
namespaceSelector: {}
networks: {pool: 10.128.0.0/12}
peaks: {priority: 1}`,
	"Tenant": `
cloudRef: {name: c}
project: {tags: [t]}
network: {cidr: 10.20.0.0/24, dnsNameservers: [192.0.2.53]}
applicationCredential: {secretName: creds}`,
	"TestEnvironment": `
tenantRef: {name: t}
template: {flavor: f, image: i}
peaks: [{season: s, replicas: 1}]`,
	"UsageReport": `
cloud: c
month: "2027-04"
timeZone: Europe/London
tariff: {currency: GBP, vcpuHour: "1"}
totals: [{costCode: "", departments: 1}]`,
}

const seedConditions = `
conditions: [{type: Ready, status: "True", lastTransitionTime: "2027-01-01T00:00:00Z", reason: Ready, message: ""}]`

var seedStatuses = map[string]string{
	"ComputeQuota": `
pendingPeaks: [{season: s, compute: {cores: 1}}]
peakCapacity: [{season: s, verdict: AtRisk, cores: 1, window: {start: "2027-01-01T00:00:00Z", end: "2027-02-01T00:00:00Z"}}]`,
	"PeakSeason": `
currentWindow: {start: "2027-01-01T00:00:00Z", end: "2027-02-01T00:00:00Z"}
upcoming: [{at: "2027-02-01T00:00:00Z", active: false, rules: ["windows[0]: every year 01-01 to 02-01"]}]
lastWindow: {start: "2026-01-01T00:00:00Z", end: "2026-02-01T00:00:00Z", vcpuHours: "0", baselineVCPUHours: "0", extraVCPUHours: "0", departments: 0}
confirmation: {window: {start: "2027-01-01T00:00:00Z", end: "2027-02-01T00:00:00Z"}, grants: [{namespace: ns1, name: q, cores: 1, reason: Shared}]}`,
	"TestEnvironment": `
failures: [{name: e-0}]`,
	"Tenant": `
applicationCredential: {retiring: [{id: x, deleteAt: "2027-01-01T00:00:00Z"}]}`,
}

// seedObject is kind's seed named name; a PeakSeason gets a window of the kind the field
// is in (yearly, monthly, workingDays), a one-off window otherwise.
func seedObject(crd *apiextv1.CustomResourceDefinition, name string, path []string) *unstructured.Unstructured {
	kind := crd.Spec.Names.Kind
	spec, ok := seedSpecs[kind]
	if kind == "PeakSeason" {
		ok, spec = true, `windows: [{from: "2000-01-01T00:00:00", to: "2100-01-01T00:00:00"}]`
		switch at := strings.Join(path, "."); {
		case strings.Contains(at, "yearly"):
			spec = `windows: [{yearly: {from: "01-01", to: "02-01"}}]`
		case strings.Contains(at, "monthly"):
			spec = `windows: [{monthly: {from: 2, to: 3}}]`
		case strings.Contains(at, "ofMonth"):
			spec = `windows: [{workingDays: {count: 1, ofMonth: 1}}]`
		case strings.Contains(at, "workingDays"):
			spec = `windows: [{workingDays: {count: 1, before: "01-31"}}]`
		}
	}
	if kind == "PeakSeason" {
		spec += "\npriorities: [{departmentPolicy: p, priority: 1}]"
	}
	Expect(ok).To(BeTrue(), "no seed for %s: add one to seedSpecs", kind)
	u := &unstructured.Unstructured{Object: map[string]any{}}
	u.SetAPIVersion(crd.Spec.Group + "/" + crd.Spec.Versions[0].Name)
	u.SetKind(kind)
	u.SetName(name)
	if crd.Spec.Scope == apiextv1.NamespaceScoped {
		u.SetNamespace(decodeNamespace)
	}
	// An approval must name who writes it (config/admission/peak-approvals.yaml).
	u.Object["spec"] = parseSeed(strings.ReplaceAll(spec, approverPlaceholder, suiteUser()))
	return u
}

// nameUsageReport names a UsageReport for its month and a cloud of its own name, as the
// API server requires (YYYY-MM.<cloud>).
func nameUsageReport(u *unstructured.Unstructured) {
	if u.GetKind() != "UsageReport" {
		return
	}
	spec := u.Object["spec"].(map[string]any)
	spec["cloud"] = u.GetName()
	if month, ok := spec["month"].(string); ok {
		u.SetName(month + "." + u.GetName())
	}
}

func seedStatus(kind string) map[string]any {
	return parseSeed(seedConditions + seedStatuses[kind])
}

func parseSeed(doc string) map[string]any {
	m := map[string]any{}
	Expect(yaml.Unmarshal([]byte(doc), &m)).To(Succeed(), doc)
	return m
}
