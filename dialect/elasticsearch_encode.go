package dialect

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/searchfront/caddy-federate/merge"
)

// The answer follows the _search response body and, for per-shard status,
// the _clusters object of cross-cluster search
// (https://www.elastic.co/guide/en/elasticsearch/reference/current/search-search.html#search-api-response-body,
// https://www.elastic.co/guide/en/elasticsearch/reference/current/modules-cross-cluster-search.html):
// each federated shard counts as one shard in _shards and as one cluster in
// _clusters.details. As in Elasticsearch, _shards.successful includes skipped
// shards; _clusters counts successful, skipped, partial and failed apart.

// esClusterStatus maps a shard status onto a CCS cluster status: an
// unreachable remote with skip_unavailable is "skipped", a timed-out one
// "partial".
func esClusterStatus(s Status) string {
	switch s {
	case StatusOK:
		return "successful"
	case StatusTimeout:
		return "partial"
	case StatusUnavailable, StatusSkipped:
		return "skipped"
	}
	return "failed"
}

// esFailureType names a shard failure with the exception type Elasticsearch
// reports for the same cause.
func esFailureType(s Status) string {
	switch s {
	case StatusTimeout:
		return "timeout_exception"
	case StatusUnavailable:
		return "no_shard_available_action_exception"
	case StatusInvalid:
		return "parse_exception"
	case StatusSkipped:
		return "illegal_argument_exception"
	}
	return "remote_transport_exception"
}

func appendESReason(b []byte, typ, reason string) []byte {
	b = append(b, `{"type":`...)
	b = appendString(b, typ)
	b = append(b, `,"reason":`...)
	b = appendString(b, reason)
	return append(b, '}')
}

// appendESFailure writes one entry of a failures array.
func appendESFailure(b []byte, shard int, r ShardReport) []byte {
	b = append(b, `{"shard":`...)
	b = strconv.AppendInt(b, int64(shard), 10)
	b = append(b, `,"index":`...)
	b = appendString(b, r.Name)
	if r.Replica != "" {
		b = append(b, `,"node":`...)
		b = appendString(b, r.Replica)
	}
	b = append(b, `,"reason":`...)
	return append(appendESReason(b, esFailureType(r.Status), shardReason(r)), '}')
}

// esCounts is one _shards object.
type esCounts struct{ total, successful, skipped, failed int }

func (c esCounts) append(b []byte) []byte {
	b = append(b, `{"total":`...)
	b = strconv.AppendInt(b, int64(c.total), 10)
	b = append(b, `,"successful":`...)
	b = strconv.AppendInt(b, int64(c.successful), 10)
	b = append(b, `,"skipped":`...)
	b = strconv.AppendInt(b, int64(c.skipped), 10)
	b = append(b, `,"failed":`...)
	b = strconv.AppendInt(b, int64(c.failed), 10)
	return b
}

func (d esDialect) EncodeResponse(q *Query, res *Response) ([]byte, error) {
	return d.AppendResponse(nil, q, res)
}

// AppendResponse is EncodeResponse writing into dst[:0] (ResponseAppender).
func (d esDialect) AppendResponse(dst []byte, q *Query, res *Response) ([]byte, error) {
	if q.Display.Count {
		return encodeESCount(res), nil
	}
	size := 512
	for i := range res.Result.Hits {
		size += len(res.Result.Hits[i].Doc) + 256
	}
	b := dst[:0]
	if cap(b) < size {
		b = make([]byte, 0, size)
	}
	sh, timedOut, cl := countESShards(res.Shards)
	b = append(b, `{"took":`...)
	b = strconv.AppendInt(b, tookMillis(res.Took), 10)
	b = append(b, `,"timed_out":`...)
	b = strconv.AppendBool(b, timedOut)
	b = appendESShards(b, sh, res.Shards)
	b = appendESClusters(b, res.Shards, cl)
	b = appendESHits(b, q, res)
	b = d.appendAggs(b, q, res.Result.Facets)
	return append(b, '}'), nil
}

// countESShards counts shards for _shards and clusters for _clusters.
func countESShards(rs []ShardReport) (sh esCounts, timedOut bool, cl map[string]int) {
	cl = map[string]int{}
	for _, r := range rs {
		sh.total++
		switch r.Status {
		case StatusOK:
			sh.successful++
		case StatusSkipped:
			sh.successful++
			sh.skipped++
		default:
			sh.failed++
		}
		if r.Status == StatusTimeout {
			timedOut = true
		}
		cl[esClusterStatus(r.Status)]++
	}
	return sh, timedOut, cl
}

