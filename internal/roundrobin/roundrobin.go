// Package roundrobin holds items in one queue per key (a namespace) and hands them out
// one key at a time, in turn: a key with thousands of items delays another key's next
// item by at most one item per key waiting, never by its whole backlog. Both the cloud's
// rate limiter and the controllers' work queues serve namespaces this way.
package roundrobin

import "slices"

// Queues is a set of FIFO queues served in turn. The zero value is empty and ready; it
// is not safe for concurrent use (its users hold their own lock).
type Queues[K comparable, T any] struct {
	items map[K][]T // waiting items by key, oldest first
	ring  []K       // the keys with waiting items, served in this order
	next  int       // index in ring of the key served next
	n     int       // items waiting, all keys together
}

// Push queues item behind the others of key; a key with nothing waiting joins the end
// of the ring.
func (q *Queues[K, T]) Push(key K, item T) {
	if q.items == nil {
		q.items = map[K][]T{}
	}
	waiting := q.items[key]
	if len(waiting) == 0 {
		q.ring = append(q.ring, key)
	}
	q.items[key] = append(waiting, item)
	q.n++
}

// Pop takes the oldest item of the key whose turn it is, and passes the turn to the
// next key; false when nothing waits.
func (q *Queues[K, T]) Pop() (T, bool) {
	var zero T
	if len(q.ring) == 0 {
		return zero, false
	}
	if q.next >= len(q.ring) {
		q.next = 0
	}
	key := q.ring[q.next]
	waiting := q.items[key]
	item := waiting[0]
	waiting[0] = zero // let it be collected
	q.n--
	if len(waiting) == 1 {
		delete(q.items, key)
		q.ring = slices.Delete(q.ring, q.next, q.next+1) // next now names the following key
	} else {
		q.items[key] = waiting[1:]
		q.next++
	}
	return item, true
}

// Remove takes the first item of key that match reports, and says whether there was one.
func (q *Queues[K, T]) Remove(key K, match func(T) bool) bool {
	waiting := q.items[key]
	i := slices.IndexFunc(waiting, match)
	if i < 0 {
		return false
	}
	q.n--
	if len(waiting) > 1 {
		q.items[key] = slices.Delete(waiting, i, i+1)
		return true
	}
	delete(q.items, key)
	r := slices.Index(q.ring, key)
	q.ring = slices.Delete(q.ring, r, r+1)
	if r < q.next {
		q.next--
	}
	return true
}

// Len is how many items wait, all keys together.
func (q *Queues[K, T]) Len() int { return q.n }

// Keys are the keys with waiting items, in the order they are served from the next turn.
func (q *Queues[K, T]) Keys() []K {
	if len(q.ring) == 0 {
		return nil
	}
	start := q.next % len(q.ring)
	return append(slices.Clone(q.ring[start:]), q.ring[:start]...)
}
