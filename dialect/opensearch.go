package dialect

// OpenSearch keeps Elasticsearch 7's search API
// (https://opensearch.org/docs/latest/api-reference/search/): the same
// request body, the same hits/_shards/aggregations answer, the same error
// shape. It is the Elasticsearch dialect under its own name; queries pass
// through between the two.
func init() { register(esDialect{name: "opensearch"}) }
