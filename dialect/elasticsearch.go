package dialect

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
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

// esIndex returns the index expression before /_search (/_count,
// /_msearch), "" for /_search.
func esIndex(p string) string {
	segs := pathSegments(p)
	for i := len(segs) - 1; i >= 1; i-- {
		if esEndpoint(segs[i]) && segs[i-1] != "" && segs[i-1][0] != '_' {
			if idx, err := url.PathUnescape(segs[i-1]); err == nil {
				return idx
			}
		}
	}
	return ""
}

func (d esDialect) DecodeRequest(r *http.Request, body []byte) (*Query, error) {
	q, err := d.decodeSearch(r.Method, esIndex(r.URL.Path), r.URL.Query(), body)
	if err != nil {
		return nil, err
	}
	if segs := lastSegments(r.URL.Path, 1); len(segs) == 1 && segs[0] == "_count" {
		q.Display.Count = true
		q.Offset, q.Limit, q.HasLimit = 0, 0, true
	}
	return q, nil
}

// decodeSearch reads one search: a _search request, or one item of a
// _msearch.
func (d esDialect) decodeSearch(method, index string, p url.Values, body []byte) (*Query, error) {
	q := &Query{Dialect: d.name, Method: method, Index: index, Params: p}
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
		q.Display.FacetNames = append(q.Display.FacetNames, NamedFacet{Name: a.Name, Field: a.Field, Size: a.Size})
	}
	if v, ok := m["explain"]; ok {
		if q.Explain, ok = rawBool(v); !ok {
			return nil, esParsing("[explain] expected a boolean")
		}
	}
	if p.Get("explain") == "true" {
		q.Explain = true
	}
	if err := decodeESFeatures(q, m, p); err != nil {
		return nil, err
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