// appendESShards writes the _shards object: counts and failures.
func appendESShards(b []byte, sh esCounts, shards []ShardReport) []byte {
	b = append(b, `,"_shards":`...)
	b = sh.append(b)
	if sh.failed > 0 {
		b = append(b, `,"failures":[`...)
		n := 0
		for i, r := range shards {
			if r.Status == StatusOK || r.Status == StatusSkipped {
				continue
			}
			if n > 0 {
				b = append(b, ',')
			}
			b = appendESFailure(b, i, r)
			n++
		}
		b = append(b, ']')
	}
	return append(b, '}')
}

func appendESClusters(b []byte, shards []ShardReport, counts map[string]int) []byte {
	b = append(b, `,"_clusters":{"total":`...)
	b = strconv.AppendInt(b, int64(len(shards)), 10)
	for _, k := range []string{"successful", "skipped", "running", "partial", "failed"} {
		b = append(b, ',', '"')
		b = append(b, k...)
		b = append(b, '"', ':')
		b = strconv.AppendInt(b, int64(counts[k]), 10)
	}
	b = append(b, `,"details":{`...)
	for i, r := range shards {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, r.Name)
		b = append(b, `:{"status":`...)
		b = appendString(b, esClusterStatus(r.Status))
		b = append(b, `,"took":`...)
		b = strconv.AppendInt(b, tookMillis(r.Took), 10)
		b = append(b, `,"timed_out":`...)
		b = strconv.AppendBool(b, r.Status == StatusTimeout)
		c := esCounts{total: 1}
		switch r.Status {
		case StatusOK:
			c.successful = 1
		case StatusSkipped, StatusUnavailable:
			c.skipped = 1
		default:
			c.failed = 1
		}
		b = append(b, `,"_shards":`...)
		b = append(c.append(b), '}')
		if r.Status != StatusOK {
			b = append(b, `,"failures":[`...)
			b = appendESFailure(b, -1, r)
			b = append(b, ']')
		}
		b = append(b, '}')
	}
	return append(b, "}}"...)
}

// esNativeHit reports whether a Native hit is an Elasticsearch/OpenSearch hit
// object (rather than another engine's document).
func esNativeHit(native []byte) bool {
	if !isObject(native) {
		return false
	}
	var hasIndex, hasID bool
	_ = eachMemberRaw(native, func(k, _ []byte, _, _ int) bool {
		switch string(k) {
		case "_index":
			hasIndex = true
		case "_id":
			hasID = true
		}
		return !(hasIndex && hasID)
	})
	return hasIndex && hasID
}

func appendESHits(b []byte, q *Query, res *Response) []byte {
	hits := res.Result.Hits
	b = append(b, `,"hits":{"total":{"value":`...)
	b = strconv.AppendInt(b, res.Result.Total, 10)
	b = append(b, `,"relation":`...)
	rel := string(res.Result.TotalRelation)
	if rel == "" {
		rel = string(merge.Eq)
	}
	b = appendString(b, rel)
	b = append(b, `},"max_score":`...)
	if len(hits) == 0 {
		b = append(b, "null"...)
	} else {
		best := hits[0].Score
		for _, h := range hits[1:] {
			best = max(best, h.Score)
		}
		b = appendFloat(b, best)
	}
	b = append(b, `,"hits":[`...)
	var score []byte
	for i := range hits {
		h := &hits[i]
		if i > 0 {
			b = append(b, ',')
		}
		score = appendFloat(score[:0], h.Score)
		fs := []field{{"_score", score}}
		if q.Explain {
			fs = append(fs, field{"_federation", appendFederation(nil, h, true)}, field{"_explanation", esExplanation(h)})
		}
		if esNativeHit(h.Native) {
			native := withoutMembers(h.Native, func(k []byte) bool {
				return string(k) == "_score" || string(k) == "_federation" || (q.Explain && string(k) == "_explanation")
			})
			b = appendObjectWith(b, native, fs...)
			continue
		}
		doc := h.Doc
		if len(doc) == 0 {
			doc = emptyObject
		}
		fs = append(fs, esHitExtras(q, h)...)
		b = append(b, `{"_index":`...)
		b = appendString(b, h.Shard)
		b = append(b, `,"_id":`...)
		b = appendString(b, hitID(h))
		b = append(b, `,"_source":`...)
		b = append(b, doc...)
		for _, f := range fs {
			b = append(b, ',')
			b = appendString(b, f.Key)
			b = append(b, ':')
			b = append(b, f.Val...)
		}
		b = append(b, '}')
	}
	return append(b, "]}"...)
}

