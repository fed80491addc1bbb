package openstack

import (
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestNameCacheSharesConcurrentMisses(t *testing.T) {
	n := newNameCache(time.Minute)
	var lookups atomic.Int32
	release := make(chan struct{})
	var wg sync.WaitGroup
	var started atomic.Int32
	ids := make([]string, 10)
	for i := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			started.Add(1)
			id, err := n.resolve("group/default/devops", func() (string, error) {
				lookups.Add(1)
				<-release
				return "g-1", nil
			})
			if err != nil {
				t.Error(err)
			}
			ids[i] = id
		}()
	}
	// The lookup holds until every caller has started: whether a late one joins the
	// lookup in flight or finds its answer cached, Keystone is asked once.
	for started.Load() < int32(len(ids)) {
		runtime.Gosched()
	}
	close(release)
	wg.Wait()
	if got := lookups.Load(); got != 1 {
		t.Errorf("10 concurrent misses made %d lookups, want 1", got)
	}
	for _, id := range ids {
		if id != "g-1" {
			t.Fatalf("ids %v, want g-1 for every caller", ids)
		}
	}

	// A failed lookup is not cached: the next caller asks again.
	if _, err := n.resolve("role/member", func() (string, error) { return "", errors.New("503") }); err == nil {
		t.Fatal("want the lookup's error")
	}
	if id, err := n.resolve("role/member", func() (string, error) { return "r-1", nil }); err != nil || id != "r-1" {
		t.Fatalf("after a failure: %q, %v; want r-1", id, err)
	}
}
