package caddyfederate

import (
	"strconv"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp/reverseproxy"
	"github.com/dustin/go-humanize"

	"github.com/searchfront/caddy-federate/dialect"
)

// parseCaddyfile sets up the handler from Caddyfile tokens. Syntax:
//
//	federate [<matcher>] {
//		name              <route name>
//		coalesce          on|off
//		expose_shard_errors
//		writes            off|route [<id field>]|broadcast   # broadcast alone: the same as writes broadcast
//		write_timeout     <duration>
//		dialect           meilisearch|elasticsearch|opensearch|solr|typesense|groonga|federate
//		merge             auto [homogeneous] | rrf [<k>] | rrf_z | calibrated | score [<normalizer>] [sum|mnz] | raw | interleave {
//			depth            <n>
//			max_facet_values <n>
//		}
//		dedupe            <field>|off
//		limit             <n>
//		max_window        <n>
//		timeout           <duration>
//		min_shards        <n>
//		require           <shard>...
//		max_request_body  <size>
//		max_response_size <size>
//		cache { ... }     # see parseCache
//		shard <name> [<upstreams...>] {
//			dialect <name>
//			index   <name>
//			weight  <float>
//			timeout <duration>
//			hedge   <delay>|auto|off [budget <percent>]
//			forward_credentials
//			json {            # only with dialect json
//				method <GET|POST>
//				path   <path?query with {federate.q} {federate.offset} {federate.limit} {federate.index}>
//				body   <JSON template>
//				hits   <JSON pointer>
//				id     <JSON pointer>
//				score  <JSON pointer>
//				doc    <JSON pointer>
//				total  <JSON pointer>
//			}
//			# any reverse_proxy subdirective: to, lb_policy, health_uri, transport, ...
//		}
//	}
func parseCaddyfile(h httpcaddyfile.Helper) (caddyhttp.MiddlewareHandler, error) {
	f := new(Handler)
	h.Next() // consume the directive name
	if h.NextArg() {
		return nil, h.ArgErr()
	}
	seen := map[string]bool{}
	for h.NextBlock(0) {
		opt := h.Val()
		if opt != "shard" {
			if seen[opt] {
				return nil, h.Errf("%s is given twice", opt)
			}
			seen[opt] = true
		}
		var err error
		switch opt {
		case "name":
			err = oneArg(h.Dispenser, &f.Name)
		case "expose_shard_errors":
			f.ExposeShardErrors = true
			if h.NextArg() {
				return nil, h.ArgErr()
			}
		case "broadcast":
			f.Broadcast = true
			if h.NextArg() {
				return nil, h.ArgErr()
			}
		case "writes", "write_timeout":
			err = parseWrites(h.Dispenser, f)
		case "dialect":
			err = oneArg(h.Dispenser, &f.Dialect)
		case "coalesce":
			var v string
			if err = oneArg(h.Dispenser, &v); err == nil {
				if v != "on" && v != "off" {
					return nil, h.Errf("coalesce takes on or off, got %q", v)
				}
				on := v == "on"
				f.Coalesce = &on
			}
		case "merge":
			f.Merge, err = parseMerge(h.Dispenser)
		case "cache":
			f.Cache, err = parseCache(h.Dispenser)
		case "dedupe":
			err = oneArg(h.Dispenser, &f.Dedupe)
		case "limit":
			err = intArg(h.Dispenser, &f.Limit)
		case "max_window":
			err = intArg(h.Dispenser, &f.MaxWindow)
		case "min_shards":
			err = intArg(h.Dispenser, &f.MinShards)
		case "timeout":
			err = durationArg(h.Dispenser, &f.Timeout)
		case "require":
			f.Require = h.RemainingArgs()
			if len(f.Require) == 0 {
				err = h.ArgErr()
			}
		case "max_request_body":
			err = sizeArg(h.Dispenser, &f.MaxRequestBody)
		case "max_response_size":
			err = sizeArg(h.Dispenser, &f.MaxResponseSize)
		case "shard":
			var s *Shard
			s, err = parseShard(h)
			f.Shards = append(f.Shards, s)
		default:
			return nil, h.Errf("unknown federate option %q", opt)
		}
		if err != nil {
			return nil, err
		}
	}
	return f, nil
}

// parseShard reads `shard NAME [upstreams] { ... }`: the federate options
// (dialect, index, weight, timeout) are taken out and every other token is
// handed to reverse_proxy's own Caddyfile parser, so every reverse_proxy
// subdirective works in a shard exactly as documented for reverse_proxy.
func parseShard(h httpcaddyfile.Helper) (*Shard, error) {
	seg := h.NewFromNextSegment()
	seg.Next() // "shard"
	if !seg.NextArg() {
		return nil, seg.Errf("shard needs a name: shard NAME [<upstreams...>] { ... }")
	}
	s := &Shard{Name: seg.Val()}
	seg.Delete()
	seg.RemainingArgs() // the upstreams are reverse_proxy's
	seen := map[string]bool{}
	line := -1
	for seg.NextBlock(0) {
		tok := seg.Token()
		first := tok.Line != line || seg.Nesting() != 1
		line = tok.Line
		if !first || seg.Nesting() != 1 {
			continue
		}
		opt := seg.Val()
		var err error
		switch opt {
		case "dialect":
			err = oneArg(seg, &s.Dialect)
		case "index":
			err = oneArg(seg, &s.Index)
		case "forward_credentials":
			s.ForwardCredentials = true
			if seg.NextArg() {
				return nil, seg.ArgErr()
			}
			seg.Delete()
			continue
		case "weight":
			var w string
			if err = oneArg(seg, &w); err == nil {
				s.Weight, err = strconv.ParseFloat(w, 64)
				if err != nil || s.Weight <= 0 {
					return nil, seg.Errf("weight must be a positive number, got %q", w)
				}
			}
		case "timeout":
			err = durationArg(seg, &s.Timeout)
		case "hedge":
			args := seg.RemainingArgs()
			if s.Hedge, err = parseHedge(args); err != nil {
				return nil, seg.Errf("%v", err)
			}
			seg.DeleteN(len(args) + 1)
			continue
		case "json":
			block := seg.NextSegment()
			s.JSON, err = parseJSONDialect(caddyfile.NewDispenser(block))
			if err != nil {
				return nil, err
			}
			seg.DeleteN(len(block))
			continue
		default:
			continue
		}
		if err != nil {
			return nil, err
		}
		if seen[opt] {
			return nil, seg.Errf("%s is given twice in shard %s", opt, s.Name)
		}
		seen[opt] = true
		seg.DeleteN(2)
	}
	seg.Reset()
	rp := new(reverseproxy.Handler)
	if err := rp.UnmarshalCaddyfile(seg); err != nil {
		return nil, err
	}
	if err := rp.FinalizeUnmarshalCaddyfile(h); err != nil {
		return nil, err
	}
	s.ProxyRaw = caddyconfig.JSONModuleObject(rp, "handler", "reverse_proxy", nil)
	return s, nil
}

