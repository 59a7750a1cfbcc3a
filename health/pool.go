package health

import (
	"github.com/caddyserver/caddy/v2"
)

// trackers holds every Tracker by key. A config reload provisions the new
// config before it cleans up the old one, so a key present in both is acquired
// a second time before it is released once, and its Tracker, with its history,
// carries over (as caddy-ratelimit keeps its rate limiters).
var trackers = caddy.NewUsagePool()

// Acquire returns the Tracker for key, creating it if needed, and counts one
// more use of it. Key it by what identifies the shard across configs, such as
// "server/route/shard". Call it in Provision and call [Release] with the same
// key in Cleanup.
func Acquire(key string) (*Tracker, error) {
	v, _, err := trackers.LoadOrNew(key, func() (caddy.Destructor, error) {
		return NewTracker(), nil
	})
	if err != nil {
		return nil, err
	}
	return v.(*Tracker), nil
}

// Release undoes one [Acquire] of key; the Tracker is destroyed with the last.
func Release(key string) error {
	_, err := trackers.Delete(key)
	return err
}

// Range calls f for every Tracker in use, in no particular order, until f
// returns false. It is meant for admin endpoints.
func Range(f func(key string, t *Tracker) bool) {
	trackers.Range(func(k, v any) bool {
		return f(k.(string), v.(*Tracker))
	})
}

// Interface guard.
var _ caddy.Destructor = (*Tracker)(nil)
