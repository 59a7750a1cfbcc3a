package dialect

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"

	"github.com/searchfront/caddy-federate/merge"
)

// esDialect speaks the Elasticsearch search API
// (https://www.elastic.co/guide/en/elasticsearch/reference/current/search-search.html):
// clients call GET|POST /{index}/_search or /_search; shards are asked
// POST /{index}/_search. OpenSearch (opensearch.go) is the same wire format
// under its own name; a query from either passes through to shards of either.
//
// A hit's Doc is its _source and Native the whole hit object.
type esDialect struct{ name string }

const esName = "elasticsearch"

func init() { register(esDialect{name: esName}) }

func (d esDialect) Name() string    { return d.name }
func (esDialect) DefaultLimit() int { return 10 }

// esFacetSize is the number of buckets asked of each shard per terms
// aggregation: more than a page, so that the merged counts of the top values
// are close to exact.
const esFacetSize = 100

func esParsing(reason string) *Error {
	return &Error{Status: http.StatusBadRequest, Code: "parsing_exception", Type: "invalid_request", Message: reason}
}

func esIllegal(reason string) *Error {
	return &Error{Status: http.StatusBadRequest, Code: "illegal_argument_exception", Type: "invalid_request", Message: reason}
}

// esIndex returns the index expression before /_search, "" for /_search.
func esIndex(p string) string {
	segs := pathSegments(p)
	for i := len(segs) - 1; i >= 1; i-- {
		if segs[i] == "_search" && segs[i-1] != "" && segs[i-1][0] != '_' {
			if idx, err := url.PathUnescape(segs[i-1]); err == nil {
				return idx
			}
		}
	}
	return ""
}

func (d esDialect) DecodeRequest(r *http.Request, body []byte) (*Query, error) {
	p := r.URL.Query()
	q := &Query{Dialect: d.name, Method: r.Method, Index: esIndex(r.URL.Path), Params: p}
	m := map[string]json.RawMessage{}
	if body = bytes.TrimSpace(body); len(body) > 0 {
		q.Body = body
		if err := json.Unmarshal(body, &m); err != nil || m == nil {
			return nil, esParsing("failed to parse search source: request body is not a JSON object")
		}
	}
	if err := decodeESWindow(q, m, p); err != nil {
		return nil, err
	}
	if err := decodeESQuery(q, m, p); err != nil {
		return nil, err
	}
	if err := decodeESFeatures(q, m, p); err != nil {
		return nil, err
	}
	src := m["_source"]
	if v := p.Get("_source"); v != "" {
		src, _ = json.Marshal(splitList(v))
		if b, ok := rawBool([]byte(v)); ok {
			src = []byte(strconv.FormatBool(b))
		}
	}
	fields, err := parseESSource(src)
	if err != nil {
		return nil, err
	}
	q.Fields = fields
	aggRaw := m["aggs"]
	if aggRaw == nil {
		aggRaw = m["aggregations"]
	}
	aggs, err := parseESAggs(aggRaw)
	if err != nil {
		return nil, err
	}
	for _, a := range aggs {
		q.Facets = append(q.Facets, a.Field)
	}
	if v, ok := m["explain"]; ok {
		if q.Explain, ok = rawBool(v); !ok {
			return nil, esParsing("[explain] expected a boolean")
		}
	}
	if p.Get("explain") == "true" {
		q.Explain = true
	}
	return q, nil
}

// decodeESWindow reads from/size; URL parameters win over the body, as
// Elasticsearch applies them after parsing the body.
func decodeESWindow(q *Query, m map[string]json.RawMessage, p url.Values) error {
	for _, w := range []struct {
		key string
		dst *int
	}{{"from", &q.Offset}, {"size", &q.Limit}} {
		var n int
		var ok, set bool
		if v, has := m[w.key]; has && string(v) != "null" {
			n, ok = rawCount(v)
			set = true
		}
		if p.Has(w.key) {
			n, ok = parseCount(p.Get(w.key))
			set = true
		}
		if !set {
			continue
		}
		if !ok {
			return esIllegal("[" + w.key + "] parameter must be a non-negative integer")
		}
		*w.dst = n
		if w.key == "size" {
			q.HasLimit = true
		}
	}
	return nil
}

// decodeESQuery reads the q parameter (a query_string query that replaces the
// body's query, as in Elasticsearch) or the body's query.
func decodeESQuery(q *Query, m map[string]json.RawMessage, p url.Values) error {
	if p.Has("q") {
		q.Text = p.Get("q")
		return nil
	}
	raw, ok := m["query"]
	if !ok || string(raw) == "null" {
		return nil
	}
	info, err := parseESQuery(raw)
	if err != nil {
		return err
	}
	if !info.fits {
		q.RawFilter = true
		return nil
	}
	q.Text = info.text
	if len(info.clauses) > 0 {
		q.Filter = &Filter{And: info.clauses}
	}
	return nil
}

func (d esDialect) BuildRequest(q *Query, t Target) (*Request, error) {
	index := targetIndex(q, t)
	path := "/_search"
	if index != "" {
		path = "/" + url.PathEscape(index) + "/_search"
	}
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
	aggRaw := raw["aggs"]
	if aggRaw == nil {
		aggRaw = raw["aggregations"]
	}
	delete(m, "aggregations")
	delete(m, "aggs")
	aggs, err := parseESAggs(aggRaw)
	if err != nil {
		return nil, err
	}
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

func splitESHit(h []byte) (esHitParts, error) {
	var p esHitParts
	err := eachMemberRaw(h, func(k, v []byte, _, _ int) bool {
		switch string(k) {
		case "_id":
			p.id = v
		case "_source":
			p.source = v
		case "_score":
			p.score = v
		}
		return true
	})
	return p, err
}

var emptyObject = []byte("{}")

func (d esDialect) DecodeResponse(body []byte, idField string) (merge.List, error) {
	top, err := topMembers(body, "hits", "aggregations", "timed_out")
	if err != nil {
		return merge.List{}, errInvalid(d.name, err)
	}
	var total, hitsRaw []byte
	if isObject(top[0]) {
		total, _ = member(top[0], "total")
		hitsRaw, _ = member(top[0], "hits")
	}
	if !isArray(hitsRaw) {
		return merge.List{}, errInvalidMsg(d.name, "no hits.hits array")
	}
	var l merge.List
	var bad error
	err = eachElement(hitsRaw, func(h []byte) bool {
		p, err := splitESHit(h)
		if err != nil {
			bad = errInvalidMsg(d.name, "a hit is not an object")
			return false
		}
		hit := merge.Hit{Native: h, Doc: p.source}
		if !isObject(hit.Doc) {
			hit.Doc = emptyObject
		}
		if idField == "" || idField == "_id" {
			hit.ID = scalarString(p.id)
		} else if v, ok := lookupPath(hit.Doc, idField); ok {
			hit.ID = scalarString(v)
		}
		hit.Score, hit.Scored = rawFloat(p.score)
		l.Hits = append(l.Hits, hit)
		return true
	})
	if bad != nil {
		return merge.List{}, bad
	}
	if err != nil {
		return merge.List{}, errInvalid(d.name, err)
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
