package openstack

import (
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"
	"golang.org/x/sync/singleflight"
)

// computeMicroversion is the Nova API version the operator speaks: 2.60 lets a server
// boot with no network ("none"), tags and multiattach; every supported release has it.
const computeMicroversion = "2.60"

// Cloud is one authenticated OpenStack cloud. It implements every per-service interface
// of this package; each controller takes only the narrow one it needs.
type Cloud struct {
	provider  *gophercloud.ProviderClient
	endpoints gophercloud.EndpointOpts
	routes    *serviceRoutes

	identity   *gophercloud.ServiceClient
	servicesMu sync.Mutex // guards services
	services   map[string]*gophercloud.ServiceClient

	names *nameCache
	// login is how this cloud was logged in to: its endpoint, and what to log in again
	// as another user.
	login *login
	// user is the user the cloud is logged in as, once known.
	user currentUser
	// project is the project its token is scoped to, once known.
	project scopedProject
	// view serves reads at rest of an admin login from bulk listings (bulkview.go);
	// nil for a service user's login, whose reads are all live.
	view *BulkView
}

func newCloud(provider *gophercloud.ProviderClient, eo gophercloud.EndpointOpts, routes *serviceRoutes) (*Cloud, error) {
	identity, err := openstack.NewIdentityV3(provider, eo)
	if err != nil {
		return nil, fmt.Errorf("identity endpoint: %w", err)
	}
	routes.add(identity.Endpoint, "identity")
	return &Cloud{
		provider:  provider,
		endpoints: eo,
		routes:    routes,
		identity:  identity,
		services:  map[string]*gophercloud.ServiceClient{},
		names:     newNameCache(10 * time.Minute),
	}, nil
}

// service returns the client of one service type, finding its endpoint in the catalog
// the first time it is needed: a Tenant that never touches Cinder never looks it up.
func (c *Cloud) service(kind string) (*gophercloud.ServiceClient, error) {
	c.servicesMu.Lock()
	defer c.servicesMu.Unlock()
	if sc, ok := c.services[kind]; ok {
		return sc, nil
	}
	var (
		sc  *gophercloud.ServiceClient
		err error
	)
	switch kind {
	case "compute":
		sc, err = openstack.NewComputeV2(c.provider, c.endpoints)
		if sc != nil {
			sc.Microversion = computeMicroversion
		}
	case "network":
		sc, err = openstack.NewNetworkV2(c.provider, c.endpoints)
	case "block-storage":
		sc, err = openstack.NewBlockStorageV3(c.provider, c.endpoints)
	case "image":
		sc, err = openstack.NewImageV2(c.provider, c.endpoints)
	case "placement":
		sc, err = openstack.NewPlacementV1(c.provider, c.endpoints)
	case "object-store":
		sc, err = openstack.NewObjectStorageV1(c.provider, c.endpoints)
		if sc != nil {
			// Other projects' accounts are read too (the deletion check): count them
			// under object-store, not "other".
			if i := strings.Index(sc.Endpoint, "/v1/"); i >= 0 {
				c.routes.add(sc.Endpoint[:i+len("/v1/")], kind)
			}
		}
	default:
		return nil, fmt.Errorf("unknown service %q", kind)
	}
	if err != nil {
		return nil, fmt.Errorf("no %s endpoint in the catalog: %w", kind, err)
	}
	c.routes.add(sc.Endpoint, kind)
	c.services[kind] = sc
	return sc, nil
}

// nameCache remembers name-to-ID lookups of things that rarely change (domains, roles,
// groups, users), so a steady-state reconcile does not repeat them.
type nameCache struct {
	ttl     time.Duration
	mu      sync.Mutex
	entries map[string]cachedID
	// inflight makes concurrent misses of one key share a single lookup: ten reconciles
	// starting together ask Keystone once, not ten times.
	inflight singleflight.Group
}

type cachedID struct {
	id      string
	expires time.Time
}

func newNameCache(ttl time.Duration) *nameCache {
	return &nameCache{ttl: ttl, entries: map[string]cachedID{}}
}

func (n *nameCache) get(key string) (string, bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	e, ok := n.entries[key]
	if !ok || time.Now().After(e.expires) {
		return "", false
	}
	return e.id, true
}

func (n *nameCache) put(key, id string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.entries[key] = cachedID{id: id, expires: time.Now().Add(n.ttl)}
}

// resolve returns the cached ID for key, or runs lookup and caches what it finds.
func (n *nameCache) resolve(key string, lookup func() (string, error)) (string, error) {
	if id, ok := n.get(key); ok {
		return id, nil
	}
	v, err, _ := n.inflight.Do(key, func() (any, error) {
		if id, ok := n.get(key); ok { // answered while this caller waited
			return id, nil
		}
		id, err := lookup()
		if err != nil {
			return "", err
		}
		n.put(key, id)
		return id, nil
	})
	if err != nil {
		return "", err
	}
	return v.(string), nil
}
