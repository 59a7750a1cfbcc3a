package dialect

import (
	"bytes"
	"encoding/json"
	"sort"
	"strconv"
)

// Elasticsearch Query DSL (https://www.elastic.co/guide/en/elasticsearch/reference/current/query-dsl.html)
// is translated only where it has a canonical meaning: a full-text query
// (match_all, match, multi_match, query_string, simple_query_string) gives
// Query.Text, term/terms clauses (alone or in bool.must/bool.filter) give
// Query.Filter. Anything else (should, must_not, range, exists, nested,
// function_score, ...) sets RawFilter: the query then goes only to
// Elasticsearch/OpenSearch shards, as sent.

// esQueryInfo is what a query translates into.
type esQueryInfo struct {
	text    string
	hasText bool
	clauses []Clause
	fits    bool
}

// esMaxDepth bounds bool nesting we try to translate.
const esMaxDepth = 16

// parseESQuery reads a raw "query" object. err is a parsing_exception for a
// query that is not an object with exactly one query type.
func parseESQuery(raw []byte) (esQueryInfo, error) {
	info := esQueryInfo{fits: true}
	if err := info.walk(raw, 0, false); err != nil {
		return esQueryInfo{}, err
	}
	return info, nil
}

// queryType splits {"type": body}.
func esQueryType(raw []byte) (string, json.RawMessage, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil || m == nil {
		return "", nil, esParsing("[query] malformed query, expected a JSON object")
	}
	if len(m) != 1 {
		return "", nil, esParsing("[query] malformed query, expected exactly one query type but found " + strconv.Itoa(len(m)))
	}
	for k, v := range m {
		return k, v, nil
	}
	return "", nil, nil
}

// walk folds one query into info. inFilter is true inside bool.filter, where
// full-text queries have no scoring meaning and are not translated.
func (info *esQueryInfo) walk(raw []byte, depth int, inFilter bool) error {
	typ, body, err := esQueryType(raw)
	if err != nil {
		return err
	}
	if depth > esMaxDepth {
		info.fits = false
		return nil
	}
	switch typ {
	case "match_all":
		return nil
	case "match", "match_phrase", "multi_match", "query_string", "simple_query_string":
		text, ok := esQueryText(typ, body)
		if !ok || info.hasText || inFilter {
			info.fits = false
			return nil
		}
		info.text, info.hasText = text, true
	case "term", "terms":
		c, ok := esTermClause(typ, body)
		if !ok {
			info.fits = false
			return nil
		}
		info.clauses = append(info.clauses, c)
	case "bool":
		return info.walkBool(body, depth, inFilter)
	default:
		info.fits = false
	}
	return nil
}

func (info *esQueryInfo) walkBool(body []byte, depth int, inFilter bool) error {
	var b map[string]json.RawMessage
	if json.Unmarshal(body, &b) != nil {
		return esParsing("[bool] query malformed, expected a JSON object")
	}
	for k, v := range b {
		switch k {
		case "must", "filter":
			for _, q := range esClauseList(v) {
				if err := info.walk(q, depth+1, inFilter || k == "filter"); err != nil {
					return err
				}
			}
		case "should":
			_, must := b["must"]
			_, filter := b["filter"]
			if must || filter || !esMinimumShouldMatchOne(b["minimum_should_match"]) {
				// Beside must/filter, should clauses only score (or need
				// more than one match): no canonical meaning.
				if len(esClauseList(v)) > 0 {
					info.fits = false
				}
				continue
			}
			if err := info.walkShould(esClauseList(v), depth, inFilter); err != nil {
				return err
			}
		case "must_not":
			if len(esClauseList(v)) > 0 {
				info.fits = false
			}
		case "boost", "_name", "minimum_should_match":
		default:
			info.fits = false
		}
	}
	return nil
}

// esMinimumShouldMatchOne reports a minimum_should_match that asks for one
// matching should clause (absent, 1 or "1").
func esMinimumShouldMatchOne(raw []byte) bool {
	switch string(bytes.TrimSpace(raw)) {
	case "", "null", "1", `"1"`:
		return true
	}
	return false
}

// walkShould folds a bool made only of should clauses (at least one must
// match) into info when it has a canonical meaning: full-text queries that
// all search the same text (as search UIs send one text several ways:
// fuzzy, bool_prefix, phrase) are that text; term queries on one field are
// that field IN their values.
func (info *esQueryInfo) walkShould(list []json.RawMessage, depth int, inFilter bool) error {
	var text string
	hasText := false
	var clause *Clause
	for _, raw := range list {
		sub := esQueryInfo{fits: true}
		if err := sub.walk(raw, depth+1, inFilter); err != nil {
			return err
		}
		switch {
		case !sub.fits:
			info.fits = false
			return nil
		case sub.hasText && len(sub.clauses) == 0 && (!hasText || sub.text == text):
			text, hasText = sub.text, true
		case !sub.hasText && len(sub.clauses) == 1 && clause == nil:
			c := sub.clauses[0]
			clause = &Clause{Field: c.Field, Values: append([]string(nil), c.Values...)}
		case !sub.hasText && len(sub.clauses) == 1 && clause.Field == sub.clauses[0].Field:
			clause.Values = append(clause.Values, sub.clauses[0].Values...)
		default:
			info.fits = false // a disjunction the canonical query cannot say
			return nil
		}
	}
	switch {
	case hasText && clause != nil, hasText && info.hasText && info.text != text:
		info.fits = false
	case hasText:
		info.text, info.hasText = text, true
	case clause != nil:
		info.clauses = append(info.clauses, *clause)
	}
	return nil
}

