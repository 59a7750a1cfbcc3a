package caddyfederate

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
)

// gensLifetime is how long a federation's generations stay in Redis after
// their last change. Losing them is safe: a missing generation is given a
// new random value, which no stored entry carries.
const gensLifetime = 30 * 24 * time.Hour

func init() { redis.SetLogger(redisLog{}) }

// redisLog sends go-redis's own messages (a failed dial, a pool error) to
// Caddy's log at debug level: the cache reports store failures itself, as
// warnings limited to one a second, and a metric.
type redisLog struct{}

func (redisLog) Printf(_ context.Context, format string, v ...any) {
	caddy.Log().Named("federate.cache.redis").Debug(fmt.Sprintf(format, v...))
}

// RedisConfig is the connection of the `redis` cache store.
type RedisConfig struct {
	// The server: `host:port`, or a `redis://` or `rediss://` (TLS) URL,
	// which may carry a user, a password and a database
	// (`redis://user:secret@host:6379/0`). Several `host:port` are the seed
	// nodes of a Redis Cluster (a federation's keys share one hash slot).
	Addresses []string `json:"addresses,omitempty"`

	// The ACL user, when the URL does not give one.
	Username string `json:"username,omitempty"`

	// The password, when the URL does not give one. Placeholders such as
	// `{env.REDIS_PASSWORD}` are replaced when the config is loaded.
	Password string `json:"password,omitempty"`

	// The database number, when the URL does not give one. Default: 0.
	DB int `json:"db,omitempty"`

	// What every key federate writes starts with. Default: `federate:`.
	KeyPrefix string `json:"key_prefix,omitempty"`
}

func (rc *RedisConfig) prefix() string {
	if rc.KeyPrefix == "" {
		return "federate:"
	}
	return rc.KeyPrefix
}

// redisClient is a pooled connection to Redis, shared by every route that
// uses the same server, across reloads.
type redisClient struct{ redis.UniversalClient }

// Destruct closes the client's connections.
func (c redisClient) Destruct() error { return c.Close() }

// loadRedis returns the pooled client for cfg and its key in cachePool.
func loadRedis(cfg *RedisConfig, timeout time.Duration) (redis.UniversalClient, string, error) {
	repl := caddy.NewReplacer()
	addrs := make([]string, len(cfg.Addresses))
	for i, a := range cfg.Addresses {
		addrs[i] = repl.ReplaceAll(a, "")
	}
	user, pass := repl.ReplaceAll(cfg.Username, ""), repl.ReplaceAll(cfg.Password, "")
	id := shortHash([]byte(strings.Join(append(addrs, user, pass, strconv.Itoa(cfg.DB), timeout.String()), "\x00")))
	key := "redis/" + id
	v, _, err := cachePool.LoadOrNew(key, func() (caddy.Destructor, error) {
		c, err := newRedisClient(addrs, user, pass, cfg.DB, timeout)
		if err != nil {
			return nil, err
		}
		return redisClient{c}, nil
	})
	if err != nil {
		return nil, "", err
	}
	return v.(redisClient).UniversalClient, key, nil
}

// newRedisClient connects lazily: Caddy starts even when Redis is down,
// and serves uncached until it is back. Every command is bounded by the
// caller's context (the cache timeout) and never retried.
func newRedisClient(addrs []string, user, pass string, db int, timeout time.Duration) (redis.UniversalClient, error) {
	maint := &maintnotifications.Config{Mode: maintnotifications.ModeDisabled}
	tune := func(dial, rw *time.Duration, retries *int, ctxTimeout *bool) {
		*dial, *rw, *retries, *ctxTimeout = max(2*timeout, 100*time.Millisecond), timeout, -1, true
	}
	if len(addrs) == 1 {
		var opt *redis.Options
		if strings.Contains(addrs[0], "://") {
			var err error
			if opt, err = redis.ParseURL(addrs[0]); err != nil {
				return nil, fmt.Errorf("redis URL %q: %w", addrs[0], err)
			}
		} else {
			opt = &redis.Options{Addr: addrs[0]}
		}
		if opt.Username == "" {
			opt.Username = user
		}
		if opt.Password == "" {
			opt.Password = pass
		}
		if opt.DB == 0 {
			opt.DB = db
		}
		tune(&opt.DialTimeout, &opt.ReadTimeout, &opt.MaxRetries, &opt.ContextTimeoutEnabled)
		opt.WriteTimeout, opt.PoolTimeout = opt.ReadTimeout, opt.ReadTimeout
		opt.DisableIdentity, opt.MaintNotificationsConfig = true, maint
		return redis.NewClient(opt), nil
	}
	for _, a := range addrs {
		if strings.Contains(a, "://") {
			return nil, fmt.Errorf("redis: give one URL, or several host:port of a Redis Cluster (got %q among %d addresses)", a, len(addrs))
		}
	}
	opt := &redis.ClusterOptions{Addrs: addrs, Username: user, Password: pass}
	tune(&opt.DialTimeout, &opt.ReadTimeout, &opt.MaxRetries, &opt.ContextTimeoutEnabled)
	opt.WriteTimeout, opt.PoolTimeout = opt.ReadTimeout, opt.ReadTimeout
	opt.DisableIdentity, opt.MaintNotificationsConfig = true, maint
	return redis.NewClusterClient(opt), nil
}

