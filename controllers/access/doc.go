// Package access is how an object reaches OpenStack: which Cloud's credentials a
// Tenant may use (Access), the connection made with them (CloudConnector), and the
// project identities (service user, identity store) the operator acts with.
// It imports the frame and internal/openstack, never a kind nor lookups.
package access
