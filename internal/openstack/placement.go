package openstack

import (
	"context"
	"fmt"
	"math"
)

// Capacity is what a cloud's compute can hold, as Placement reports it.
type Capacity struct {
	Cores  int64
	RAMMiB int64
}

// Placement reads the cloud's capacity.
type Placement interface {
	// Capacity sums, over every resource provider, (total − reserved) × allocation ratio
	// of VCPU and MEMORY_MB.
	Capacity(ctx context.Context) (Capacity, error)
	// Allocated sums, over every resource provider, the VCPU and MEMORY_MB that
	// allocations (servers) use: GET /resource_providers/{uuid}/usages.
	Allocated(ctx context.Context) (Capacity, error)
}

var _ Placement = (*Cloud)(nil)

type inventory struct {
	Total           int64   `json:"total"`
	Reserved        int64   `json:"reserved"`
	AllocationRatio float64 `json:"allocation_ratio"`
}

// usable is what a provider offers of one resource class.
func (i inventory) usable() int64 {
	return int64(math.Floor(float64(i.Total-i.Reserved) * i.AllocationRatio))
}

// Capacity implements Placement: one call for the providers, one per provider.
func (c *Cloud) Capacity(ctx context.Context) (_ Capacity, err error) {
	defer c.convert(&err)
	var out Capacity
	err = c.eachProvider(ctx, "inventories", func(uuid string, get func(any) error) error {
		var inv struct {
			Inventories map[string]inventory `json:"inventories"`
		}
		if err := get(&inv); err != nil {
			return fmt.Errorf("reading inventory of resource provider %s: %w", uuid, err)
		}
		if v, ok := inv.Inventories["VCPU"]; ok {
			out.Cores += v.usable()
		}
		if v, ok := inv.Inventories["MEMORY_MB"]; ok {
			out.RAMMiB += v.usable()
		}
		return nil
	})
	return out, err
}

// Allocated implements Placement: one call for the providers, one per provider.
func (c *Cloud) Allocated(ctx context.Context) (_ Capacity, err error) {
	defer c.convert(&err)
	var out Capacity
	err = c.eachProvider(ctx, "usages", func(uuid string, get func(any) error) error {
		var u struct {
			Usages map[string]int64 `json:"usages"`
		}
		if err := get(&u); err != nil {
			return fmt.Errorf("reading usages of resource provider %s: %w", uuid, err)
		}
		out.Cores += u.Usages["VCPU"]
		out.RAMMiB += u.Usages["MEMORY_MB"]
		return nil
	})
	return out, err
}

// eachProvider lists the resource providers and hands each one's sub-resource (its
// inventories, its usages) to read; a provider gone between the two calls is skipped.
func (c *Cloud) eachProvider(ctx context.Context, sub string, read func(uuid string, get func(any) error) error) error {
	sc, err := c.service("placement")
	if err != nil {
		return err
	}
	var providers struct {
		ResourceProviders []struct {
			UUID string `json:"uuid"`
		} `json:"resource_providers"`
	}
	if _, err := sc.Get(ctx, sc.ServiceURL("resource_providers"), &providers, nil); err != nil {
		return fmt.Errorf("listing resource providers: %w", err)
	}
	for _, rp := range providers.ResourceProviders {
		var notFound bool
		err := read(rp.UUID, func(into any) error {
			_, err := sc.Get(ctx, sc.ServiceURL("resource_providers", rp.UUID, sub), into, nil)
			notFound = IsNotFound(err)
			return err
		})
		if err != nil && !notFound {
			return err
		}
	}
	return nil
}
