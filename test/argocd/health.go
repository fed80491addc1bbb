// Package argocd runs the Argo CD health checks that docs/operations.md gives for the
// kinds, read from the argocd-cm snippet itself, so the documentation and the tests
// cannot drift apart.
package argocd

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"

	lua "github.com/yuin/gopher-lua"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

// Kinds are the kinds the operator reconciles; each needs a health check.
var Kinds = []string{"Cloud", "Tenant", "ComputeQuota", "PeakSeason", "DepartmentPolicy", "TestEnvironment"}

// keyPrefix is how argocd-cm names a kind's health check: <prefix><group>_<kind>.
const keyPrefix = "resource.customizations.health.whitehall.cloud_"

var yamlBlock = regexp.MustCompile("(?s)```yaml\n(.*?)```")

// ConfigMap is the argocd-cm snippet of docs/operations.md, parsed as Argo CD would.
func ConfigMap() (*corev1.ConfigMap, error) {
	_, self, _, _ := runtime.Caller(0)
	doc, err := os.ReadFile(filepath.Join(filepath.Dir(self), "..", "..", "docs", "operations.md"))
	if err != nil {
		return nil, err
	}
	for _, m := range yamlBlock.FindAllSubmatch(doc, -1) {
		var cm corev1.ConfigMap
		if err := yaml.Unmarshal(m[1], &cm); err != nil {
			return nil, fmt.Errorf("a yaml block of docs/operations.md: %w", err)
		}
		if cm.Kind == "ConfigMap" && cm.Name == "argocd-cm" {
			return &cm, nil
		}
	}
	return nil, fmt.Errorf("docs/operations.md has no argocd-cm ConfigMap")
}

// Script is the health check argocd-cm gives for kind, or an error when it has none.
func Script(kind string) (string, error) {
	cm, err := ConfigMap()
	if err != nil {
		return "", err
	}
	s, ok := cm.Data[keyPrefix+kind]
	if !ok || strings.TrimSpace(s) == "" {
		return "", fmt.Errorf("argocd-cm has no health check for %s", kind)
	}
	return s, nil
}

// Health runs script as Argo CD does, with the object (its JSON form, as in an
// unstructured.Unstructured) as the global obj, and returns hs.status and hs.message.
func Health(script string, obj map[string]any) (status, message string, err error) {
	L := lua.NewState()
	defer L.Close()
	L.SetGlobal("obj", toLua(L, obj))
	if err := L.DoString(script); err != nil {
		return "", "", err
	}
	hs, ok := L.Get(-1).(*lua.LTable)
	if !ok {
		return "", "", fmt.Errorf("the script returned %s, not a table", L.Get(-1).Type())
	}
	return lua.LVAsString(hs.RawGetString("status")), lua.LVAsString(hs.RawGetString("message")), nil
}

// toLua converts a JSON value (maps, slices, strings, numbers, booleans, nil) as Argo CD
// hands it to a script: objects and arrays become tables, arrays indexed from 1.
func toLua(L *lua.LState, v any) lua.LValue {
	switch v := v.(type) {
	case map[string]any:
		t := L.NewTable()
		for k, e := range v {
			t.RawSetString(k, toLua(L, e))
		}
		return t
	case []any:
		t := L.NewTable()
		for _, e := range v {
			t.Append(toLua(L, e))
		}
		return t
	case string:
		return lua.LString(v)
	case bool:
		return lua.LBool(v)
	case int64:
		return lua.LNumber(v)
	case int:
		return lua.LNumber(v)
	case float64:
		return lua.LNumber(v)
	default:
		return lua.LNil
	}
}