// esExplanation renders the fusion of a hit as an Elasticsearch explanation
// tree: the fused score, with one detail per shard occurrence.
func esExplanation(h *merge.Fused) []byte {
	b := []byte(`{"value":`)
	b = appendFloat(b, h.Score)
	b = append(b, `,"description":`...)
	b = appendString(b, "federated fusion of "+strconv.Itoa(len(h.Sources))+" shard hit(s)")
	b = append(b, `,"details":[`...)
	for i, s := range h.Sources {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"value":`...)
		b = appendFloat(b, s.Contribution)
		b = append(b, `,"description":`...)
		desc := "shard " + s.Shard + ": rank " + strconv.Itoa(s.Rank) +
			", raw score " + strconv.FormatFloat(s.Raw, 'g', -1, 64) +
			", normalized " + strconv.FormatFloat(s.Normalized, 'g', -1, 64)
		b = appendString(b, desc)
		b = append(b, `,"details":[]}`...)
	}
	return append(b, "]}"...)
}

// appendAggs writes merged facets as terms aggregations under the client's
// aggregation names (facets are keyed by field across shards), cut to the
// client's size with the rest counted in sum_other_doc_count.
func (d esDialect) appendAggs(b []byte, q *Query, facets []merge.Facet) []byte {
	if len(facets) == 0 {
		return b
	}
	aggs := q.Display.FacetNames
	if len(aggs) == 0 {
		for _, f := range facets {
			aggs = append(aggs, NamedFacet{Name: f.Name, Field: f.Name})
		}
	}
	byField := make(map[string]*merge.Facet, len(facets))
	for i := range facets {
		byField[facets[i].Name] = &facets[i]
	}
	b = append(b, `,"aggregations":{`...)
	for i, a := range aggs {
		if i > 0 {
			b = append(b, ',')
		}
		size := a.Size
		if size == 0 {
			size = 10
		}
		var vals []merge.FacetValue
		if f := byField[a.Field]; f != nil {
			vals = f.Values
		}
		var other int64
		if len(vals) > size {
			for _, v := range vals[size:] {
				other += v.Count
			}
			vals = vals[:size]
		}
		b = appendString(b, a.Name)
		b = append(b, `:{"doc_count_error_upper_bound":0,"sum_other_doc_count":`...)
		b = strconv.AppendInt(b, other, 10)
		b = append(b, `,"buckets":[`...)
		for j, v := range vals {
			if j > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"key":`...)
			b = appendString(b, v.Value)
			b = append(b, `,"doc_count":`...)
			b = strconv.AppendInt(b, v.Count, 10)
			b = append(b, '}')
		}
		b = append(b, "]}"...)
	}
	return append(b, '}')
}

// EncodeError writes {"error":{"root_cause":[...],"type","reason"},"status"}.
// Codes that are already Elasticsearch exception types are kept; others map
// by status: 5xx shard failures become search_phase_execution_exception with
// the shard cause as root cause.
func (esDialect) EncodeError(e *Error) []byte {
	typ, root := e.Code, e.Code
	if !strings.HasSuffix(typ, "_exception") {
		switch {
		case e.Status == http.StatusNotFound:
			typ = "index_not_found_exception"
		case e.Status >= 500:
			typ = "search_phase_execution_exception"
		default:
			typ = "illegal_argument_exception"
		}
		switch e.Code {
		case "shard_timeout":
			root = "timeout_exception"
		case "shard_unavailable":
			root = "no_shard_available_action_exception"
		default:
			root = typ
		}
	}
	status := e.Status
	if status == 0 {
		status = http.StatusInternalServerError
	}
	b := make([]byte, 0, 160+2*len(e.Message))
	b = append(b, `{"error":{"root_cause":[`...)
	b = appendESReason(b, root, e.Message)
	b = append(b, `],"type":`...)
	b = appendString(b, typ)
	b = append(b, `,"reason":`...)
	b = appendString(b, e.Message)
	b = append(b, `},"status":`...)
	b = strconv.AppendInt(b, int64(status), 10)
	return append(b, '}')
}