// parseJSONDialect reads a shard's `json { ... }` block.
func parseJSONDialect(d *caddyfile.Dispenser) (*dialect.JSONConfig, error) {
	cfg := new(dialect.JSONConfig)
	d.Next() // "json"
	for d.NextBlock(0) {
		var dst *string
		switch d.Val() {
		case "method":
			dst = &cfg.Method
		case "path":
			dst = &cfg.Path
		case "body":
			dst = &cfg.Body
		case "hits":
			dst = &cfg.Hits
		case "id":
			dst = &cfg.ID
		case "score":
			dst = &cfg.Score
		case "doc":
			dst = &cfg.Doc
		case "total":
			dst = &cfg.Total
		default:
			return nil, d.Errf("unknown json dialect option %q; use method, path, body, hits, id, score, doc or total", d.Val())
		}
		if err := oneArg(d, dst); err != nil {
			return nil, err
		}
	}
	return cfg, nil
}

// parseMerge reads `merge <strategy> [args] [{ depth <n>; max_facet_values <n> }]`.
func parseMerge(d *caddyfile.Dispenser) (*MergeConfig, error) {
	args := d.RemainingArgs()
	if len(args) == 0 {
		return nil, d.ArgErr()
	}
	mc := &MergeConfig{Strategy: args[0]}
	rest := args[1:]
	switch mc.Strategy {
	case "rrf":
		if len(rest) > 1 {
			return nil, d.ArgErr()
		}
		if len(rest) == 1 {
			k, err := strconv.ParseFloat(rest[0], 64)
			if err != nil || k <= 0 {
				return nil, d.Errf("rrf k must be a positive number, got %q", rest[0])
			}
			mc.K = k
		}
	case "score":
		for _, a := range rest {
			switch a {
			case "sum", "mnz":
				mc.Combine = a
			default:
				mc.Normalizer = a
			}
		}
		if len(rest) > 2 {
			return nil, d.ArgErr()
		}
	case "auto":
		if len(rest) > 1 || (len(rest) == 1 && rest[0] != "homogeneous") {
			return nil, d.Errf("merge auto takes only the hint `homogeneous`")
		}
		mc.Homogeneous = len(rest) == 1
	case "rrf_z", "calibrated", "raw", "interleave":
		if len(rest) != 0 {
			return nil, d.ArgErr()
		}
	default:
		return nil, d.Errf("unknown merge strategy %q; use auto, rrf [k], rrf_z, calibrated, score [normalizer], raw or interleave", mc.Strategy)
	}
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		var err error
		switch d.Val() {
		case "depth":
			err = intArg(d, &mc.Depth)
		case "max_facet_values":
			err = intArg(d, &mc.MaxFacetValues)
		default:
			return nil, d.Errf("unknown merge option %q; use depth or max_facet_values", d.Val())
		}
		if err != nil {
			return nil, err
		}
	}
	return mc, nil
}

// oneArg reads exactly one argument into dst; the dispenser is on the
// option name.
func oneArg(d *caddyfile.Dispenser, dst *string) error {
	if !d.NextArg() {
		return d.ArgErr()
	}
	*dst = d.Val()
	if d.NextArg() {
		return d.ArgErr()
	}
	return nil
}

func intArg(d *caddyfile.Dispenser, dst *int) error {
	var s string
	if err := oneArg(d, &s); err != nil {
		return err
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return d.Errf("%s must be a whole number ≥ 0, got %q", d.Val(), s)
	}
	*dst = n
	return nil
}

func durationArg(d *caddyfile.Dispenser, dst *caddy.Duration) error {
	var s string
	if err := oneArg(d, &s); err != nil {
		return err
	}
	dur, err := caddy.ParseDuration(s)
	if err != nil || dur <= 0 {
		return d.Errf("want a positive duration such as 500ms, got %q", s)
	}
	*dst = caddy.Duration(dur)
	return nil
}

func sizeArg(d *caddyfile.Dispenser, dst *int64) error {
	var s string
	if err := oneArg(d, &s); err != nil {
		return err
	}
	n, err := humanize.ParseBytes(s)
	if err != nil || n == 0 || n > 1<<40 {
		return d.Errf("want a size such as 1MiB, got %q", s)
	}
	*dst = int64(n)
	return nil
}