// esClauseList reads a bool occurrence: one query object or an array of them.
func esClauseList(raw []byte) []json.RawMessage {
	raw = bytes.TrimSpace(raw)
	if len(raw) > 0 && raw[0] == '{' {
		return []json.RawMessage{raw}
	}
	var list []json.RawMessage
	_ = json.Unmarshal(raw, &list)
	return list
}

// esQueryText extracts the query text of a full-text query.
func esQueryText(typ string, body []byte) (string, bool) {
	var m map[string]json.RawMessage
	if json.Unmarshal(body, &m) != nil {
		return "", false
	}
	if typ == "match" || typ == "match_phrase" {
		// {"field": "text"} or {"field": {"query": "text", ...}}
		if len(m) != 1 {
			return "", false
		}
		for _, v := range m {
			if isObject(v) {
				var inner map[string]json.RawMessage
				if json.Unmarshal(v, &inner) != nil {
					return "", false
				}
				v = inner["query"]
			}
			return jsonScalar(v)
		}
	}
	return jsonScalar(m["query"])
}

// esTermClause reads {"field": value | {"value": v}} or {"field": [values]}.
func esTermClause(typ string, body []byte) (Clause, bool) {
	var m map[string]json.RawMessage
	if json.Unmarshal(body, &m) != nil {
		return Clause{}, false
	}
	delete(m, "boost")
	delete(m, "_name")
	if len(m) != 1 {
		return Clause{}, false
	}
	for field, v := range m {
		if typ == "term" {
			if isObject(v) {
				var inner map[string]json.RawMessage
				if json.Unmarshal(v, &inner) != nil {
					return Clause{}, false
				}
				v = inner["value"]
			}
			s, ok := jsonScalar(v)
			return Clause{Field: field, Values: []string{s}}, ok
		}
		var elems []json.RawMessage
		if json.Unmarshal(v, &elems) != nil || len(elems) == 0 {
			return Clause{}, false // terms lookup objects are not translated
		}
		c := Clause{Field: field}
		for _, e := range elems {
			s, ok := jsonScalar(e)
			if !ok {
				return Clause{}, false
			}
			c.Values = append(c.Values, s)
		}
		return c, true
	}
	return Clause{}, false
}

// esAgg is one terms aggregation of the client's request.
type esAgg struct {
	Name, Field string
	Size        int // 0: Elasticsearch's default, 10
}

// parseESAggs reads "aggs"/"aggregations". Only terms aggregations on a
// field, without sub-aggregations, can be merged across shards; any other
// aggregation is an illegal_argument_exception (rather than silently dropped).
func parseESAggs(raw []byte) ([]esAgg, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil {
		return nil, esParsing("[aggs] expected a JSON object of aggregations")
	}
	aggs := make([]esAgg, 0, len(m))
	for name, body := range m {
		var a struct {
			Terms *struct {
				Field string          `json:"field"`
				Size  json.RawMessage `json:"size"`
			} `json:"terms"`
			Aggs         json.RawMessage `json:"aggs"`
			Aggregations json.RawMessage `json:"aggregations"`
		}
		if json.Unmarshal(body, &a) != nil || a.Terms == nil || a.Terms.Field == "" || a.Aggs != nil || a.Aggregations != nil {
			return nil, esIllegal("aggregation [" + name + "] cannot be federated: only terms aggregations on a field, without sub-aggregations, are merged across shards")
		}
		agg := esAgg{Name: name, Field: a.Terms.Field}
		if a.Terms.Size != nil {
			n, ok := rawCount(a.Terms.Size)
			if !ok {
				return nil, esIllegal("[size] must be a non-negative integer in aggregation [" + name + "]")
			}
			agg.Size = n
		}
		aggs = append(aggs, agg)
	}
	sort.Slice(aggs, func(i, j int) bool { return aggs[i].Name < aggs[j].Name })
	return aggs, nil
}

// parseESSource reads "_source": true/false, a field, a list of fields or
// {includes, excludes}. nil means all fields; an empty list none. Excludes are
// not translated (same-dialect shards still receive them).
func parseESSource(raw []byte) ([]string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	if v, ok := rawBool(raw); ok {
		if v {
			return nil, nil
		}
		return []string{}, nil
	}
	if ss, ok := rawStrings(raw); ok {
		return ss, nil
	}
	var obj struct {
		Includes json.RawMessage `json:"includes"`
		Include  json.RawMessage `json:"include"`
	}
	if json.Unmarshal(raw, &obj) == nil {
		inc := obj.Includes
		if inc == nil {
			inc = obj.Include
		}
		if inc == nil {
			return nil, nil
		}
		if ss, ok := rawStrings(inc); ok {
			return ss, nil
		}
	}
	return nil, esParsing("[_source] expected a boolean, a field, an array of fields or an object with includes")
}

// buildESQuery renders the canonical text and filter as Query DSL.
func buildESQuery(text string, f *Filter) map[string]any {
	var must any
	if text != "" {
		must = map[string]any{"multi_match": map[string]any{"query": text}}
	}
	if f == nil || len(f.And) == 0 {
		if must == nil {
			return map[string]any{"match_all": map[string]any{}}
		}
		return must.(map[string]any)
	}
	filters := make([]any, 0, len(f.And))
	for _, c := range f.And {
		if len(c.Values) == 1 {
			filters = append(filters, map[string]any{"term": map[string]any{c.Field: c.Values[0]}})
			continue
		}
		filters = append(filters, map[string]any{"terms": map[string]any{c.Field: c.Values}})
	}
	b := map[string]any{"filter": filters}
	if must != nil {
		b["must"] = must
	}
	return map[string]any{"bool": b}
}
