package dialect

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"

	"github.com/searchfront/caddy-federate/merge"
)

func (d esDialect) BuildRequest(q *Query, t Target) (*Request, error) {
	index := targetIndex(q, t)
	if index == "" {
		// /_search would search every index of the cluster.
		return nil, esIllegal("Shard " + t.Shard + " needs an index: set `index` on the shard or call /{index}/_search.")
	}
	path := "/" + url.PathEscape(index) + "/_search"
	limit := windowLimit(t, d.DefaultLimit())
	var m map[string]any
	if sameFamily(q.Dialect, d.name) {
		var err error
		if m, err = esPassThrough(q); err != nil {
			return nil, err
		}
	} else {
		if q.RawFilter {
			return nil, unsupportedFilter(q, t, d.name)
		}
		m = map[string]any{"query": buildESQuery(q.Text, q.Filter)}
		if q.Fields != nil {
			m["_source"] = q.Fields
		}
		if len(q.Facets) > 0 {
			aggs := map[string]any{}
			for _, f := range q.Facets {
				aggs[f] = map[string]any{"terms": map[string]any{"field": f, "size": esFacetSize}}
			}
			m["aggs"] = aggs
		}
	}
	m["from"] = t.Offset
	m["size"] = limit
	if _, ok := m["track_total_hits"]; !ok {
		m["track_total_hits"] = true
	}
	b, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	return &Request{Method: http.MethodPost, Path: path, Body: b, ContentType: "application/json"}, nil
}

// esPassThrough keeps an Elasticsearch client's body as sent, except that the
// q parameter becomes a query_string query and terms aggregations are keyed
// by field (so that they merge with other shards' facets) and asked for at
// least esFacetSize buckets.
func esPassThrough(q *Query) (map[string]any, error) {
	m := map[string]any{}
	raw := map[string]json.RawMessage{}
	if len(q.Body) > 0 {
		if err := json.Unmarshal(q.Body, &raw); err != nil {
			return nil, esParsing("failed to parse search source: request body is not a JSON object")
		}
	}
	for k, v := range raw {
		m[k] = v
	}
	if p := url.Values(q.Params); p.Has("q") {
		m["query"] = map[string]any{"query_string": map[string]any{"query": p.Get("q")}}
	}
	if _, ok := m["_source"]; !ok && q.Fields != nil {
		m["_source"] = q.Fields
	}
	delete(m, "aggregations")
	delete(m, "aggs")
	aggs := q.Display.FacetNames
	if len(aggs) > 0 {
		out := map[string]any{}
		for _, a := range aggs {
			out[a.Field] = map[string]any{"terms": map[string]any{"field": a.Field, "size": max(a.Size, esFacetSize)}}
		}
		m["aggs"] = out
	}
	return m, nil
}

// esHitParts are the members of one hit the merge needs.
type esHitParts struct {
	id, source, score []byte
}

// take keeps k's value when it is one of the parts.
func (p *esHitParts) take(k, v []byte) {
	switch string(k) {
	case "_id":
		p.id = v
	case "_source":
		p.source = v
	case "_score":
		p.score = v
	}
}

