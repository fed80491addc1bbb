package main

import (
	"flag"
	"fmt"
	"slices"
	"strings"

	"github.com/whitehall-cloud/whitehall-operator/controllers"
)

// privilegedRoles are Keystone roles that reach beyond the project they are granted on:
// admin is cloud-wide in most policies, service is what OpenStack's own services act
// as, and Swift's ResellerAdmin reads every account. A Tenant that could grant one would
// hand a department another department's data. Compared case-insensitively, as
// Keystone compares role names.
var privilegedRoles = []string{"admin", "service", "reselleradmin"}

// grantableFlags are --grantable-roles and the allowance it needs for a privileged role.
type grantableFlags struct {
	roles           string
	allowPrivileged bool
}

func (g *grantableFlags) bind(fs *flag.FlagSet) {
	fs.StringVar(&g.roles, "grantable-roles", strings.Join(controllers.DefaultGrantableRoles, ","),
		"Comma-separated Keystone roles a Tenant may grant (role assignments and application credentials). "+
			"A privileged role ("+strings.Join(privilegedRoles, ", ")+") also needs --allow-privileged-grantable-roles.")
	fs.BoolVar(&g.allowPrivileged, "allow-privileged-grantable-roles", false,
		"Let --grantable-roles list privileged roles ("+strings.Join(privilegedRoles, ", ")+
			"): any department could then grant itself rights beyond its own project.")
}

// grantableRoles returns the roles a Tenant may grant, or why the manager must not
// start with them.
func (g grantableFlags) grantableRoles() ([]string, error) {
	roles := splitList(g.roles)
	if len(roles) == 0 {
		return nil, fmt.Errorf("--grantable-roles is empty: a Tenant could grant no role at all")
	}
	var privileged []string
	for _, r := range roles {
		if slices.Contains(privilegedRoles, strings.ToLower(r)) {
			privileged = append(privileged, r)
		}
	}
	if len(privileged) > 0 && !g.allowPrivileged {
		return nil, fmt.Errorf("--grantable-roles lists the privileged role(s) %s: every department could grant itself rights "+
			"beyond its own project; remove them, or also pass --allow-privileged-grantable-roles if that is really meant",
			strings.Join(privileged, ", "))
	}
	return roles, nil
}
