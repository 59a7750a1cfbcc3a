package dialect

// MultiSearcher is implemented by client dialects whose one request can
// carry several independent searches (Typesense's POST /multi_search). A
// handler that knows it fans every search out on its own and answers with
// EncodeMulti; one that does not answers the first search only (EncodeResponse
// then reports the others as not run).
type MultiSearcher interface {
	// SplitSearches returns the searches of q in request order, or nil when
	// q is a single search.
	SplitSearches(q *Query) ([]*Query, error)
	// EncodeMulti writes the answers to SplitSearches' queries, in order;
	// res[i] is nil when errs[i] says why search i failed.
	EncodeMulti(qs []*Query, res []*Response, errs []*Error) ([]byte, error)
}
