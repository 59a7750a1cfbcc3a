package dialect

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
)

// meilisearch speaks the Meilisearch search API
// (https://www.meilisearch.com/docs/reference/api/search): clients call
// POST or GET /indexes/{uid}/search; shards are asked the same way with
// showRankingScore on, so that score-based merges have a score.
//
// A hit's Doc is the document as Meilisearch returned it minus the
// ranking metadata it adds (_rankingScore, _rankingScoreDetails and any
// _federation of a federated answer); display fields the client asked for
// (_formatted, _matchesPosition, _geoDistance, _vectors) stay in Doc.
type meilisearch struct{}

func init() { register(meilisearch{}) }

const meiliName = "meilisearch"

func (meilisearch) Name() string      { return meiliName }
func (meilisearch) DefaultLimit() int { return 20 }

// meiliError is a 400 invalid_request error with a Meilisearch error code.
func meiliError(code, msg string) *Error {
	return &Error{Status: http.StatusBadRequest, Code: code, Type: "invalid_request", Message: msg}
}

// meiliIndex returns the uid in /indexes/{uid}/search, wherever the route
// mounts it.
func meiliIndex(p string) string {
	var buf [8]string
	segs := appendSplitNonEmpty(buf[:0], p, '/')
	for i := len(segs) - 1; i >= 1; i-- {
		if segs[i-1] == "indexes" && (i+1 >= len(segs) || segs[i+1] == "search") {
			if uid, err := url.PathUnescape(segs[i]); err == nil {
				return uid
			}
		}
	}
	return ""
}

func (meilisearch) DecodeRequest(r *http.Request, body []byte) (*Query, error) {
	q := &Query{Dialect: meiliName, Method: r.Method, Index: meiliIndex(r.URL.Path)}
	if r.URL != nil && r.URL.RawQuery != "" {
		q.Params = r.URL.Query()
	}
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		return q, decodeMeiliParams(q, q.Params)
	}
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return q, nil
	}
	q.Body = body
	m, ok := rawObject(body)
	if !ok {
		return nil, meiliError("malformed_payload", "The search body must be a JSON object.")
	}
	return q, decodeMeiliBody(q, m)
}

// decodeMeiliBody reads the fields of a POST search body.
func decodeMeiliBody(q *Query, m map[string]json.RawMessage) error {
	if v, ok := m["q"]; ok && string(v) != "null" {
		if s, ok := plainString(v); ok {
			q.Text = s
		} else if json.Unmarshal(v, &q.Text) != nil {
			return meiliError("invalid_search_q", "Invalid value type at `.q`: expected a string.")
		}
	}
	var page, hitsPerPage int
	counts := []struct {
		key, code string
		dst       *int
		set       *bool
	}{
		{"offset", "invalid_search_offset", &q.Offset, nil},
		{"limit", "invalid_search_limit", &q.Limit, &q.HasLimit},
		{"page", "invalid_search_page", &page, nil},
		{"hitsPerPage", "invalid_search_hits_per_page", &hitsPerPage, nil},
	}
	for _, c := range counts {
		v, ok := m[c.key]
		if !ok || string(v) == "null" {
			continue
		}
		n, ok := rawCount(v)
		if !ok {
			return meiliError(c.code, "Invalid value type at `."+c.key+"`: expected a positive integer.")
		}
		*c.dst = n
		if c.set != nil {
			*c.set = true
		}
	}
	if err := meiliPaging(q, m["page"] != nil, page, m["hitsPerPage"] != nil, hitsPerPage); err != nil {
		return err
	}
	f, rawOnly, err := parseMeiliFilter(m["filter"])
	if err != nil {
		return err
	}
	q.Filter, q.RawFilter = f, rawOnly
	lists := []struct {
		key, code string
		dst       *[]string
	}{
		{"facets", "invalid_search_facets", &q.Facets},
		{"attributesToRetrieve", "invalid_search_attributes_to_retrieve", &q.Fields},
	}
	for _, l := range lists {
		v, ok := m[l.key]
		if !ok || string(v) == "null" {
			continue
		}
		var ss []string
		if json.Unmarshal(v, &ss) != nil {
			return meiliError(l.code, "Invalid value type at `."+l.key+"`: expected an array of strings.")
		}
		*l.dst = ss
	}
	q.Fields = meiliFields(q.Fields)
	for _, key := range []string{"showRankingScore", "showRankingScoreDetails"} {
		if v, ok := m[key]; ok {
			if _, ok := rawBool(v); !ok {
				return meiliError("invalid_search_"+snake(key), "Invalid value type at `."+key+"`: expected a boolean.")
			}
		}
	}
	q.Explain, _ = rawBool(m["showRankingScoreDetails"])
	q.Display.ShowScore, _ = rawBool(m["showRankingScore"])
	return decodeMeiliFeatures(q, m)
}

