// Package lookups holds the look-ups several kinds make of each other's objects: a
// ready Tenant, the ComputeQuota that writes a Tenant's quota, the DepartmentPolicies
// governing a namespace, PeakSeasons, the field indexes they use and the watch
// predicates and map functions that follow them.
// It imports the frame and internal/{policy,quota,season}, never a kind nor access.
package lookups
