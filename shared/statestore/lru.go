package statestore

import (
	"container/list"
	"sync"
)

// entry is a cached document: the newest version this process knows of,
// with the trust time that makes writing its successor safe (see known).
type entry[T any] struct {
	id string
	known[T]
}

// lru is a size-bounded least-recently-used cache. Documents are shared,
// never modified.
type lru[T any] struct {
	mu    sync.Mutex
	max   int
	order *list.List
	items map[string]*list.Element
}

func newLRU[T any](max int) *lru[T] {
	return &lru[T]{max: max, order: list.New(), items: map[string]*list.Element{}}
}

func (c *lru[T]) get(id string) (entry[T], bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.items[id]
	if !ok {
		return entry[T]{}, false
	}
	c.order.MoveToFront(el)
	return *el.Value.(*entry[T]), true
}

// put records k as what is known of id, unless a newer version is already
// cached. For the same version the later trust time is kept: both are true
// statements, and the later one lasts longer.
func (c *lru[T]) put(id string, k known[T]) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[id]; ok {
		e := el.Value.(*entry[T])
		if e.ver > k.ver {
			return
		}
		if e.ver == k.ver && e.trust.After(k.trust) {
			k.trust = e.trust
		}
		e.known = k
		c.order.MoveToFront(el)
		return
	}
	c.items[id] = c.order.PushFront(&entry[T]{id: id, known: k})
	for c.order.Len() > c.max {
		last := c.order.Back()
		c.order.Remove(last)
		delete(c.items, last.Value.(*entry[T]).id)
	}
}

func (c *lru[T]) drop(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[id]; ok {
		c.order.Remove(el)
		delete(c.items, id)
	}
}
