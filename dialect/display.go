package dialect

// Display is what a client dialect's encoder needs from the request beyond
// the search itself: how the client wants the answer shaped. DecodeRequest
// fills it, so that EncodeResponse never reads the client's body again.
type Display struct {
	// ShowScore asks for each hit's engine score (Meilisearch
	// showRankingScore).
	ShowScore bool
	// Paged is true when the client paged by page number (Meilisearch
	// page/hitsPerPage): the answer then counts pages.
	Paged bool
	// FacetNames are the client's own names of its facets, in request order
	// (Elasticsearch aggregation names, Solr JSON facet names); nil when
	// facets are named by their field.
	FacetNames []NamedFacet
	// Count asks for a count only, no hits (Elasticsearch _count).
	Count bool
}

// NamedFacet is a facet as the client named it.
type NamedFacet struct {
	// Name is the client's name for the facet, Field the document field
	// whose values it counts.
	Name, Field string
	// Size is the number of values the client asked for; 0 means the
	// dialect's default.
	Size int
}
