package dialect

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"

	"github.com/searchfront/caddy-federate/merge"
)

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
	if idField == "" {
		idField = "id"
	}
	var l merge.List
	// Documents cut of their ranking metadata share one buffer: at most
	// the size of the hits, so appending never moves earlier documents.
	// body's spare capacity serves when it is large enough (see
	// Dialect.DecodeResponse): no allocation per answer.
	arena := body[len(body):len(body)]
	var bad error // why a hit is unusable, reported as is
	hits := func(b []byte, i int) (int, error) {
		if i >= len(b) || b[i] != '[' {
			return validValue(b, i) // not an array: "no hits array" below
		}
		if cap(arena) < len(b)-i {
			arena = make([]byte, 0, len(b)-i)
		}
		l.Hits = newHits()
		return validArray(b, i, func(b []byte, i int) (int, error) {
			hit, end, err := meiliHit(b, i, idField, &arena)
			if err != nil {
				bad = err
				return 0, err
			}
			l.Hits = append(l.Hits, hit)
			return end, nil
		})
	}
	v, err := topMembers(body, hits, "hits", "estimatedTotalHits", "totalHits", "facetDistribution")
	if bad != nil {
		return merge.List{}, bad
	}
	if err != nil {
		return merge.List{}, errInvalid(meiliName, err)
	}
	if !isArray(v[0]) {
		return merge.List{}, errInvalidMsg(meiliName, "no hits array")
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

// meiliHit reads the hit at b[i] in one validating walk: its id when
// idField is a top-level member, its _rankingScore, and where ranking
// metadata sits. The document without that metadata is written to arena
// (see cutMembers). It returns the index just past the hit.
func meiliHit(b []byte, i int, idField string, arena *[]byte) (merge.Hit, int, error) {
	var hit merge.Hit
	var id []byte
	var members memberSpans
	start, end, err := validObject(b, i, func(k, v []byte, start, end int) {
		switch {
		case string(k) == idField:
			id = v
		case string(k) == "_rankingScore":
			hit.Score, hit.Scored = rawFloat(v)
		}
		members.add(start, end, meiliMeta(k))
	})
	if err != nil {
		if j := skipSpace(b, i); j < len(b) && b[j] != '{' {
			if _, err := validValue(b, i); err != nil {
				return merge.Hit{}, 0, errInvalid(meiliName, err)
			}
			return merge.Hit{}, 0, errInvalidMsg(meiliName, "a hit is not an object")
		}
		return merge.Hit{}, 0, errInvalid(meiliName, err)
	}
	h := b[start:end]
	hit.Native, hit.Doc = h, h
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
	return hit, end, nil
}
