// Package controllers wires the operator's controllers into a manager: Setup and
// SetupWith register the field indexes and one controller per kind, and CacheOptions
// say what the manager's cache keeps. It holds no reconcile logic of its own.
//
// # The map
//
// Each kind is one package, and a kind never imports another:
//
//	controllers/cloud             Cloud: admin credentials log in; the finalizer holds while Tenants name it
//	controllers/tenant            Tenant: project, people, network, service user, application credential
//	controllers/computequota      ComputeQuota: Nova, Neutron and Cinder quotas, baseline and peaks
//	controllers/testenvironment   TestEnvironment: servers burst up and torn down, TTL, scale subresource
//	controllers/peakseason        PeakSeason: the calendar's state and the capacity its peaks commit
//	controllers/departmentpolicy  DepartmentPolicy: what the namespaces it governs break, counted
//	controllers/usage             the usage reader: status.usage, the season windows, the UsageReport
//
// What the kinds share lives below them, in packages that import no kind:
//
//	controllers/frame    the reconcile frame: get, finalizer, steps, settle, one status write,
//	                     events, requeues, the fair work queue, watch predicates, metric hooks
//	controllers/access   how an object reaches OpenStack: the Cloud that admits its namespace,
//	                     the credentials, the project's identity and its service user
//	controllers/lookups  the look-ups several kinds make: a ready Tenant, the quota writer of a
//	                     Tenant, governing DepartmentPolicies, seasons, field indexes, and what
//	                     each watch passes on
//	controllers/shard    which namespaces this process works in (--shard), the hand-over of a
//	                     namespace from one shard to another
//
// The quota vocabulary (fields, limits, unlimited, peaks) is internal/quota; OpenStack is
// spoken only by internal/openstack. make lint (depguard) holds these walls.
//
// # Adding a kind
//
//  1. The API type in api/v1alpha1, with a StatusObject implementation (conditions.go)
//     and CEL rules for every field a hostile neighbour could misuse; make generate
//     manifests chart-sync.
//  2. A package controllers/<kind> with a Reconciler whose Reconcile calls
//     frame.Reconcile with a frame.Kind, its own Cloud interface (the narrow part of
//     *openstack.Cloud it needs), its metrics published through the Kind's Published and
//     Forget hooks, and its unit tests.
//  3. Whatever it must find of other kinds goes through lookups (add an index or a
//     look-up there, never import the other kind); how it reaches OpenStack, through
//     access.
//  4. Wire it in setup.go (and a connector in Connectors if it talks to OpenStack), add
//     its package to the kind-walls rule in .golangci.yml, and its RBAC markers.
//  5. envtest specs for its validation and controller, an e2e spec on the dev cloud, and
//     its reference page under docs/, linked from the README's map.
package controllers
