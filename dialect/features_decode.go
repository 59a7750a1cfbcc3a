package dialect

import (
	"encoding/json"
	"net/url"
	"strings"
)

// What each client dialect's decoder adds for the cross-dialect features:
// sort and highlighting (sort.go, highlight.go), and an audit of parameters
// no other dialect can express, which are recorded in Query.NativeOnly so
// that shards of other dialects refuse them instead of dropping them.

// nativeOnly records a construct only the client's own dialect can take.
func (q *Query) nativeOnly(what string) {
	q.NativeOnly = append(q.NativeOnly, what)
}

// meiliNative are Meilisearch search parameters with no translation: they
// change which hits match or how they rank (hybrid and vector search,
// thresholds, distinct, matching strategy, searchable attributes, locales)
// or what a hit shows (match positions, vectors).
var meiliNative = []string{"hybrid", "vector", "retrieveVectors", "rankingScoreThreshold", "distinct",
	"matchingStrategy", "attributesToSearchOn", "locales", "showMatchesPosition"}

// decodeMeiliFeatures reads sort and highlighting from a POST body and
// audits it.
func decodeMeiliFeatures(q *Query, m map[string]json.RawMessage) error {
	if err := decodeMeiliSort(q, m["sort"]); err != nil {
		return err
	}
	if err := decodeMeiliHighlight(q, m); err != nil {
		return err
	}
	for _, k := range meiliNative {
		v, ok := m[k]
		if !ok || meiliDefault(k, string(v)) {
			continue
		}
		q.nativeOnly("the Meilisearch `" + k + "` parameter")
	}
	return nil
}

// decodeMeiliFeatureParams is decodeMeiliFeatures for the GET form.
func decodeMeiliFeatureParams(q *Query, p url.Values) error {
	if p.Has("sort") {
		raw, _ := json.Marshal(p.Get("sort"))
		if err := decodeMeiliSort(q, raw); err != nil {
			return err
		}
	}
	if err := decodeMeiliHighlightParams(q, p); err != nil {
		return err
	}
	for _, k := range meiliNative {
		if p.Has(k) && !meiliDefault(k, `"`+p.Get(k)+`"`) && !meiliDefault(k, p.Get(k)) {
			q.nativeOnly("the Meilisearch `" + k + "` parameter")
		}
	}
	return nil
}

// meiliDefault reports a parameter value that asks for nothing beyond the
// default (null, false, the default matching strategy).
func meiliDefault(k, v string) bool {
	v = strings.TrimSpace(v)
	return v == "null" || v == "false" || (k == "matchingStrategy" && v == `"last"`)
}

// esNative are Elasticsearch search body members with no translation.
var esNative = []string{"knn", "rank", "retriever", "collapse", "rescore", "search_after", "suggest",
	"script_fields", "min_score", "indices_boost", "runtime_mappings", "pit", "terminate_after", "slice",
	"docvalue_fields", "stored_fields", "fields", "sub_searches", "ext"}

// decodeESFeatures reads sort and highlighting and audits the body.
func decodeESFeatures(q *Query, m map[string]json.RawMessage, p url.Values) error {
	if err := decodeESSort(q, m["sort"], p); err != nil {
		return err
	}
	if err := decodeESHighlight(q, m["highlight"]); err != nil {
		return err
	}
	for _, k := range esNative {
		if v, ok := m[k]; ok && string(v) != "null" {
			q.nativeOnly("the Elasticsearch `" + k + "` option")
		}
	}
	return decodeESPostFilter(q, m)
}

// decodeESPostFilter ands a post_filter of terms into Filter. It filters
// hits after aggregations are counted, which other dialects cannot say:
// with aggregations it is native-only; a post_filter outside the
// translatable subset is passed only to Elasticsearch shards.
func decodeESPostFilter(q *Query, m map[string]json.RawMessage) error {
	raw, ok := m["post_filter"]
	if !ok || string(raw) == "null" {
		return nil
	}
	info, err := parseESQuery(raw)
	if err != nil {
		return err
	}
	switch {
	case !info.fits || info.hasText:
		q.RawFilter = true
	case len(q.Facets) > 0:
		q.nativeOnly("the Elasticsearch `post_filter` with aggregations (facet counts ignore it)")
	case len(info.clauses) > 0:
		if q.Filter == nil {
			q.Filter = &Filter{}
		}
		q.Filter.And = append(q.Filter.And, info.clauses...)
	}
	return nil
}

// tsNative are Typesense search parameters with no translation.
var tsNative = []string{"vector_query", "group_by", "pinned_hits", "hidden_hits", "exclude_fields", "voice_query", "conversation"}

// decodeTSFeatures reads sort_by and highlighting and audits p.
func decodeTSFeatures(q *Query, p url.Values) error {
	if err := decodeTSSort(q, p.Get("sort_by")); err != nil {
		return err
	}
	decodeTSHighlight(q, p)
	for _, k := range tsNative {
		if v := p.Get(k); v != "" && v != "false" {
			q.nativeOnly("the Typesense `" + k + "` parameter")
		}
	}
	return nil
}

// decodeSolrFeatures reads sort and hl and audits p: a query with local
// params ({!knn ...}, {!func ...}), grouping and re-ranking do not
// translate.
func decodeSolrFeatures(q *Query, p url.Values) error {
	if err := decodeSolrSort(q, p.Get("sort")); err != nil {
		return err
	}
	decodeSolrHighlight(q, p)
	if strings.HasPrefix(strings.TrimSpace(p.Get("q")), "{!") {
		q.nativeOnly("a Solr query with local params (" + strings.SplitN(strings.TrimSpace(p.Get("q")), "}", 2)[0] + "})")
	}
	for _, k := range []string{"group", "rq", "collapse", "expand"} {
		if v := p.Get(k); v != "" && v != "false" {
			q.nativeOnly("the Solr `" + k + "` parameter")
		}
	}
	return nil
}
