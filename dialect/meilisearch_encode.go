package dialect

import (
	"bytes"
	"strconv"
)

// meiliOptions are the presentation switches of a Meilisearch request that
// Query does not carry: they change the answer's shape, not the search.
type meiliOptions struct {
	showScore bool
	paged     bool // page/hitsPerPage given: answer with finite pagination
}

func meiliOptionsOf(q *Query) meiliOptions {
	var o meiliOptions
	if q.Dialect != meiliName {
		return o
	}
	if len(q.Body) == 0 {
		o.showScore = q.Params != nil && len(q.Params["showRankingScore"]) > 0 && q.Params["showRankingScore"][0] == "true"
		o.paged = q.Params != nil && (len(q.Params["page"]) > 0 || len(q.Params["hitsPerPage"]) > 0)
		return o
	}
	// Re-read only the members that matter, and only when they can be there
	// ("age" is in both "page" and "hitsPerPage").
	if !bytes.Contains(q.Body, []byte("showRankingScore")) && !bytes.Contains(q.Body, []byte("age")) {
		return o
	}
	// q.Body was validated by DecodeRequest; the last of duplicate
	// members wins, as in encoding/json.
	_ = eachMemberRaw(q.Body, func(k, v []byte, _, _ int) bool {
		switch string(k) {
		case "showRankingScore":
			o.showScore, _ = rawBool(v)
		case "page", "hitsPerPage":
			o.paged = o.paged || string(bytes.TrimSpace(v)) != "null"
		}
		return true
	})
	return o
}

// meiliRemoteCode is the remoteErrors code for a failed shard.
func meiliRemoteCode(s Status) string {
	switch s {
	case StatusTimeout:
		return "shard_timeout"
	case StatusUnavailable:
		return "shard_unavailable"
	case StatusInvalid:
		return "shard_invalid_response"
	case StatusSkipped:
		return "shard_skipped"
	}
	return "shard_error"
}

// EncodeResponse writes a Meilisearch search answer. Each hit is its document
// with _federation {shard, rank, score} spliced in (plus sources with
// showRankingScoreDetails) and, when the client asked showRankingScore, the
// engine's own _rankingScore (only for shards that return scores). Failed and
// skipped shards are listed in remoteErrors, as Meilisearch lists failed
// remotes of a federated search.
func (m meilisearch) EncodeResponse(q *Query, res *Response) ([]byte, error) {
	return m.AppendResponse(nil, q, res)
}

// AppendResponse is EncodeResponse writing into dst[:0] (ResponseAppender).
func (m meilisearch) AppendResponse(dst []byte, q *Query, res *Response) ([]byte, error) {
	o := meiliOptionsOf(q)
	size := 256
	for i := range res.Result.Hits {
		size += len(res.Result.Hits[i].Doc) + 128
	}
	b := dst[:0]
	if cap(b) < size {
		b = make([]byte, 0, size)
	}
	b = append(b, `{"hits":[`...)
	var extra [3]field
	var num, fed []byte // scratch, reused for every hit
	for i := range res.Result.Hits {
		h := &res.Result.Hits[i]
		if i > 0 {
			b = append(b, ',')
		}
		fs := extra[:0]
		if o.showScore && h.Hit.Scored {
			num = appendFloat(num[:0], h.Hit.Score)
			fs = append(fs, field{"_rankingScore", num})
		}
		fed = appendFederation(fed[:0], h, q.Explain)
		fs = append(fs, field{"_federation", fed})
		b = appendObjectWith(b, h.Doc, fs...)
	}
	b = append(b, `],"query":`...)
	b = appendString(b, q.Text)
	b = append(b, `,"processingTimeMs":`...)
	b = strconv.AppendInt(b, tookMillis(res.Took), 10)
	limit := clientLimit(q, m.DefaultLimit())
	if o.paged {
		b = appendMeiliPages(b, q.Offset, limit, res.Result.Total)
	} else {
		b = append(b, `,"limit":`...)
		b = strconv.AppendInt(b, int64(limit), 10)
		b = append(b, `,"offset":`...)
		b = strconv.AppendInt(b, int64(q.Offset), 10)
		b = append(b, `,"estimatedTotalHits":`...)
		b = strconv.AppendInt(b, res.Result.Total, 10)
	}
	if len(q.Facets) > 0 || len(res.Result.Facets) > 0 {
		b = append(b, `,"facetDistribution":{`...)
		for i, f := range res.Result.Facets {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, f.Name)
			b = append(b, ":{"...)
			for j, v := range f.Values {
				if j > 0 {
					b = append(b, ',')
				}
				b = appendString(b, v.Value)
				b = append(b, ':')
				b = strconv.AppendInt(b, v.Count, 10)
			}
			b = append(b, '}')
		}
		b = append(b, '}')
	}
	if failed := failedShards(res.Shards); len(failed) > 0 {
		b = append(b, `,"remoteErrors":{`...)
		for i, r := range failed {
			if i > 0 {
				b = append(b, ',')
			}
			code := meiliRemoteCode(r.Status)
			typ := "system"
			if r.Status == StatusSkipped {
				typ = "invalid_request"
			}
			b = appendString(b, r.Name)
			b = append(b, ':')
			b = append(b, m.EncodeError(&Error{Code: code, Type: typ, Message: "shard " + r.Name + ": " + shardReason(r)})...)
		}
		b = append(b, '}')
	}
	return append(b, '}'), nil
}

// appendMeiliPages writes the finite-pagination members Meilisearch returns
// when the client paged with page/hitsPerPage.
func appendMeiliPages(b []byte, offset, limit int, total int64) []byte {
	page, pages := int64(1), int64(0)
	if limit > 0 {
		page = int64(offset/limit) + 1
		pages = (total + int64(limit) - 1) / int64(limit)
	}
	b = append(b, `,"hitsPerPage":`...)
	b = strconv.AppendInt(b, int64(limit), 10)
	b = append(b, `,"page":`...)
	b = strconv.AppendInt(b, page, 10)
	b = append(b, `,"totalPages":`...)
	b = strconv.AppendInt(b, pages, 10)
	b = append(b, `,"totalHits":`...)
	return strconv.AppendInt(b, total, 10)
}
