package caddyfederate

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/caddyserver/caddy/v2"
)

// credentialHeaders are the request headers that carry a client's
// credentials to a search engine or to a web application: HTTP
// authentication (Meilisearch, Elasticsearch `ApiKey`/`Basic`/`Bearer`,
// OpenSearch, Solr), cookies, and the engines' API-key headers. They reach
// a shard only when it sets forward_credentials: a shard may be another
// party's engine, and a client's key is for the route, not for every engine
// behind it.
var credentialHeaders = []string{
	"Authorization", "Proxy-Authorization", "Cookie",
	"X-Meili-Api-Key", "X-Typesense-Api-Key", "X-Api-Key", "Api-Key", "X-Auth-Token",
	"Es-Secondary-Authorization", "X-Elastic-Client-Meta-Auth", "X-Algolia-Api-Key",
}

// credentialParams are URL query parameters that carry an API key
// (Typesense accepts its key as x-typesense-api-key); matched without
// regard to case.
var credentialParams = []string{"x-typesense-api-key", "api_key", "apikey"}

// stripCredentials removes the client's credentials from a shard's
// sub-request unless the shard forwards them. The shard's own header_up
// still sets what the operator wants (reverse_proxy applies it after this),
// and placeholders of the stripped headers and cookies keep the client's
// values, so `header_up Authorization {http.request.header.Authorization}`
// remains an explicit way to forward one.
func (s *Shard) stripCredentials(req *http.Request, repl *caddy.Replacer) {
	if s.ForwardCredentials {
		return
	}
	for _, name := range credentialHeaders {
		vals, ok := req.Header[name]
		if !ok {
			continue
		}
		if name == "Cookie" {
			for _, c := range req.Cookies() {
				repl.Set("http.request.cookie."+c.Name, c.Value)
			}
		}
		joined := strings.Join(vals, ",")
		repl.Set("http.request.header."+name, joined)
		repl.Set("http.request.header."+strings.ToLower(name), joined)
		delete(req.Header, name)
	}
	if req.URL.RawQuery != "" {
		req.URL.RawQuery = stripParams(req.URL.RawQuery)
		req.RequestURI = req.URL.RequestURI()
	}
}

// stripParams removes the credentialParams from a raw query, keeping the
// rest as it was written.
func stripParams(raw string) string {
	// Every credential parameter ends in "key"; an escaped name has a '%'.
	if !strings.Contains(strings.ToLower(raw), "key") && !strings.Contains(raw, "%") {
		return raw
	}
	parts := strings.Split(raw, "&")
	kept := parts[:0]
	for _, part := range parts {
		name, _, _ := strings.Cut(part, "=")
		if n, err := url.QueryUnescape(name); err == nil {
			name = n
		}
		if !isCredentialParam(name) {
			kept = append(kept, part)
		}
	}
	return strings.Join(kept, "&")
}

func isCredentialParam(name string) bool {
	for _, p := range credentialParams {
		if strings.EqualFold(name, p) {
			return true
		}
	}
	return false
}
