package statestore

import (
	"container/list"
	"sync"
	"time"
)

// entry is a cached document: the newest version this process knows of,
// and when it learned that (the moment before the request that told it).
type entry[T any] struct {
	id      string
	doc     *T
	ver     uint64
	learned time.Time
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

// put records version ver of id unless a newer version is already cached.
func (c *lru[T]) put(id string, doc *T, ver uint64, learned time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[id]; ok {
		e := el.Value.(*entry[T])
		if e.ver > ver {
			return
		}
		e.doc, e.ver, e.learned = doc, ver, learned
		c.order.MoveToFront(el)
		return
	}
	c.items[id] = c.order.PushFront(&entry[T]{id: id, doc: doc, ver: ver, learned: learned})
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
