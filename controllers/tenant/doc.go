// Package tenant is the Tenant controller: a department's Keystone project, its role
// assignments, service user, application credential and network range, and its
// deletion. It builds on frame, access and lookups; it never imports another kind.
package tenant
