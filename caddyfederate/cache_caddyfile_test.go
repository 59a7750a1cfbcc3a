package caddyfederate

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
)

// TestParseCache: the cache block becomes the documented JSON, and bad
// input is an error naming the problem.
func TestParseCache(t *testing.T) {
	d := caddyfile.NewTestDispenser(`cache {
		ttl 30s
		max_size 8MiB
		timeout 20ms
		store redis redis://10.0.0.5:6379/2 {
			password {env.REDIS_PASSWORD}
			key_prefix shop:
		}
	}`)
	d.Next()
	cc, err := parseCache(d)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(cc)
	want := `{"ttl":30000000000,"max_size":8388608,"store":"redis","redis":{"addresses":["redis://10.0.0.5:6379/2"],"password":"{env.REDIS_PASSWORD}","key_prefix":"shop:"},"timeout":20000000}`
	if string(b) != want {
		t.Fatalf("got %s\nwant %s", b, want)
	}
	for in, msg := range map[string]string{
		"cache {\n\tstore disk\n}":                        "unknown cache store",
		"cache {\n\tstore redis\n}":                       "needs an address",
		"cache {\n\tttl 1m\n\tttl 2m\n}":                  "given twice",
		"cache {\n\tsize 1MiB\n}":                         "unknown cache option",
		"cache {\n\tstore memory extra\n}":                "takes no arguments",
		"cache {\n\tmax_size lots\n}":                     "max_size: \"lots\" is not a size",
		"cache {\n\tstore redis h:1 {\n\t\tdb -1\n\t}\n}": "db must be",
	} {
		d := caddyfile.NewTestDispenser(in)
		d.Next()
		if _, err := parseCache(d); err == nil || !strings.Contains(err.Error(), msg) {
			t.Errorf("%q: error %v, want one saying %q", in, err, msg)
		}
	}
}