// decodeMeiliParams reads the documented GET form, with comma-separated
// lists.
func decodeMeiliParams(q *Query, p url.Values) error {
	q.Text = p.Get("q")
	var page, hitsPerPage int
	for _, c := range []struct {
		key, code string
		dst       *int
	}{
		{"offset", "invalid_search_offset", &q.Offset},
		{"limit", "invalid_search_limit", &q.Limit},
		{"page", "invalid_search_page", &page},
		{"hitsPerPage", "invalid_search_hits_per_page", &hitsPerPage},
	} {
		if !p.Has(c.key) {
			continue
		}
		n, ok := parseCount(p.Get(c.key))
		if !ok {
			return meiliError(c.code, "Invalid value in parameter `"+c.key+"`: could not parse `"+p.Get(c.key)+"` as a positive integer.")
		}
		*c.dst = n
	}
	q.HasLimit = p.Has("limit")
	if err := meiliPaging(q, p.Has("page"), page, p.Has("hitsPerPage"), hitsPerPage); err != nil {
		return err
	}
	if p.Has("filter") {
		raw, _ := json.Marshal(p.Get("filter"))
		f, rawOnly, err := parseMeiliFilter(raw)
		if err != nil {
			return err
		}
		q.Filter, q.RawFilter = f, rawOnly
	}
	q.Facets = splitList(p.Get("facets"))
	q.Fields = meiliFields(splitList(p.Get("attributesToRetrieve")))
	for _, key := range []string{"showRankingScore", "showRankingScoreDetails"} {
		if v := p.Get(key); v != "" && v != "true" && v != "false" {
			return meiliError("invalid_search_"+snake(key), "Invalid value in parameter `"+key+"`: could not parse `"+v+"` as a boolean.")
		}
	}
	q.Explain = p.Get("showRankingScoreDetails") == "true"
	q.Display.ShowScore = p.Get("showRankingScore") == "true"
	return decodeMeiliFeatureParams(q, p)
}

// meiliPaging maps page/hitsPerPage onto offset/limit, as Meilisearch's
// finite pagination does (page counts from 1).
func meiliPaging(q *Query, hasPage bool, page int, hasHPP bool, hpp int) error {
	if !hasPage && !hasHPP {
		return nil
	}
	if hasPage && page == 0 {
		return meiliError("invalid_search_page", "Invalid value at `.page`: page numbers start at 1.")
	}
	if !hasPage {
		page = 1
	}
	if !hasHPP {
		hpp = 20
	}
	q.Offset, q.Limit, q.HasLimit = (page-1)*hpp, hpp, true
	q.Display.Paged = true
	return nil
}

// meiliFields treats ["*"] as all attributes.
func meiliFields(fs []string) []string {
	for _, f := range fs {
		if f == "*" {
			return nil
		}
	}
	return fs
}

// snake turns showRankingScore into show_ranking_score for error codes.
func snake(s string) string {
	var b []byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'A' && c <= 'Z' {
			b = append(b, '_', c+'a'-'A')
			continue
		}
		b = append(b, c)
	}
	return string(b)
}
