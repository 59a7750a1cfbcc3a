// clients.mjs drives the official JavaScript clients against a federate caddy
// (integration/e2e/clients_js_test.go starts the fleet and runs it):
//
//   FEDERATE_URL=http://127.0.0.1:PORT PARTIAL=0|1 node clients.mjs
//
// Routes: Elasticsearch under /es, Meilisearch and Typesense at the root.
// PARTIAL=1 means one shard is stopped: answers must still come, and say so.
// Exits non-zero with the failed check's message.
import assert from "node:assert/strict";
import { Client as ESClient } from "@elastic/elasticsearch";
import { Meilisearch } from "meilisearch";
import Typesense from "typesense";

const base = process.env.FEDERATE_URL;
const partial = process.env.PARTIAL === "1";
const text = "network server";

async function elasticsearch() {
  const es = new ESClient({ node: base + "/es" });
  const info = await es.info();
  assert.match(info.version.number, /^9\./, "info: a 9.x version for a 9.x client");
  const page = (from) => es.search({ index: "docs", from, size: 5, query: { match: { body: text } } });
  const [p1, p2] = [await page(0), await page(5)];
  assert.equal(p1.hits.hits.length, 5, "search: a full first page");
  assert.equal(p2.hits.hits.length, 5, "search: a full second page");
  const ids = new Set(p1.hits.hits.map((h) => h._id));
  for (const h of p2.hits.hits) assert.ok(!ids.has(h._id), `paging: ${h._id} on both pages`);
  assert.equal(p1._shards.failed, partial ? 1 : 0, "search: _shards.failed");
  const ms = await es.msearch({
    searches: [
      { index: "docs" }, { query: { match: { body: text } }, size: 3 },
      { index: "docs" }, { aggs: { p: { avg: { field: "price" } } } },
    ],
  });
  assert.equal(ms.responses.length, 2, "msearch: two responses");
  assert.equal(ms.responses[0].status, 200, "msearch: item 0 answered");
  assert.equal(ms.responses[0].hits.hits.length, 3, "msearch: item 0 hits");
  assert.equal(ms.responses[0]._shards.failed, partial ? 1 : 0, "msearch: item 0 _shards.failed");
  assert.equal(ms.responses[1].status, 400, "msearch: item 1 is an error in its place");
  assert.ok(ms.responses[1].error.type, "msearch: item 1 error type");
  const count = await es.count({ index: "docs", query: { match: { body: text } } });
  assert.ok(count.count >= p1.hits.total.value && count.count > 0, `count ${count.count}`);
  assert.equal(count._shards.failed, partial ? 1 : 0, "count: _shards.failed");
}

async function meilisearch() {
  const c = new Meilisearch({ host: base });
  assert.equal((await c.health()).status, "available", "health");
  assert.ok((await c.getVersion()).pkgVersion, "version");
  const s = await c.index("docs").search(text, { limit: 5 });
  assert.equal(s.hits.length, 5, "search hits");
  const plain = await c.multiSearch({
    queries: [{ indexUid: "docs", q: "network", limit: 3 }, { indexUid: "docs", q: "server", limit: 2 }],
  });
  assert.deepEqual(plain.results.map((r) => [r.indexUid, r.hits.length]), [["docs", 3], ["docs", 2]], "multiSearch plain");
  const fed = await c.multiSearch({
    federation: { limit: 6 },
    queries: [{ indexUid: "docs", q: "network" }, { indexUid: "docs", q: "server", federationOptions: { weight: 2 } }],
  });
  assert.equal(fed.hits.length, 6, "multiSearch federated: one list");
  for (const h of fed.hits) {
    assert.equal(h._federation.indexUid, "docs", "_federation.indexUid");
    assert.ok([0, 1].includes(h._federation.queriesPosition), "_federation.queriesPosition");
    assert.equal(typeof h._federation.weightedRankingScore, "number", "_federation.weightedRankingScore");
    assert.ok(h._federation.shard, "_federation.shard");
  }
  assert.equal(Object.keys(fed.remoteErrors ?? {}).length, partial ? 1 : 0, "federated remoteErrors");
}

async function typesense() {
  const u = new URL(base);
  const c = new Typesense.Client({
    nodes: [{ host: u.hostname, port: Number(u.port), protocol: "http" }], apiKey: "unused", connectionTimeoutSeconds: 5,
  });
  const r = await c.multiSearch.perform(
    { union: true, searches: [{ collection: "docs", q: "network", query_by: "title,body" }, { collection: "docs", q: "server", query_by: "title,body" }] },
    { per_page: 5 },
  );
  assert.equal(r.hits.length, 5, "union: one page of hits");
  for (const h of r.hits) assert.ok([0, 1].includes(h.search_index), "union: search_index");
  assert.equal(r.union_request_params.length, 2, "union_request_params");
  if (partial) assert.equal(r.federate?.complete, false, "union: the partial answer says so");
}

let failed = 0;
for (const [name, run] of Object.entries({ elasticsearch, meilisearch, typesense })) {
  try {
    await run();
    console.log(`ok ${name}`);
  } catch (e) {
    failed++;
    console.error(`FAIL ${name}: ${e.message}`);
  }
}
process.exit(failed ? 1 : 0);
