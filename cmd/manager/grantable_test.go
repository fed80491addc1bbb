package main

import (
	"flag"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestGrantableRoles checks that the manager refuses to start when --grantable-roles
// lists a privileged role, in any casing, unless --allow-privileged-grantable-roles
// says so, and that the message names the role and the flag.
func TestGrantableRoles(t *testing.T) {
	for _, tc := range []struct {
		name    string
		args    []string
		want    []string
		wantErr []string // substrings of the error; nil means none
	}{
		{"default", nil, []string{"member", "reader"}, nil},
		{"ordinary roles, spaces trimmed", []string{"--grantable-roles= member , load-balancer_member,reader"},
			[]string{"member", "load-balancer_member", "reader"}, nil},
		{"empty", []string{"--grantable-roles= , "}, nil, []string{"--grantable-roles is empty"}},
		{"admin", []string{"--grantable-roles=member,admin"}, nil,
			[]string{"privileged role(s) admin:", "--allow-privileged-grantable-roles"}},
		{"service", []string{"--grantable-roles=service"}, nil, []string{"privileged role(s) service:"}},
		{"any casing", []string{"--grantable-roles=Admin,SERVICE,ResellerAdmin,member"}, nil,
			[]string{"privileged role(s) Admin, SERVICE, ResellerAdmin:"}},
		{"a role that only contains admin is not admin", []string{"--grantable-roles=project-admin-reader"},
			[]string{"project-admin-reader"}, nil},
		{"allowed explicitly", []string{"--grantable-roles=member,admin", "--allow-privileged-grantable-roles"},
			[]string{"member", "admin"}, nil},
		{"the allowance does not excuse an empty list", []string{"--grantable-roles=", "--allow-privileged-grantable-roles"},
			nil, []string{"--grantable-roles is empty"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var g grantableFlags
			fs := flag.NewFlagSet("manager", flag.ContinueOnError)
			g.bind(fs)
			if err := fs.Parse(tc.args); err != nil {
				t.Fatal(err)
			}
			got, err := g.grantableRoles()
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("roles (-want +got):\n%s", diff)
			}
			if tc.wantErr == nil {
				if err != nil {
					t.Errorf("unexpected error: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("no error; want one saying %q", tc.wantErr)
			}
			for _, s := range tc.wantErr {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not say %q", err, s)
				}
			}
		})
	}
}
