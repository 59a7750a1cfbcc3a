package dialect

import (
	"github.com/searchfront/caddy-federate/merge"
)

// Every hit carries the client dialect's id, taken from the shard's own id
// whatever the shard's dialect: Elasticsearch _id, the Meilisearch primary
// key field ("id" unless the route's dedupe field names another), Typesense
// document.id, Solr id. A document of another engine that lacks the field
// gets it spliced in from the shard's id.

// shardDocID is the hit's id in its shard: Elasticsearch's _id, else the
// document's "id" (Groonga's _key is decoded as "id"). When the route
// deduplicates by the id (idField ""), the decoder already read it.
func shardDocID(shardDialect string, h *merge.Hit, idField string) string {
	if idField == "" {
		return h.ID
	}
	if shardDialect == esName || shardDialect == "opensearch" {
		if v, ok := member(h.Native, "_id"); ok {
			return scalarString(v)
		}
		return ""
	}
	if v, ok := lookupPath(h.Doc, "id"); ok {
		return solrID(v)
	}
	return ""
}

// hitID is the id to show for a fused hit.
func hitID(h *merge.Fused) string {
	if h.DocID != "" {
		return h.DocID
	}
	return h.ID
}

// idField is the field of the client's answers that holds the id.
func (q *Query) idField() string {
	if q.IDField != "" {
		return q.IDField
	}
	return "id"
}

// withID returns doc with its id member, spliced in from the shard's id
// when the document lacks it (an Elasticsearch _source, say).
func withID(doc []byte, key string, h *merge.Fused) []byte {
	if !isObject(doc) {
		doc = emptyObject
	}
	if _, ok := member(doc, key); ok {
		return doc
	}
	id := hitID(h)
	if id == "" {
		return doc
	}
	return appendObjectWith(make([]byte, 0, len(doc)+len(key)+len(id)+8), doc, field{key, appendString(nil, id)})
}
