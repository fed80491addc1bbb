package quota

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"
)

func TestFieldsTable(t *testing.T) {
	seen := map[string]bool{}
	for f := range numFields {
		e := fields[f]
		if e.service == "" || e.name == "" || e.openstack == "" || e.slot == nil {
			t.Errorf("quota field %d has no entry in the table: %+v", f, e)
		}
		if seen[f.String()] {
			t.Errorf("%s appears twice", f)
		}
		seen[f.String()] = true
		if got, ok := FieldNamed(f.Service(), f.Name()); !ok || got != f {
			t.Errorf("FieldNamed(%s, %s) = %v, %v", f.Service(), f.Name(), got, ok)
		}
	}
	if got := FieldsOf(NetworkService); len(got) != 7 || got[2] != Ports {
		t.Errorf("FieldsOf(network) = %v", got)
	}
	if _, ok := FieldNamed(ComputeService, "ports"); ok {
		t.Error("FieldNamed finds a field of another service")
	}
}

// TestSlots checks that every quota field has its place in the API's QuotaSet, under the
// JSON name the table gives it, and that the two conversions agree.
func TestSlots(t *testing.T) {
	all := Limits{}
	for _, service := range Services {
		for i, f := range FieldsOf(service) {
			all[f] = int64(i) - 1
			got, err := json.Marshal(ToAPI(Limits{f: 7}))
			if err != nil {
				t.Fatal(err)
			}
			if want := fmt.Sprintf(`{"%s":{"%s":7}}`, service, f.Name()); string(got) != want {
				t.Errorf("%s is %s in a QuotaSet, want %s", f, got, want)
			}
		}
	}
	if len(all) != int(numFields) {
		t.Errorf("%d quota fields in the services, %d in the table", len(all), numFields)
	}
	if diff := cmp.Diff(all, FromAPI(ToAPI(all))); diff != "" {
		t.Errorf("FromAPI(ToAPI(x)) (-x +got):\n%s", diff)
	}
	if got := FromAPI(ToAPI(nil)); len(got) != 0 {
		t.Errorf("an empty QuotaSet has limits %v", got)
	}
}

// TestEveryAPIFieldIsInTheTable checks the table against the API: a limit added to a
// QuotaSet part without a row would be neither written nor bounded by a policy.
func TestEveryAPIFieldIsInTheTable(t *testing.T) {
	parts := reflect.TypeFor[whv1.QuotaSet]()
	if parts.NumField() != len(Services) {
		t.Errorf("QuotaSet has %d parts, %d services", parts.NumField(), len(Services))
	}
	for i := range parts.NumField() {
		part := parts.Field(i)
		service := Service(jsonName(part))
		limits := part.Type.Elem()
		var names []string
		for j := range limits.NumField() {
			names = append(names, jsonName(limits.Field(j)))
		}
		var ours []string
		for _, f := range FieldsOf(service) {
			ours = append(ours, f.Name())
		}
		if diff := cmp.Diff(names, ours); diff != "" {
			t.Errorf("%s: the API's fields (-) and the table's (+):\n%s", service, diff)
		}
	}
}

func jsonName(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
	return name
}
