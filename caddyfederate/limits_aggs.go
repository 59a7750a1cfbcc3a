package caddyfederate

import (
	"encoding/json"
	"strconv"
	"strings"

	"github.com/searchfront/caddy-federate/dialect"
)

// checkQuery bounds the aggregations and facets of one search: how many,
// and how many buckets each may ask of a shard.
func (h *Handler) checkQuery(q *dialect.Query) error {
	if len(q.Facets) > h.MaxAggregations {
		return h.limitError("facets", len(q.Facets), h.MaxAggregations, "max_aggregations")
	}
	switch q.Dialect {
	case "elasticsearch", "opensearch":
		n, size, err := countAggs(q.Body)
		if err != nil {
			return badRequest("aggs must be an object of named aggregation objects: " + err.Error())
		}
		if n > h.MaxAggregations {
			return h.limitError("aggregations", n, h.MaxAggregations, "max_aggregations")
		}
		if size > int64(h.MaxAggregationSize) {
			return h.limitError("buckets in one aggregation", clampInt(size), h.MaxAggregationSize, "max_aggregation_size")
		}
	case "typesense", "solr", "groonga":
		for k, vs := range q.Params {
			if !isBucketParam(k) {
				continue
			}
			for _, v := range vs {
				n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
				if err != nil {
					continue // the engine rejects it
				}
				if n < 0 || n > int64(h.MaxAggregationSize) {
					if n < 0 {
						n = 1<<31 - 1 // "all of them"
					}
					return h.limitError("buckets in one facet ("+k+")", clampInt(n), h.MaxAggregationSize, "max_aggregation_size")
				}
			}
		}
	}
	return nil
}

// isBucketParam reports whether a URL parameter sets how many facet
// values a shard returns: Typesense max_facet_values, Solr facet.limit
// (and f.<field>.facet.limit), Groonga drilldown_limit and
// drilldowns[<label>].limit.
func isBucketParam(k string) bool {
	return k == "max_facet_values" || k == "facet.limit" || strings.HasSuffix(k, ".facet.limit") ||
		k == "drilldown_limit" || (strings.HasPrefix(k, "drilldowns[") && strings.HasSuffix(k, "].limit"))
}

func clampInt(n int64) int {
	if n > 1<<31-1 {
		return 1<<31 - 1
	}
	return int(n)
}

// maxAggs stops counting a body's aggregations early: anything above it is
// refused whatever the exact count.
const maxAggs = 10000

// countAggs counts the aggregations of an Elasticsearch search body (the
// `aggs` or `aggregations` objects, nested ones included) and returns the
// largest `size` or `shard_size` any of them asks for.
func countAggs(body []byte) (n int, size int64, err error) {
	if len(body) == 0 {
		return 0, 0, nil
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(body, &top); err != nil {
		return 0, 0, err
	}
	err = walkAggs(top, &n, &size)
	return n, size, err
}

// walkAggs counts the aggregations under obj's aggs/aggregations keys.
func walkAggs(obj map[string]json.RawMessage, n *int, size *int64) error {
	for _, key := range []string{"aggs", "aggregations"} {
		raw, ok := obj[key]
		if !ok {
			continue
		}
		var named map[string]map[string]json.RawMessage
		if err := json.Unmarshal(raw, &named); err != nil {
			return err
		}
		for _, agg := range named {
			*n++
			if *n > maxAggs {
				return nil
			}
			for typ, params := range agg {
				if typ == "aggs" || typ == "aggregations" || typ == "meta" {
					continue
				}
				var p map[string]json.RawMessage
				if json.Unmarshal(params, &p) != nil {
					continue
				}
				for _, k := range []string{"size", "shard_size"} {
					if v, ok := p[k]; ok {
						var f float64
						if json.Unmarshal(v, &f) == nil && f > float64(*size) {
							*size = int64(min(f, 1<<62))
						}
					}
				}
			}
			if err := walkAggs(agg, n, size); err != nil {
				return err
			}
		}
	}
	return nil
}
