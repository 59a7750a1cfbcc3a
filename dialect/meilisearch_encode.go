package dialect

import (
	"strconv"

	"github.com/searchfront/caddy-federate/merge"
)

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
	o := q.Display
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
		if o.ShowScore && h.Hit.Scored {
			num = appendFloat(num[:0], h.Hit.Score)
			fs = append(fs, field{"_rankingScore", num})
		}
		fed = appendFederation(fed[:0], h, q.Explain)
		fs = append(fs, field{"_federation", fed})
		b = appendObjectWith(b, meiliDoc(q, h), fs...)
	}
	b = append(b, `],"query":`...)
	b = appendString(b, q.Text)
	b = append(b, `,"processingTimeMs":`...)
	b = strconv.AppendInt(b, tookMillis(res.Took), 10)
	limit := clientLimit(q, m.DefaultLimit())
	if o.Paged {
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
		b = append(b, `,"facetDistribution":`...)
		b = appendMeiliFacets(b, res.Result.Facets)
	}
	b = m.appendRemoteErrors(b, res.Shards)
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

func (meilisearch) EncodeError(e *Error) []byte {
	code, typ := e.Code, e.Type
	if code == "" {
		code = codeForStatus(e.Status)
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

// appendMeiliFacets writes a facetDistribution object.
func appendMeiliFacets(b []byte, facets []merge.Facet) []byte {
	b = append(b, '{')
	for i, f := range facets {
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
	return append(b, '}')
}

// appendRemoteErrors lists failed and skipped shards in remoteErrors, as
// Meilisearch lists failed remotes of a federated search.
func (m meilisearch) appendRemoteErrors(b []byte, shards []ShardReport) []byte {
	failed := failedShards(shards)
	if len(failed) == 0 {
		return b
	}
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
	return append(b, '}')
}