func (d esDialect) DecodeResponse(body []byte, idField string) (merge.List, error) {
	var l merge.List
	var total []byte
	var bad error // why a hit is unusable, reported as is
	hasHits := false
	hit := func(b []byte, i int) (int, error) {
		var p esHitParts
		start, end, err := validObject(b, i, func(k, v []byte, _, _ int) { p.take(k, v) })
		if err != nil {
			if j := skipSpace(b, i); j < len(b) && b[j] != '{' {
				if _, err := validValue(b, i); err != nil {
					return 0, err
				}
				bad = errInvalidMsg(d.name, "a hit is not an object")
			}
			return 0, err
		}
		h := merge.Hit{Native: b[start:end], Doc: p.source}
		if !isObject(h.Doc) {
			h.Doc = emptyObject
		}
		if idField == "" || idField == "_id" {
			h.ID = scalarString(p.id)
		} else if v, ok := lookupPath(h.Doc, idField); ok {
			h.ID = scalarString(v)
		}
		h.Score, h.Scored = rawFloat(p.score)
		l.Hits = append(l.Hits, h)
		return end, nil
	}
	// hits is {"total": …, "max_score": …, "hits": [ … ]}: validated and
	// read in the same walk, as Meilisearch's hits are.
	hits := func(b []byte, i int) (int, error) {
		if i >= len(b) || b[i] != '{' {
			return validValue(b, i) // not an object: "no hits.hits array" below
		}
		var sawTotal, sawHits bool // the first of each counts, as member() reads them
		return walkObject(b, i, func(k []byte, _, vstart int) (int, error) {
			switch {
			case string(k) == "hits" && !sawHits:
				sawHits = true
				if vstart < len(b) && b[vstart] == '[' {
					hasHits = true
					l.Hits = newHits()
					return validArray(b, vstart, hit)
				}
			case string(k) == "total" && !sawTotal:
				sawTotal = true
				vend, err := validValue(b, vstart)
				if err == nil {
					total = b[vstart:vend]
				}
				return vend, err
			}
			return validValue(b, vstart)
		})
	}
	top, err := topMembers(body, hits, "hits", "aggregations", "timed_out")
	if bad != nil {
		return merge.List{}, bad
	}
	if err != nil {
		return merge.List{}, errInvalid(d.name, err)
	}
	if !hasHits {
		return merge.List{}, errInvalidMsg(d.name, "no hits.hits array")
	}
	if err := decodeESTotal(&l, total); err != nil {
		return merge.List{}, errInvalid(d.name, err)
	}
	if timedOut, _ := rawBool(top[2]); timedOut {
		l.TotalRelation = merge.Gte
	}
	if isObject(top[1]) {
		var aggs map[string]json.RawMessage
		if json.Unmarshal(top[1], &aggs) == nil {
			decodeESAggs(&l, aggs)
		}
	}
	return l, nil
}

// decodeESTotal reads hits.total: {value, relation} (7.0+) or a bare number
// (6.x and OpenSearch with rest_total_hits_as_int); absent (track_total_hits
// false) counts the hits as a lower bound.
func decodeESTotal(l *merge.List, raw json.RawMessage) error {
	raw = bytes.TrimSpace(raw)
	switch {
	case len(raw) == 0 || string(raw) == "null":
		l.Total, l.TotalRelation = int64(len(l.Hits)), merge.Gte
	case raw[0] == '{':
		var t struct {
			Value    int64  `json:"value"`
			Relation string `json:"relation"`
		}
		if err := json.Unmarshal(raw, &t); err != nil {
			return err
		}
		l.Total = t.Value
		if t.Relation == "gte" {
			l.TotalRelation = merge.Gte
		}
	default:
		if err := json.Unmarshal(raw, &l.Total); err != nil {
			return err
		}
	}
	return nil
}

// decodeESAggs reads terms buckets; aggregations without a buckets array are
// not facets and are ignored.
func decodeESAggs(l *merge.List, aggs map[string]json.RawMessage) {
	for aggName, raw := range aggs {
		var t struct {
			SumOther int64 `json:"sum_other_doc_count"`
			Buckets  []struct {
				Key         json.RawMessage `json:"key"`
				KeyAsString *string         `json:"key_as_string"`
				DocCount    int64           `json:"doc_count"`
			} `json:"buckets"`
		}
		if !isObject(raw) || json.Unmarshal(raw, &t) != nil {
			continue
		}
		if t.Buckets == nil {
			continue
		}
		vals := make(map[string]int64, len(t.Buckets))
		for _, b := range t.Buckets {
			key := scalarString(b.Key)
			if b.KeyAsString != nil {
				key = *b.KeyAsString
			}
			vals[key] += b.DocCount
		}
		if l.Facets == nil {
			l.Facets = map[string]map[string]int64{}
		}
		l.Facets[aggName] = vals
		if t.SumOther > 0 {
			l.FacetsTruncated = true
		}
	}
}
