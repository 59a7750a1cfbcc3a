package caddyfederate

import (
	"context"
	"time"

	"go.uber.org/zap"
)

// invalidateRetry is how often an invalidation the store refused is tried
// again; until it succeeds this instance serves nothing from the cache.
const invalidateRetry = 200 * time.Millisecond

// invalidate makes every cached answer over one of indexes (every cached
// answer when none is given) unservable: at once on this instance and,
// with the redis store, on every instance before it returns, because every
// lookup reads the generations it bumps. Call it after a write reached the
// shards and before answering it. When the store cannot take it in time,
// this instance stops serving from the cache until a retry succeeds, and
// the error is returned.
func (h *Handler) invalidate(ctx context.Context, indexes ...string) error {
	if h.cache == nil {
		return nil
	}
	return h.cache.invalidate(ctx, invalidationDeps(indexes))
}

// invalidateWhenDone invalidates indexes now and again when done is closed:
// for engines that index asynchronously (Meilisearch tasks), answers filled
// while the write was pending may still be the pre-write ones. The wait
// ends early when the federation is unloaded, whose entries go with it.
func (h *Handler) invalidateWhenDone(ctx context.Context, indexes []string, done <-chan struct{}) error {
	if h.cache == nil {
		return nil
	}
	c, deps := h.cache, invalidationDeps(indexes)
	err := c.invalidate(ctx, deps)
	select {
	case <-done:
		return err // already applied everywhere: nothing was filled in between
	default:
	}
	if done == nil {
		return err
	}
	closed := c.ns.closed
	go func() {
		select {
		case <-done:
			_ = c.invalidate(context.Background(), deps)
		case <-closed:
		}
	}()
	return err
}

// invalidateWrite is the cache's write hook: a write through this route
// invalidates its indexes before it is answered (waiting at most the cache
// timeout), and again once it is applied everywhere.
func (h *Handler) invalidateWrite(ctx context.Context, indexes []string, pending <-chan struct{}) {
	_ = h.invalidateWhenDone(ctx, indexes, pending)
}

func invalidationDeps(indexes []string) []string {
	if len(indexes) == 0 {
		return []string{allIndexes}
	}
	deps := make([]string, 0, len(indexes))
	for _, ix := range indexes {
		if ix == "" || ix == allIndexes {
			return []string{allIndexes}
		}
		deps = append(deps, indexName(ix))
	}
	return deps
}

func (c *responseCache) invalidate(ctx context.Context, deps []string) error {
	cacheInvalidations.WithLabelValues(c.route).Add(float64(len(deps)))
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	err := c.store.bump(ctx, deps)
	if err != nil {
		c.failed("invalidate", err)
		c.addPending(deps)
	}
	return err
}

// addPending keeps deps until the store takes them, retrying in the
// background.
func (c *responseCache) addPending(deps []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, d := range deps {
		c.pending[d] = true
	}
	if c.retry {
		return
	}
	c.retry = true
	go c.retryPending()
}

func (c *responseCache) retryPending() {
	t := time.NewTicker(invalidateRetry)
	defer t.Stop()
	for {
		select {
		case <-c.stop:
			return
		case <-t.C:
		}
		c.mu.Lock()
		deps := make([]string, 0, len(c.pending))
		for d := range c.pending {
			deps = append(deps, d)
		}
		c.mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
		err := c.store.bump(ctx, deps)
		cancel()
		if err != nil {
			cacheErrors.WithLabelValues(c.route, "invalidate").Inc()
			continue
		}
		c.mu.Lock()
		for _, d := range deps {
			delete(c.pending, d)
		}
		done := len(c.pending) == 0
		if done {
			c.retry = false
		}
		c.mu.Unlock()
		if done {
			c.logger.Info("cache invalidations taken by the store after a failure; serving from the cache again",
				zap.String("route", c.route), zap.Strings("indexes", deps))
			return
		}
	}
}