// redisStore keeps entries and generations in Redis. Every key of a
// federation carries one hash tag, so they share a Redis Cluster slot.
type redisStore struct {
	c       redis.UniversalClient
	gens    string // hash: dependency → generation
	entries string // prefix of entry keys
}

func newRedisStore(c redis.UniversalClient, prefix, fed, route string, _ *cacheNamespace) *redisStore {
	tag := "{" + prefix + fed + "}"
	return &redisStore{c: c, gens: tag + ":gens", entries: tag + ":e:" + route + ":"}
}

// lookup reads the generations and the entry in one round trip. A
// generation that is missing (first use, or Redis lost it) is set to a new
// random value in a second one.
func (s *redisStore) lookup(ctx context.Context, key string, deps []string) (*cacheEntry, []string, error) {
	pipe := s.c.Pipeline()
	hm := pipe.HMGet(ctx, s.gens, deps...)
	var get *redis.StringCmd
	if key != "" {
		get = pipe.Get(ctx, s.entries+key)
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, nil, err
	}
	gens, err := s.gensOf(ctx, deps, hm.Val())
	if err != nil {
		return nil, nil, err
	}
	if get == nil {
		return nil, gens, nil
	}
	b, err := get.Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, gens, nil
	}
	if err != nil {
		return nil, nil, err
	}
	e, err := decodeEntry(b)
	if err != nil {
		return nil, gens, nil // a foreign or corrupt value is a miss; the fill overwrites it
	}
	return e, gens, nil
}

// gensOf turns HMGET's values into generations, creating missing ones.
func (s *redisStore) gensOf(ctx context.Context, deps []string, vals []any) ([]string, error) {
	gens := make([]string, len(deps))
	var missing []string
	for i, v := range vals {
		if str, ok := v.(string); ok {
			gens[i] = str
		} else {
			missing = append(missing, deps[i])
		}
	}
	if len(missing) == 0 {
		return gens, nil
	}
	pipe := s.c.Pipeline()
	for _, d := range missing {
		pipe.HSetNX(ctx, s.gens, d, newGeneration())
	}
	pipe.Expire(ctx, s.gens, gensLifetime)
	hm := pipe.HMGet(ctx, s.gens, deps...)
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, err
	}
	for i, v := range hm.Val() {
		str, ok := v.(string)
		if !ok {
			return nil, fmt.Errorf("redis: generation of %q vanished", deps[i])
		}
		gens[i] = str
	}
	return gens, nil
}

func (s *redisStore) fill(ctx context.Context, key string, e *cacheEntry, ttl time.Duration) error {
	return s.c.Set(ctx, s.entries+key, encodeEntry(e), ttl).Err()
}

// bump sets new random generations: one command, so every instance sees
// the invalidation as soon as it returns.
func (s *redisStore) bump(ctx context.Context, deps []string) error {
	kv := make([]any, 0, 2*len(deps))
	for _, d := range deps {
		kv = append(kv, d, newGeneration())
	}
	pipe := s.c.Pipeline()
	pipe.HSet(ctx, s.gens, kv...)
	pipe.Expire(ctx, s.gens, gensLifetime)
	_, err := pipe.Exec(ctx)
	return err
}

// newGeneration is a value no entry was filled under before.
func newGeneration() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

var _ cacheStore = (*redisStore)(nil)
