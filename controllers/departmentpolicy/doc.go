// Package departmentpolicy reports, for each DepartmentPolicy, how many namespaces it
// governs and how many existing objects there break it (status and the
// whitehall_policy_violations metric). It changes nothing: the governed kinds' own
// controllers enforce the policy.
package departmentpolicy
