package dialect

// ResponseAppender is implemented by dialects that can write the merged
// answer into a buffer the caller provides: AppendResponse is EncodeResponse
// writing into dst[:0] (a new buffer when dst is too small), so a caller that
// recycles answer buffers allocates none per request.
type ResponseAppender interface {
	AppendResponse(dst []byte, q *Query, res *Response) ([]byte, error)
}

var (
	_ ResponseAppender = meilisearch{}
	_ ResponseAppender = esDialect{}
)
