// Package federate is the path to build Caddy with:
//
//	xcaddy build --with github.com/searchfront/caddy-federate
//
// It registers the federate HTTP handler (package caddyfederate) and the
// latency selection policy (package health) with Caddy.
package federate

import (
	_ "github.com/searchfront/caddy-federate/caddyfederate"
	_ "github.com/searchfront/caddy-federate/health"
)
