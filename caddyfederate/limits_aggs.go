package caddyfederate

import (
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
		n, size, err := dialect.ESAggregations(q.Body)
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
