package caddyfederate

import (
	"context"
	"strconv"
	"sync"
	"time"

	"github.com/caddyserver/caddy/v2"
)

// cachePool holds what must outlive a config reload: memory stores (keyed
// by the route's config), generation namespaces (keyed by the federation)
// and Redis clients (keyed by their connection). A reload that keeps the
// route keeps its entries; one that changes it starts empty.
var cachePool = caddy.NewUsagePool()

// cacheStore keeps cached answers and the generations they depend on.
type cacheStore interface {
	// lookup returns the current generation of every dep and, unless key
	// is "", the entry stored under key (nil when there is none).
	lookup(ctx context.Context, key string, deps []string) (*cacheEntry, []string, error)
	// fill stores e under key for ttl.
	fill(ctx context.Context, key string, e *cacheEntry, ttl time.Duration) error
	// bump gives every dep a new generation: entries filled under an older
	// one are never served again.
	bump(ctx context.Context, deps []string) error
}

// cacheEntry is a cached answer: its body, when it was produced, and the
// generations of its dependencies read before its fan-out began.
type cacheEntry struct {
	created time.Time
	gens    []string
	body    []byte
}

// cacheNamespace is shared by every route over one federation: the memory
// store's generations, and the lifetime of re-invalidations that wait for
// asynchronous writes.
type cacheNamespace struct {
	key    string
	mu     sync.Mutex
	gens   map[string]uint64
	closed chan struct{}
}

// Destruct ends the waits of pending re-invalidations.
func (n *cacheNamespace) Destruct() error {
	close(n.closed)
	return nil
}

func loadNamespace(key string) (*cacheNamespace, error) {
	key = "ns/" + key
	v, _, err := cachePool.LoadOrNew(key, func() (caddy.Destructor, error) {
		return &cacheNamespace{key: key, gens: map[string]uint64{}, closed: make(chan struct{})}, nil
	})
	if err != nil {
		return nil, err
	}
	return v.(*cacheNamespace), nil
}

// memEntryOverhead is the bookkeeping of one memory entry beyond its body,
// key and generations: the memEntry struct, its map slot and the
// allocation headers, rounded up (TestMemStoreAccountsForOverhead measures
// it).
const memEntryOverhead = 320

// memStore is a byte-bounded LRU of entries in this process.
type memStore struct {
	mu    sync.Mutex
	max   int64
	size  int64
	m     map[string]*memEntry
	head  memEntry // sentinel: head.next is the most recently used
	route string
}

type memEntry struct {
	key        string
	e          *cacheEntry
	size       int64
	expires    time.Time
	prev, next *memEntry
}

func newMemStore(max int64, route string) *memStore {
	s := &memStore{max: max, m: map[string]*memEntry{}, route: route}
	s.head.next, s.head.prev = &s.head, &s.head
	return s
}

// Destruct gives the store's bytes back to the route's gauge.
func (s *memStore) Destruct() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	cacheBytes.WithLabelValues(s.route).Sub(float64(s.size))
	s.m, s.size = map[string]*memEntry{}, 0
	s.head.next, s.head.prev = &s.head, &s.head
	return nil
}

// with pairs the store with its generations.
func (s *memStore) with(ns *cacheNamespace) cacheStore { return memView{s, ns} }

type memView struct {
	s  *memStore
	ns *cacheNamespace
}

func (v memView) lookup(_ context.Context, key string, deps []string) (*cacheEntry, []string, error) {
	gens := make([]string, len(deps))
	v.ns.mu.Lock()
	for i, d := range deps {
		gens[i] = strconv.FormatUint(v.ns.gens[d], 10)
	}
	v.ns.mu.Unlock()
	if key == "" {
		return nil, gens, nil
	}
	return v.s.get(key), gens, nil
}

func (v memView) fill(_ context.Context, key string, e *cacheEntry, ttl time.Duration) error {
	v.s.put(key, e, ttl)
	return nil
}

func (v memView) bump(_ context.Context, deps []string) error {
	v.ns.mu.Lock()
	defer v.ns.mu.Unlock()
	for _, d := range deps {
		v.ns.gens[d]++
	}
	return nil
}

func (s *memStore) get(key string) *cacheEntry {
	s.mu.Lock()
	defer s.mu.Unlock()
	me := s.m[key]
	if me == nil {
		return nil
	}
	if time.Now().After(me.expires) {
		s.remove(me)
		return nil
	}
	s.unlink(me)
	s.pushFront(me)
	return me.e
}

func (s *memStore) put(key string, e *cacheEntry, ttl time.Duration) {
	size := int64(len(key)+cap(e.body)) + memEntryOverhead
	for _, g := range e.gens {
		size += int64(len(g)) + 16
	}
	if size > s.max {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if old := s.m[key]; old != nil {
		s.remove(old)
	}
	me := &memEntry{key: key, e: e, size: size, expires: e.created.Add(ttl)}
	s.m[key] = me
	s.pushFront(me)
	s.size += size
	cacheBytes.WithLabelValues(s.route).Add(float64(size))
	for s.size > s.max {
		s.remove(s.head.prev)
		cacheEvictions.WithLabelValues(s.route).Inc()
	}
}

func (s *memStore) remove(me *memEntry) {
	s.unlink(me)
	delete(s.m, me.key)
	s.size -= me.size
	cacheBytes.WithLabelValues(s.route).Sub(float64(me.size))
}

func (s *memStore) unlink(me *memEntry) {
	me.prev.next, me.next.prev = me.next, me.prev
	me.prev, me.next = nil, nil
}

func (s *memStore) pushFront(me *memEntry) {
	me.prev, me.next = &s.head, s.head.next
	s.head.next.prev = me
	s.head.next = me
}

// Interface guards
var (
	_ cacheStore       = memView{}
	_ caddy.Destructor = (*memStore)(nil)
	_ caddy.Destructor = (*cacheNamespace)(nil)
)
