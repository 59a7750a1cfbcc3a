package caddyfederate

import (
	"strconv"

	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
)

// parseCache reads a route's cache block:
//
//	cache {
//		ttl      <duration>
//		max_size <size>
//		store    memory | redis <host:port | redis:// URL>... {
//			username   <user>
//			password   <password>
//			db         <n>
//			key_prefix <prefix>
//		}
//		timeout  <duration>
//	}
//
// `cache` alone caches in memory with the defaults.
func parseCache(d *caddyfile.Dispenser) (*CacheConfig, error) {
	if d.NextArg() {
		return nil, d.ArgErr()
	}
	cc := new(CacheConfig)
	seen := map[string]bool{}
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		opt := d.Val()
		if seen[opt] {
			return nil, d.Errf("cache: %s is given twice", opt)
		}
		seen[opt] = true
		var err error
		switch opt {
		case "ttl":
			err = durationArg(d, &cc.TTL)
		case "timeout":
			err = durationArg(d, &cc.Timeout)
		case "max_size":
			err = sizeArg(d, &cc.MaxSize)
		case "store":
			err = parseCacheStore(d, cc)
		default:
			return nil, d.Errf("unknown cache option %q; use ttl, max_size, store or timeout", opt)
		}
		if err != nil {
			return nil, err
		}
	}
	return cc, nil
}

// parseCacheStore reads `store memory` or `store redis <addr>... { ... }`.
func parseCacheStore(d *caddyfile.Dispenser, cc *CacheConfig) error {
	if !d.NextArg() {
		return d.ArgErr()
	}
	cc.Store = d.Val()
	switch cc.Store {
	case "memory":
		if d.NextArg() || d.NextBlock(d.Nesting()) {
			return d.Errf("store memory takes no arguments")
		}
		return nil
	case "redis":
	default:
		return d.Errf("unknown cache store %q; use memory or redis", cc.Store)
	}
	rc := &RedisConfig{Addresses: d.RemainingArgs()}
	if len(rc.Addresses) == 0 {
		return d.Errf("store redis needs an address: store redis <host:port | redis:// URL>")
	}
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		opt := d.Val()
		var err error
		switch opt {
		case "username":
			err = oneArg(d, &rc.Username)
		case "password":
			err = oneArg(d, &rc.Password)
		case "key_prefix":
			err = oneArg(d, &rc.KeyPrefix)
		case "db":
			var s string
			if err = oneArg(d, &s); err == nil {
				if rc.DB, err = strconv.Atoi(s); err != nil || rc.DB < 0 {
					return d.Errf("db must be a whole number ≥ 0, got %q", s)
				}
			}
		default:
			return d.Errf("unknown redis option %q; use username, password, db or key_prefix", opt)
		}
		if err != nil {
			return err
		}
	}
	cc.Redis = rc
	return nil
}
