package caddyfederate

import (
	"fmt"
	"math"
	"slices"
	"strconv"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp/reverseproxy"
	"github.com/dustin/go-humanize"

	"github.com/searchfront/caddy-federate/dialect"
	"github.com/searchfront/caddy-federate/merge"
)

// parseCaddyfile builds the handler from the `federate` directive, as
// reverse_proxy's does: UnmarshalCaddyfile reads the tokens, then each
// shard's proxy is finalized with the helper (handle_response routes need it).
func parseCaddyfile(h httpcaddyfile.Helper) (caddyhttp.MiddlewareHandler, error) {
	f := new(Handler)
	if err := f.UnmarshalCaddyfile(h.Dispenser); err != nil {
		return nil, err
	}
	for _, s := range f.Shards {
		if err := s.finalizeCaddyfile(h); err != nil {
			return nil, err
		}
	}
	return f, nil
}

// UnmarshalCaddyfile sets up the handler from Caddyfile tokens. Syntax:
//
//	federate [<matcher>] {
//		name              <route name>
//		coalesce          on|off
//		expose_shard_errors
//		writes            off|route [<id field>]|broadcast   # broadcast alone: the same as writes broadcast
//		write_timeout     <duration>
//		dialect           meilisearch|elasticsearch|opensearch|solr|typesense|groonga|federate
//		merge             auto [homogeneous] | rrf [<k>] | rrf_z | calibrated | rrf_calibrated | score [<normalizer>] [sum|mnz] | raw | interleave {
//			split            hash|topical
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
//		max_searches         <n>          # default 50
//		max_shard_calls      <n>          # default 500
//		max_aggregations     <n>          # default 20
//		max_aggregation_size <n>          # default 1000
//		max_concurrent       <n>          # default 100
//		max_inflight_bytes   <size>       # default 128MiB
//		request_body_timeout <duration>   # default 10s
//		cache { ... }     # see parseCache
//		shard <name> [<upstreams...>] {
//			dialect <name>
//			index   <name>
//			allow_indexes <name|prefix*>...
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
//			# any reverse_proxy subdirective: to, lb_policy, health_uri, transport, dynamic, ...
//		}
//	}
//
// Every option but shard may be given once per block. Errors name the
// option (and the shard) at its line; Caddy adds the directive's name.
func (f *Handler) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next() // consume the directive name
	if d.NextArg() {
		return d.Errf("unexpected argument %q: federate takes only a matcher; put its options in a block", d.Val())
	}
	seen := map[string]bool{}
	for d.NextBlock(0) {
		opt := d.Val()
		if opt != "shard" {
			if err := once(d, seen); err != nil {
				return err
			}
		}
		var err error
		switch opt {
		case "name":
			err = oneArg(d, &f.Name)
		case "expose_shard_errors":
			err = noArg(d)
			f.ExposeShardErrors = true
		case "broadcast":
			err = noArg(d)
			f.Broadcast = true
		case "writes", "write_timeout":
			err = parseWrites(d, f)
		case "dialect":
			err = dialectArg(d, &f.Dialect, false)
		case "coalesce":
			f.Coalesce, err = onOffArg(d)
		case "merge":
			f.Merge, err = parseMerge(d)
		case "cache":
			f.Cache, err = parseCache(d)
		case "dedupe":
			err = oneArg(d, &f.Dedupe)
		case "limit":
			err = intArg(d, &f.Limit)
		case "max_window":
			err = intArg(d, &f.MaxWindow)
		case "min_shards":
			err = intArg(d, &f.MinShards)
		case "timeout":
			err = durationArg(d, &f.Timeout)
		case "require":
			if f.Require = d.RemainingArgs(); len(f.Require) == 0 {
				err = d.Errf("require: needs at least one shard name: require <shard>...")
			}
		case "max_request_body":
			err = sizeArg(d, &f.MaxRequestBody)
		case "max_response_size":
			err = sizeArg(d, &f.MaxResponseSize)
		case "max_searches":
			err = intArg(d, &f.MaxSearches)
		case "max_shard_calls":
			err = intArg(d, &f.MaxShardCalls)
		case "max_aggregations":
			err = intArg(d, &f.MaxAggregations)
		case "max_aggregation_size":
			err = intArg(d, &f.MaxAggregationSize)
		case "max_concurrent":
			err = intArg(d, &f.MaxConcurrent)
		case "max_inflight_bytes":
			err = sizeArg(d, &f.MaxInflightBytes)
		case "request_body_timeout":
			err = durationArg(d, &f.RequestBodyTimeout)
		case "shard":
			var s *Shard
			s, err = parseShard(d)
			f.Shards = append(f.Shards, s)
		default:
			return d.Errf("unknown option %q; see the option reference in the README", opt)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// parseShard reads `shard NAME [upstreams] { ... }`: the federate options
// (dialect, index, weight, timeout, hedge, json) are taken out and every
// other token is handed to reverse_proxy's own Caddyfile parser, so every
// reverse_proxy subdirective works in a shard exactly as documented for
// reverse_proxy. Errors name the shard.
func parseShard(d *caddyfile.Dispenser) (_ *Shard, err error) {
	seg := d.NewFromNextSegment()
	seg.Next() // "shard"
	if !seg.NextArg() {
		return nil, seg.Errf("shard: needs a name: shard NAME [<upstreams...>] { ... }")
	}
	s := &Shard{Name: seg.Val()}
	defer func() {
		if err != nil {
			err = fmt.Errorf("shard %s: %w", s.Name, err)
		}
	}()
	seg.Delete()
	seg.RemainingArgs() // the upstreams are reverse_proxy's
	seen := map[string]bool{}
	line := -1
	for seg.NextBlock(0) {
		// A federate option starts a line of the shard's own block; other
		// tokens (arguments, nested blocks) belong to reverse_proxy.
		tok := seg.Token()
		first := tok.Line != line
		line = tok.Line
		if !first || seg.Nesting() != 1 {
			continue
		}
		switch seg.Val() {
		case "dialect", "index", "weight", "timeout", "hedge", "json", "forward_credentials", "allow_indexes":
			if err := once(seg, seen); err != nil {
				return nil, err
			}
		}
		switch seg.Val() {
		case "dialect":
			err = dialectArg(seg, &s.Dialect, true)
		case "index":
			err = oneArg(seg, &s.Index)
		case "forward_credentials":
			s.ForwardCredentials = true
			if seg.NextArg() {
				return nil, seg.ArgErr()
			}
			seg.Delete()
			continue
		case "allow_indexes":
			s.AllowIndexes = seg.RemainingArgs()
			if len(s.AllowIndexes) == 0 {
				return nil, seg.ArgErr()
			}
			seg.DeleteN(len(s.AllowIndexes) + 1)
			continue
		case "weight":
			err = weightArg(seg, &s.Weight)
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
			if s.JSON, err = parseJSONDialect(caddyfile.NewDispenser(block)); err != nil {
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
		seg.DeleteN(2)
	}
	seg.Reset()
	rp := new(reverseproxy.Handler)
	if err := rp.UnmarshalCaddyfile(seg); err != nil {
		return nil, err
	}
	s.caddyfileProxy = rp
	s.ProxyRaw = caddyconfig.JSONModuleObject(rp, "handler", "reverse_proxy", nil)
	return s, nil
}

// finalizeCaddyfile completes the shard's reverse_proxy with what needs the
// helper (handle_response routes), as reverse_proxy's own parser does.
func (s *Shard) finalizeCaddyfile(h httpcaddyfile.Helper) error {
	rp := s.caddyfileProxy
	if rp == nil {
		return nil
	}
	if err := rp.FinalizeUnmarshalCaddyfile(h); err != nil {
		return err
	}
	s.ProxyRaw = caddyconfig.JSONModuleObject(rp, "handler", "reverse_proxy", nil)
	s.caddyfileProxy = nil
	return nil
}

// parseJSONDialect reads a shard's `json { ... }` block.
func parseJSONDialect(d *caddyfile.Dispenser) (*dialect.JSONConfig, error) {
	cfg := new(dialect.JSONConfig)
	d.Next() // "json"
	if d.NextArg() {
		return nil, d.Errf("json: unexpected argument %q; put the options in its block", d.Val())
	}
	seen := map[string]bool{}
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
			return nil, d.Errf("json: unknown option %q; use method, path, body, hits, id, score, doc or total", d.Val())
		}
		err := once(d, seen)
		if err == nil {
			err = oneArg(d, dst)
		}
		if err != nil {
			return nil, fmt.Errorf("json: %w", err)
		}
	}
	return cfg, nil
}

// mergeStrategies are the strategies `merge` takes, in the order errors
// list them.
var mergeStrategies = []string{"auto", "rrf", "rrf_z", "calibrated", "rrf_calibrated", "score", "raw", "interleave"}

// parseMerge reads `merge <strategy> [args] [{ depth <n>; max_facet_values <n> }]`.
func parseMerge(d *caddyfile.Dispenser) (*MergeConfig, error) {
	args := d.RemainingArgs()
	if len(args) == 0 {
		return nil, d.Errf("merge: needs a strategy: one of %v", mergeStrategies)
	}
	mc := &MergeConfig{Strategy: args[0]}
	rest := args[1:]
	switch mc.Strategy {
	case "rrf":
		if len(rest) > 1 {
			return nil, d.Errf("merge: rrf takes at most one argument, k; got %v", rest)
		}
		if len(rest) == 1 {
			k, err := strconv.ParseFloat(rest[0], 64)
			if err != nil || !(k > 0) {
				return nil, d.Errf("merge: rrf k %q is not a positive number; 60 is usual", rest[0])
			}
			mc.K = k
		}
	case "score":
		if len(rest) > 2 {
			return nil, d.Errf("merge: score takes at most a normalizer and sum|mnz; got %v", rest)
		}
		for _, a := range rest {
			switch a {
			case string(merge.Sum), string(merge.MNZ):
				mc.Combine = a
			case string(merge.MinMax), string(merge.ZScore), string(merge.L2), string(merge.Max), string(merge.None):
				mc.Normalizer = a
			default:
				return nil, d.Errf("merge: score argument %q is neither a normalizer (minmax, zscore, l2, max, none) nor sum|mnz", a)
			}
		}
	case "auto":
		if len(rest) > 1 || (len(rest) == 1 && rest[0] != "homogeneous") {
			return nil, d.Errf("merge: auto takes only the hint `homogeneous`; got %v", rest)
		}
		mc.Homogeneous = len(rest) == 1
	case "rrf_z", "calibrated", "rrf_calibrated", "raw", "interleave":
		if len(rest) != 0 {
			return nil, d.Errf("merge: %s takes no argument; got %v", mc.Strategy, rest)
		}
	default:
		return nil, d.Errf("merge: unknown strategy %q; use one of %v", mc.Strategy, mergeStrategies)
	}
	seen := map[string]bool{}
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		err := once(d, seen)
		switch d.Val() {
		case "depth":
			if err == nil {
				err = intArg(d, &mc.Depth)
			}
		case "max_facet_values":
			if err == nil {
				err = intArg(d, &mc.MaxFacetValues)
			}
		case "split":
			if err == nil {
				err = oneArg(d, &mc.Split)
			}
			if err == nil && mc.Split != "hash" && mc.Split != "topical" {
				err = d.Errf("split: %q is neither hash nor topical", mc.Split)
			}
			if err == nil && mc.Split == "topical" && mc.Homogeneous {
				err = d.Errf("split: topical contradicts auto homogeneous (one collection spread by hash); keep the one that is true")
			}
		default:
			return nil, d.Errf("merge: unknown option %q; use split, depth or max_facet_values", d.Val())
		}
		if err != nil {
			return nil, fmt.Errorf("merge: %w", err)
		}
	}
	return mc, nil
}

// once rejects a single-use option given a second time in one block; the
// dispenser is on the option's name.
func once(d *caddyfile.Dispenser, seen map[string]bool) error {
	if seen[d.Val()] {
		return d.Errf("%s: given twice in one block; keep one", d.Val())
	}
	seen[d.Val()] = true
	return nil
}

// The argument readers below start on the option's name, which their
// errors name.

// noArg checks that the option has no argument.
func noArg(d *caddyfile.Dispenser) error {
	if opt := d.Val(); d.NextArg() {
		return d.Errf("%s: takes no argument, got %q", opt, d.Val())
	}
	return nil
}

// oneArg reads the option's one argument into dst.
func oneArg(d *caddyfile.Dispenser, dst *string) error {
	opt := d.Val()
	if !d.NextArg() {
		return d.Errf("%s: needs an argument", opt)
	}
	*dst = d.Val()
	if d.NextArg() {
		return d.Errf("%s: takes one argument, got also %q", opt, d.Val())
	}
	return nil
}

// typedArg reads the option's one argument with parse; a parse error is
// reported as the argument not being what want describes.
func typedArg[T any](d *caddyfile.Dispenser, dst *T, want string, parse func(string) (T, bool)) error {
	opt := d.Val()
	var s string
	if err := oneArg(d, &s); err != nil {
		return err
	}
	v, ok := parse(s)
	if !ok {
		return d.Errf("%s: %q is not %s", opt, s, want)
	}
	*dst = v
	return nil
}

func intArg(d *caddyfile.Dispenser, dst *int) error {
	return typedArg(d, dst, "a whole number ≥ 0", func(s string) (int, bool) {
		n, err := strconv.Atoi(s)
		return n, err == nil && n >= 0
	})
}

func durationArg(d *caddyfile.Dispenser, dst *caddy.Duration) error {
	return typedArg(d, dst, "a positive duration; use one such as 500ms", func(s string) (caddy.Duration, bool) {
		dur, err := caddy.ParseDuration(s)
		return caddy.Duration(dur), err == nil && dur > 0
	})
}

func sizeArg(d *caddyfile.Dispenser, dst *int64) error {
	return typedArg(d, dst, "a size between 1B and 1TiB; use one such as 1MiB", func(s string) (int64, bool) {
		n, err := humanize.ParseBytes(s)
		return int64(n), err == nil && n > 0 && n <= 1<<40
	})
}

func weightArg(d *caddyfile.Dispenser, dst *float64) error {
	return typedArg(d, dst, "a positive number such as 1.5", func(s string) (float64, bool) {
		w, err := strconv.ParseFloat(s, 64)
		return w, err == nil && w > 0 && !math.IsInf(w, 1)
	})
}

func onOffArg(d *caddyfile.Dispenser) (*bool, error) {
	var on bool
	err := typedArg(d, &on, "on or off", func(s string) (bool, bool) {
		return s == "on", s == "on" || s == "off"
	})
	if err != nil {
		return nil, err
	}
	return &on, nil
}

// dialectArg reads a dialect name; a shard may also name `json`.
func dialectArg(d *caddyfile.Dispenser, dst *string, shard bool) error {
	names := dialect.Names()
	if shard {
		names = append(slices.Clip(names), "json")
	}
	return typedArg(d, dst, fmt.Sprintf("a dialect; use one of %v", names), func(s string) (string, bool) {
		return s, slices.Contains(names, s)
	})
}

// Interface guard
var _ caddyfile.Unmarshaler = (*Handler)(nil)
