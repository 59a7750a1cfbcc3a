package dialect

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"

	"github.com/searchfront/caddy-federate/merge"
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
	segs := pathSegments(p)
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
	if r.URL != nil {
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
		if json.Unmarshal(v, &q.Text) != nil {
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
	return nil
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
	return nil
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

func (m meilisearch) BuildRequest(q *Query, t Target) (*Request, error) {
	index := targetIndex(q, t)
	if index == "" {
		return nil, meiliError("missing_index_uid", "Shard "+t.Shard+" needs an index: set `index` on the shard or call /indexes/{uid}/search.")
	}
	path := "/indexes/" + url.PathEscape(index) + "/search"
	limit := windowLimit(t, m.DefaultLimit())
	if q.Dialect == meiliName {
		return meiliPassThrough(q, t, path, limit)
	}
	if q.RawFilter {
		return nil, unsupportedFilter(q, t, meiliName)
	}
	body := map[string]any{
		"q":                q.Text,
		"offset":           t.Offset,
		"limit":            limit,
		"showRankingScore": true,
	}
	if q.Filter != nil && len(q.Filter.And) > 0 {
		body["filter"] = formatMeiliFilter(q.Filter)
	}
	if len(q.Facets) > 0 {
		body["facets"] = q.Facets
	}
	if q.Fields != nil {
		// The id must come back even when the client did not ask for it:
		// without it the hit cannot be deduplicated or addressed.
		fields := q.Fields
		if !slices.Contains(fields, "id") && !slices.Contains(fields, "*") {
			fields = append(slices.Clip(fields), "id")
		}
		body["attributesToRetrieve"] = fields
	}
	b, err := json.Marshal(body)
	if err != nil {
		return nil, err
	}
	return &Request{Method: http.MethodPost, Path: path, Body: b, ContentType: "application/json"}, nil
}

// meiliPassThrough forwards a Meilisearch client's request as sent, with only
// the window rewritten and the ranking score asked for.
func meiliPassThrough(q *Query, t Target, path string, limit int) (*Request, error) {
	if len(q.Body) == 0 {
		p := url.Values{}
		for k, v := range q.Params {
			p[k] = v
		}
		p.Del("page")
		p.Del("hitsPerPage")
		p.Set("offset", strconv.Itoa(t.Offset))
		p.Set("limit", strconv.Itoa(limit))
		p.Set("showRankingScore", "true")
		return &Request{Method: http.MethodGet, Path: path, RawQuery: p.Encode()}, nil
	}
	// The body was validated by DecodeRequest: splice it, member by
	// member, rather than decode and re-encode it for every shard.
	b := make([]byte, 0, len(q.Body)+64)
	b = append(b, '{')
	err := eachMemberRaw(q.Body, func(k, _ []byte, start, end int) bool {
		switch string(k) {
		case "page", "hitsPerPage", "offset", "limit", "showRankingScore":
			return true
		}
		b = append(b, q.Body[start:end]...)
		b = append(b, ',')
		return true
	})
	if err != nil {
		return nil, meiliError("malformed_payload", "The search body must be a JSON object.")
	}
	b = append(b, `"offset":`...)
	b = strconv.AppendInt(b, int64(t.Offset), 10)
	b = append(b, `,"limit":`...)
	b = strconv.AppendInt(b, int64(limit), 10)
	b = append(b, `,"showRankingScore":true}`...)
	return &Request{Method: http.MethodPost, Path: path, Body: b, ContentType: "application/json"}, nil
}

// meiliMeta reports the members Meilisearch adds about ranking, which are
// not part of the document.
func meiliMeta(k []byte) bool {
	return string(k) == "_rankingScore" || string(k) == "_rankingScoreDetails" || string(k) == "_federation"
}

func (meilisearch) DecodeResponse(body []byte, idField string) (merge.List, error) {
	v, err := topMembers(body, "hits", "estimatedTotalHits", "totalHits", "facetDistribution")
	if err != nil {
		return merge.List{}, errInvalid(meiliName, err)
	}
	if !isArray(v[0]) {
		return merge.List{}, errInvalidMsg(meiliName, "no hits array")
	}
	if idField == "" {
		idField = "id"
	}
	var l merge.List
	// Documents cut of their ranking metadata share one buffer: at most
	// the size of the hits, so appending never moves earlier documents.
	// body's spare capacity serves when it is large enough (see
	// Dialect.DecodeResponse): no allocation per answer.
	arena := body[len(body):len(body)]
	if cap(arena) < len(v[0]) {
		arena = make([]byte, 0, len(v[0]))
	}
	l.Hits, err = decodeHits(meiliName, v[0], func(h []byte) (merge.Hit, error) { return meiliHit(h, idField, &arena) })
	if err != nil {
		return merge.List{}, err
	}
	est, hasEst, err1 := rawInt(v[1])
	total, hasTotal, err2 := rawInt(v[2])
	if err := errors.Join(err1, err2); err != nil {
		return merge.List{}, errInvalid(meiliName, err)
	}
	switch {
	case hasTotal:
		l.Total = total
	case hasEst:
		// An estimate, exact below maxTotalHits; treated as the count.
		l.Total = est
	default:
		l.Total, l.TotalRelation = int64(len(l.Hits)), merge.Gte
	}
	if len(v[3]) > 0 && string(v[3]) != "null" {
		if err := json.Unmarshal(v[3], &l.Facets); err != nil {
			return merge.List{}, errInvalid(meiliName, err)
		}
	}
	return l, nil
}

// meiliHit reads one hit in one walk: its id when idField is a top-level
// member, its _rankingScore, and where ranking metadata sits. The document
// without that metadata is written to arena (see cutMembers).
func meiliHit(h []byte, idField string, arena *[]byte) (merge.Hit, error) {
	hit := merge.Hit{Native: h, Doc: h}
	var id []byte
	var members memberSpans
	if err := eachMemberRaw(h, func(k, v []byte, start, end int) bool {
		switch {
		case string(k) == idField:
			id = v
		case string(k) == "_rankingScore":
			hit.Score, hit.Scored = rawFloat(v)
		}
		members.add(start, end, meiliMeta(k))
		return true
	}); err != nil {
		return merge.Hit{}, errInvalidMsg(meiliName, "a hit is not an object")
	}
	if id == nil {
		id, _ = lookupPath(h, idField)
	}
	hit.ID = scalarString(id)
	switch {
	case members.overflow:
		hit.Doc = withoutMembers(h, meiliMeta)
	case members.cut:
		hit.Doc = members.appendKept(arena, h)
	}
	return hit, nil
}

func (meilisearch) EncodeError(e *Error) []byte {
	code, typ := e.Code, e.Type
	if code == "" {
		code = meiliCodeFor(e.Status)
	}
	if typ == "" {
		typ = "invalid_request"
		if e.Status >= 500 {
			typ = "system"
		}
	}
	b := make([]byte, 0, 128+len(e.Message))
	b = append(b, `{"message":`...)
	b = appendString(b, e.Message)
	b = append(b, `,"code":`...)
	b = appendString(b, code)
	b = append(b, `,"type":`...)
	b = appendString(b, typ)
	b = append(b, `,"link":`...)
	b = appendString(b, "https://docs.meilisearch.com/errors#"+code)
	return append(b, '}')
}

func meiliCodeFor(status int) string {
	switch {
	case status == http.StatusRequestEntityTooLarge:
		return "payload_too_large"
	case status == http.StatusNotFound:
		return "index_not_found"
	case status == http.StatusGatewayTimeout:
		return "shard_timeout"
	case status >= 500:
		return "shard_unavailable"
	}
	return "bad_request"
}
