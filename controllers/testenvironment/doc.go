// Package testenvironment is the TestEnvironment controller: a burst of servers in a
// Tenant's project, raised for peak seasons and bounded by DepartmentPolicies, with
// its TTL, its failures' back-off and its metrics. It builds on frame, access and
// lookups; it never imports another kind.
package testenvironment
