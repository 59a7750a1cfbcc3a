package dialect

import "encoding/json"

// maxAggs stops counting a body's aggregations early: anything above it is
// refused whatever the exact count.
const maxAggs = 10000

// ESAggregations counts the aggregations of an Elasticsearch search body
// (the `aggs` or `aggregations` objects, nested ones included, counting
// stops past 10000) and returns the largest `size` or `shard_size` any of
// them asks for, so a handler can bound what a client makes every shard
// compute. An error means the aggregations are not objects.
func ESAggregations(body []byte) (n int, size int64, err error) {
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
