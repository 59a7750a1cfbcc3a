package caddyfederate

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2/caddyconfig"
)

// adaptHandler adapts a Caddyfile and returns the federate handler's JSON.
func adaptHandler(t *testing.T, site string) map[string]any {
	t.Helper()
	cf := "{\n\tadmin off\n}\n:8080 {\n" + site + "\n}\n"
	out, _, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(cf), nil)
	if err != nil {
		t.Fatalf("adapt: %v", err)
	}
	var found map[string]any
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			if x["handler"] == "federate" {
				found = x
				return
			}
			for _, c := range x {
				walk(c)
			}
		case []any:
			for _, c := range x {
				walk(c)
			}
		}
	}
	var cfg any
	if err := json.Unmarshal(out, &cfg); err != nil {
		t.Fatal(err)
	}
	walk(cfg)
	if found == nil {
		t.Fatalf("no federate handler in %s", out)
	}
	return found
}

func TestCaddyfileFull(t *testing.T) {
	h := adaptHandler(t, `
	federate /indexes/* {
		dialect meilisearch
		merge score zscore mnz {
			depth 50
			max_facet_values 20
		}
		dedupe sku
		limit 15
		max_window 500
		timeout 800ms
		min_shards 2
		require eu
		max_request_body 64KiB
		max_response_size 2MiB
		shard eu 10.0.0.1:7700 10.0.0.2:7700 {
			index products
			weight 1.5
			timeout 300ms
			lb_policy least_conn
			health_uri /health
			header_up X-Dialect dialect
		}
		shard us {
			dialect elasticsearch
			to 10.0.1.1:9200
			index products-us
		}
	}`)
	want := map[string]any{
		"dialect": "meilisearch", "dedupe": "sku", "limit": 15.0, "max_window": 500.0,
		"timeout": 800e6, "min_shards": 2.0, "require": []any{"eu"},
		"max_request_body": 65536.0, "max_response_size": 2097152.0,
	}
	for k, v := range want {
		if !reflect.DeepEqual(h[k], v) {
			t.Errorf("%s = %#v, want %#v", k, h[k], v)
		}
	}
	m := h["merge"].(map[string]any)
	if m["strategy"] != "score" || m["normalizer"] != "zscore" || m["combine"] != "mnz" || m["depth"] != 50.0 || m["max_facet_values"] != 20.0 {
		t.Errorf("merge = %v", m)
	}
	shards := h["shards"].([]any)
	eu := shards[0].(map[string]any)
	if eu["name"] != "eu" || eu["index"] != "products" || eu["weight"] != 1.5 || eu["timeout"] != 300e6 {
		t.Errorf("shard eu = %v", eu)
	}
	proxy := eu["proxy"].(map[string]any)
	if proxy["handler"] != "reverse_proxy" {
		t.Fatalf("proxy = %v", proxy)
	}
	for _, k := range []string{"index", "weight", "timeout", "name", "dialect"} {
		if _, ok := proxy[k]; ok {
			t.Errorf("federate option %q leaked into the reverse_proxy config", k)
		}
	}
	ups, _ := json.Marshal(proxy["upstreams"])
	if string(ups) != `[{"dial":"10.0.0.1:7700"},{"dial":"10.0.0.2:7700"}]` {
		t.Errorf("upstreams = %s", ups)
	}
	lb, _ := json.Marshal(proxy["load_balancing"])
	if !strings.Contains(string(lb), `"policy":"least_conn"`) {
		t.Errorf("load_balancing = %s", lb)
	}
	hc, _ := json.Marshal(proxy["health_checks"])
	if !strings.Contains(string(hc), `"uri":"/health"`) {
		t.Errorf("health_checks = %s", hc)
	}
	hdr, _ := json.Marshal(proxy["headers"])
	if !strings.Contains(string(hdr), `"X-Dialect":["dialect"]`) {
		t.Errorf("an argument that reads like a federate option must stay reverse_proxy's: headers = %s", hdr)
	}
	us := shards[1].(map[string]any)
	if us["dialect"] != "elasticsearch" || us["index"] != "products-us" {
		t.Errorf("shard us = %v", us)
	}
	ups, _ = json.Marshal(us["proxy"].(map[string]any)["upstreams"])
	if string(ups) != `[{"dial":"10.0.1.1:9200"}]` {
		t.Errorf("`to` upstreams = %s", ups)
	}
}

func TestCaddyfileJSONDialect(t *testing.T) {
	h := adaptHandler(t, `
	federate {
		merge auto homogeneous
		shard legacy 127.0.0.1:9000 {
			dialect json
			json {
				path "/api/find?text={federate.q}&n={federate.limit}"
				hits /results
				id /key
				score /relevance
				total /count
			}
		}
	}`)
	if m := h["merge"].(map[string]any); m["strategy"] != "auto" || m["homogeneous"] != true {
		t.Errorf("merge = %v", m)
	}
	s := h["shards"].([]any)[0].(map[string]any)
	want := map[string]any{"path": "/api/find?text={federate.q}&n={federate.limit}", "hits": "/results", "id": "/key", "score": "/relevance", "total": "/count"}
	if !reflect.DeepEqual(s["json"], want) {
		t.Errorf("json = %v, want %v", s["json"], want)
	}
	if _, ok := s["proxy"].(map[string]any)["json"]; ok {
		t.Errorf("json block leaked into the proxy")
	}
}

func TestCaddyfileErrors(t *testing.T) {
	cases := map[string]string{
		"unknown option":   "federate {\n nope 1\n}",
		"repeated option":  "federate {\n limit 1\n limit 2\n}",
		"bad merge":        "federate {\n merge best\n}",
		"calibrated args":  "federate {\n merge calibrated 60\n}",
		"bad weight":       "federate {\n shard a 127.0.0.1:1 {\n weight -1\n }\n}",
		"shard needs name": "federate {\n shard\n}",
		"bad duration":     "federate {\n timeout soon\n}",
		"bad size":         "federate {\n max_request_body lots\n}",
	}
	for name, site := range cases {
		t.Run(name, func(t *testing.T) {
			cf := ":8080 {\n" + site + "\n}\n"
			if _, _, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(cf), nil); err == nil {
				t.Errorf("adapted without error:\n%s", cf)
			}
		})
	}
}
