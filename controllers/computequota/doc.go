// Package computequota reconciles ComputeQuota: it keeps a project's quota in OpenStack
// at its baseline overlaid with the peaks of the seasons active now, and wakes at the
// next season boundary. Each reconcile observes what OpenStack has, plans the limits
// that differ, and writes them; one ComputeQuota per Tenant writes, DepartmentPolicies
// may withhold its raises, and deleting it returns the project to its baseline.
package computequota
