package dialect

import (
	"encoding/json"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/searchfront/caddy-federate/merge"
)

// formatTSFilter writes f as `a:=[`x`,`y`] && b:=`z“.
func formatTSFilter(f *Filter, t Target) (string, error) {
	parts := make([]string, 0, len(f.And))
	for _, c := range f.And {
		if !isFieldName(c.Field) || len(c.Values) == 0 {
			return "", unsupportedConstruct(t, tsName, "filter field "+strconv.Quote(c.Field))
		}
		vs := make([]string, len(c.Values))
		for i, v := range c.Values {
			if strings.Contains(v, "`") {
				return "", unsupportedConstruct(t, tsName, "a filter value containing a backtick")
			}
			vs[i] = "`" + v + "`"
		}
		if len(vs) == 1 {
			parts = append(parts, c.Field+":="+vs[0])
		} else {
			parts = append(parts, c.Field+":=["+strings.Join(vs, ",")+"]")
		}
	}
	return strings.Join(parts, " && "), nil
}

func (ts typesense) BuildRequest(q *Query, t Target) (*Request, error) {
	index := targetIndex(q, t)
	name, extra, err := splitIndex(index)
	if err != nil || name == "" {
		return nil, tsError(http.StatusBadRequest, "Shard "+t.Shard+" needs a Typesense collection: set `index` on the shard (e.g. \"products?query_by=title\") or call /collections/{c}/documents/search.")
	}
	var p url.Values
	if q.Dialect == tsName {
		p = cloneParams(q.Params)
		p.Del("collection")
	} else {
		p = url.Values{}
		if q.RawFilter {
			return nil, unsupportedFilter(q, t, tsName)
		}
		p.Set("q", "*")
		if q.Text != "" {
			p.Set("q", q.Text)
		}
		if q.Filter != nil && len(q.Filter.And) > 0 {
			fb, err := formatTSFilter(q.Filter, t)
			if err != nil {
				return nil, err
			}
			p.Set("filter_by", fb)
		}
		if len(q.Facets) > 0 {
			p.Set("facet_by", strings.Join(q.Facets, ","))
			p.Set("max_facet_values", "100")
		}
		if q.Fields != nil {
			p.Set("include_fields", strings.Join(append(append([]string{}, q.Fields...), "id"), ","))
		}
	}
	if err := enforceParams(p, extra, "filter_by", andScript("`")); err != nil {
		return nil, err
	}
	if p.Get("query_by") == "" {
		return nil, tsError(http.StatusBadRequest, "Shard "+t.Shard+" (typesense) needs query_by: give it in the shard's index, e.g. \""+name+"?query_by=title,description\".")
	}
	if err := setTSWindow(p, t, windowLimit(t, ts.DefaultLimit())); err != nil {
		return nil, err
	}
	return &Request{Method: http.MethodGet, Path: "/collections/" + url.PathEscape(name) + "/documents/search", RawQuery: p.Encode()}, nil
}

// setTSWindow asks for [t.Offset, t.Offset+limit): page=1 and
// per_page=limit from offset 0, page arithmetic when the offset is a
// multiple of the limit, offset/limit parameters otherwise.
func setTSWindow(p url.Values, t Target, limit int) error {
	for _, k := range []string{"page", "per_page", "offset", "limit"} {
		p.Del(k)
	}
	if limit > tsMaxPerPage {
		return &Error{Status: http.StatusBadRequest, Code: "bad_request", Type: "invalid_request",
			Message: "Shard " + t.Shard + " (typesense) cannot return " + strconv.Itoa(limit) + " hits in one page (at most 250): ask for a smaller window."}
	}
	switch {
	case t.Offset == 0:
		p.Set("page", "1")
		p.Set("per_page", strconv.Itoa(limit))
	case limit > 0 && t.Offset%limit == 0:
		p.Set("page", strconv.Itoa(t.Offset/limit+1))
		p.Set("per_page", strconv.Itoa(limit))
	default:
		p.Set("offset", strconv.Itoa(t.Offset))
		p.Set("limit", strconv.Itoa(limit))
	}
	return nil
}

// tsFacetCounts is an answer's facet_counts.
type tsFacetCounts []struct {
	FieldName string `json:"field_name"`
	Counts    []struct {
		Count int64           `json:"count"`
		Value json.RawMessage `json:"value"`
	} `json:"counts"`
	Stats struct {
		TotalValues *int64 `json:"total_values"`
	} `json:"stats"`
}

func (typesense) DecodeResponse(body []byte, idField string) (merge.List, error) {
	if idField == "" {
		idField = "id"
	}
	var l merge.List
	var bad error
	walk := hitsWalker(&l, &bad, func(h []byte) (merge.Hit, error) { return decodeTSHit(h, idField) })
	top, err := topMembers(body, walk, "hits", "found", "search_cutoff", "facet_counts")
	if bad != nil {
		return merge.List{}, bad
	}
	if err != nil {
		return merge.List{}, errInvalid(tsName, err)
	}
	found, hasFound, err := rawInt(top[1])
	if err != nil {
		return merge.List{}, errInvalid(tsName, err)
	}
	if !hasFound || len(top[0]) == 0 || string(top[0]) == "null" {
		return merge.List{}, errInvalidMsg(tsName, "no found and hits (grouped answers are not federated)")
	}
	if !isArray(top[0]) {
		return merge.List{}, errInvalidMsg(tsName, "hits is not an array")
	}
	l.Total = found
	if len(top[2]) > 0 && string(top[2]) != "null" {
		cutoff, ok := rawBool(top[2])
		if !ok {
			return merge.List{}, errInvalidMsg(tsName, "search_cutoff is not a boolean")
		}
		if cutoff {
			l.TotalRelation = merge.Gte
		}
	}
	var fcs tsFacetCounts
	if len(top[3]) > 0 && string(top[3]) != "null" {
		if err := json.Unmarshal(top[3], &fcs); err != nil {
			return merge.List{}, errInvalid(tsName, err)
		}
	}
	for _, f := range fcs {
		m := facetCounts(&l, f.FieldName, len(f.Counts))
		for _, c := range f.Counts {
			m[scalarString(c.Value)] += c.Count
		}
		if f.Stats.TotalValues != nil && *f.Stats.TotalValues > int64(len(f.Counts)) {
			l.FacetsTruncated = true
		}
	}
	return l, nil
}

// decodeTSHit reads document, text_match and (when text_match is absent)
// text_match_info.score from one hit.
func decodeTSHit(h []byte, idField string) (merge.Hit, error) {
	hit := merge.Hit{Native: h}
	var info []byte
	err := eachMember(h, func(k string, v []byte, _, _ int) bool {
		switch k {
		case "document":
			hit.Doc = v
		case "text_match":
			hit.Score, hit.Scored = rawFloat(v)
		case "text_match_info":
			info = v
		}
		return true
	})
	if err != nil {
		return hit, errInvalidMsg(tsName, "a hit is not an object")
	}
	if !isObject(hit.Doc) {
		return hit, errInvalidMsg(tsName, "a hit has no document object")
	}
	if !hit.Scored && info != nil {
		if v, ok := member(info, "score"); ok {
			var s string
			if json.Unmarshal(v, &s) == nil {
				if f, err := strconv.ParseFloat(s, 64); err == nil && !math.IsInf(f, 0) && !math.IsNaN(f) {
					hit.Score, hit.Scored = f, true
				}
			}
		}
	}
	if v, ok := lookupPath(hit.Doc, idField); ok {
		hit.ID = scalarString(v)
	}
	return hit, nil
}
