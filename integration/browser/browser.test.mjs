// Browser test of the demo page, an InstantSearch.js UI over
// instant-meilisearch: Debian's Chromium, headless, driven by playwright-core,
// against the demo that run.sh started (scripts/demo.sh). It searches (hits
// merged from several shards, each with its badge, highlighted), explains a
// fused hit ("why?"), refines by a facet, paginates, sorts, then stops one
// shard process and checks that federate still answers 200
// (Federate-Complete: false, remoteErrors) and that the page says the answer
// is partial. Every step is checked against the raw /multi-search answer the
// page received. Screenshots go to artifacts/.
//
// Environment: DEMO_URL (default http://localhost:8080/), DEMO_RUN_DIR (the
// demo's pid files, default ../../demo/.data/run), CHROMIUM (default
// /usr/bin/chromium), ARTIFACTS (default ./artifacts).
import { test as nodeTest, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdir, readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import path from "node:path";
import { chromium } from "playwright-core";

const here = path.dirname(fileURLToPath(import.meta.url));
const demoURL = process.env.DEMO_URL ?? "http://localhost:8080/";
const runDir = process.env.DEMO_RUN_DIR ?? path.join(here, "../../demo/.data/run");
const artifacts = process.env.ARTIFACTS ?? path.join(here, "artifacts");
const searchPath = "/multi-search"; // instant-meilisearch sends every search here
const SHARDS = ["es-bm25", "es-tfidf", "meili"];
const STOPPED = "meili"; // the shard the partial-answer test stops

let browser, page;
const consoleErrors = [];

before(async () => {
	await mkdir(artifacts, { recursive: true });
	browser = await chromium.launch({
		executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
		// As the machine notes say: no sandbox as root, and no background
		// traffic to hosts this closed network refuses.
		args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
			"--disable-background-networking", "--disable-component-update", "--disable-sync"],
		timeout: 30_000,
	});
	page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
	page.setDefaultTimeout(15_000);
	page.on("console", (m) => m.type() === "error" && consoleErrors.push(m.text()));
	page.on("pageerror", (e) => consoleErrors.push(String(e)));
});

after(async () => {
	await browser?.close();
});

// test is node:test's, plus a screenshot of the page when the test fails.
function test(name, fn) {
	nodeTest(name, async (t) => {
		try {
			await fn(t);
		} catch (err) {
			const file = "failed-" + name.replace(/[^a-z0-9]+/gi, "-").slice(0, 60) + ".png";
			await page?.screenshot({ path: path.join(artifacts, file) }).catch(() => {});
			throw err;
		}
	});
}

// multiSearch runs action and returns federate's answer to the first
// /multi-search request whose main query (queries[0]) satisfies pred, with
// that request's body.
async function multiSearch(pred, action) {
	const [resp] = await Promise.all([
		page.waitForResponse((r) => {
			if (new URL(r.url()).pathname !== searchPath || r.request().method() !== "POST") return false;
			const q = JSON.parse(r.request().postData() ?? "{}").queries?.[0];
			return q !== undefined && pred(q);
		}),
		action(),
	]);
	const req = JSON.parse(resp.request().postData()).queries[0];
	return { resp, req, body: await resp.json() };
}

// search types q into the search box (InstantSearch searches as you type).
async function search(q) {
	const out = await multiSearch((r) => r.q === q, () => page.fill(".ais-SearchBox-input", q));
	await settled(out.body);
	return out;
}

// settled waits until the page shows the hits of answer body's main result.
async function settled(body) {
	const ids = body.results[0].hits.map((h) => String(h.id));
	await page.waitForFunction((want) => {
		const got = [...document.querySelectorAll("#hits .hit")].map((h) => h.dataset.id);
		return got.length === want.length && got.every((id, i) => id === want[i]);
	}, ids);
}

// hits reads the rendered hits: id, title, kind and shard badges.
const hits = () => page.$$eval("#hits .hit", (hs) => hs.map((h) => ({
	id: h.dataset.id,
	title: h.querySelector(".title").textContent,
	badges: [...h.querySelectorAll(".badges .badge")].map((b) => b.dataset.shard),
	kind: h.querySelector(".kind").textContent,
	marks: h.querySelectorAll("mark").length,
})));

// facetItem is the refinement list item of value in attribute's list.
const facetItem = (attribute, value) => page.locator(`#facet-${attribute} .ais-RefinementList-item`)
	.filter({ has: page.locator(".ais-RefinementList-labelText", { hasText: new RegExp(`^${value}$`) }) });

const shardChips = () => page.$$eval("#shards .shard", (cs) => cs.map((c) => ({
	name: c.dataset.shard, status: c.dataset.status, text: c.textContent,
})));

test("the page loads InstantSearch and instant-meilisearch from npm's builds", async () => {
	const vendor = [];
	page.on("response", (r) => new URL(r.url()).pathname.startsWith("/vendor/") && vendor.push(r.status()));
	const resp = await page.goto(demoURL, { waitUntil: "load" });
	assert.equal(resp.status(), 200);
	await page.waitForSelector("#hits .hit"); // the empty query lists documents
	assert.deepEqual(vendor, [200, 200], "both libraries are served");
	assert.equal(await page.title(), "caddy-federate demo: Go standard library search");
	const facets = await page.$$eval("#facets section h2", (hs) => hs.map((h) => h.textContent));
	assert.deepEqual(facets, ["kind", "section", "pkg"]);
	assert.ok(await page.locator("#facet-kind .ais-RefinementList-item").count() > 1, "kind has values");
});

test("search merges hits from several shards, each with its badges, highlighted", async () => {
	const { resp, body } = await search("parse url");
	assert.equal(resp.status(), 200);
	assert.equal(resp.headers()["federate-complete"], "true");
	const res = body.results[0];
	assert.equal(res.indexUid, "godoc");
	assert.equal(res.remoteErrors, undefined);
	const hs = await hits();
	assert.ok(hs.length >= 5, `hits: ${hs.length}`);
	assert.deepEqual(hs.map((h) => h.id), res.hits.map((h) => String(h.id)), "page order is federate's order");
	for (const [i, h] of hs.entries()) {
		assert.deepEqual(h.badges, res.hits[i]._federation.sources.map((s) => s.shard), `hit ${h.id}: one badge per shard that had it`);
		for (const b of h.badges) assert.ok(SHARDS.includes(b), `badge ${b}`);
	}
	const from = new Set(hs.flatMap((h) => h.badges));
	assert.ok(from.size >= 2, `hits come from several shards, got ${[...from]}`);
	assert.ok(hs.some((h) => h.title === "url.Parse"), "url.Parse is found");
	assert.ok(hs.some((h) => h.marks > 0), "query words are highlighted");
	const chips = await shardChips();
	for (const c of chips) assert.equal(c.status, "ok");
	assert.equal(await page.isHidden("#partial"), true, "no partial notice on a complete answer");
});

test("why? explains a hit; a document in two shards is fused, with both badges", async () => {
	const { body } = await search("url");
	const netURL = body.results[0].hits.find((h) => h.id === "net_url");
	assert.ok(netURL, "net/url's overview is among the hits");
	assert.ok(netURL._federation.sources.length >= 2, "net/url's overview is in two shards");
	const hit = page.locator('#hits .hit[data-id="net_url"]');
	await hit.locator(".why").click();
	const table = hit.locator(".explain table");
	await table.waitFor({ state: "visible" });
	assert.equal(await table.locator("tbody tr").count(), netURL._federation.sources.length);
	assert.match(await table.locator("caption").textContent(), /fused into one hit/);
	const badges = await hit.locator(".badges .badge").evaluateAll((bs) => bs.map((b) => b.dataset.shard));
	assert.deepEqual(badges, netURL._federation.sources.map((s) => s.shard));
	assert.equal(new Set(body.results[0].hits.map((h) => h.id)).size, body.results[0].hits.length, "no duplicate hits");
	await page.screenshot({ path: path.join(artifacts, "search.png"), fullPage: false });
	await hit.locator(".why").click();
	await table.waitFor({ state: "hidden" });
});

test("a refinement filters the hits through a Meilisearch filter", async () => {
	await search("parse");
	const item = facetItem("kind", "func");
	const { resp, req, body } = await multiSearch((r) => JSON.stringify(r.filter ?? []).includes("kind"),
		() => item.locator("input").check());
	assert.equal(resp.status(), 200);
	assert.match(JSON.stringify(req.filter), /kind\s*=\s*\\?"func\\?"/, `filter: ${JSON.stringify(req.filter)}`);
	await settled(body);
	const hs = await hits();
	assert.ok(hs.length > 0);
	assert.ok(hs.every((h) => h.kind.startsWith("func")), `every hit is a func: ${hs.map((h) => h.kind)}`);
	assert.ok(body.results[0].hits.every((h) => h.kind === "func"));
});

test("pagination pages through the federated answer", async () => {
	const first = await hits();
	const { req, body } = await multiSearch((r) => (r.page ?? 1) === 2 || (r.offset ?? 0) > 0,
		() => page.locator(".ais-Pagination-item--page a", { hasText: /^2$/ }).click());
	await settled(body);
	const second = await hits();
	assert.ok(second.length > 0);
	assert.ok(second.every((h) => h.kind.startsWith("func")), "the refinement holds on page 2");
	const seen = new Set(first.map((h) => h.id));
	assert.ok(second.every((h) => !seen.has(h.id)), `page 2 repeats no hit of page 1 (request ${JSON.stringify({ page: req.page, offset: req.offset })})`);
	assert.equal(await page.locator(".ais-Pagination-item--selected").textContent(), "2");
});

test("sort by orders hits by a document field, exactly", async () => {
	const { req, body } = await multiSearch((r) => (r.sort ?? []).includes("id:asc"),
		() => page.selectOption(".ais-SortBy-select", "godoc:id:asc"));
	assert.equal(req.indexUid, "godoc");
	await settled(body);
	const ids = (await hits()).map((h) => h.id);
	assert.ok(ids.length > 1);
	assert.deepEqual(ids, [...ids].sort(), `hits in id order: ${ids}`);
	assert.equal(await page.locator(".ais-Pagination-item--selected").textContent(), "1", "a new sort starts at page 1");
	const desc = await multiSearch((r) => (r.sort ?? []).includes("id:desc"),
		() => page.selectOption(".ais-SortBy-select", "godoc:id:desc"));
	await settled(desc.body);
	const down = (await hits()).map((h) => h.id);
	assert.deepEqual(down, [...down].sort().reverse(), `hits in descending id order: ${down}`);
	assert.notDeepEqual(down, ids);
	await page.screenshot({ path: path.join(artifacts, "sorted.png"), fullPage: false });
	// Back to relevance and no refinement for the next test.
	await page.selectOption(".ais-SortBy-select", "godoc");
	await facetItem("kind", "func").locator("input").uncheck();
	await page.waitForFunction(() => [...document.querySelectorAll("#hits .kind")].some((k) => !k.textContent.startsWith("func")));
});

test("with one shard stopped the answer is partial, and the page says so", async () => {
	const pid = Number((await readFile(path.join(runDir, `${STOPPED}.pid`), "utf8")).trim());
	assert.ok(pid > 0, "the demo's pid file names the shard");
	process.kill(pid, "SIGKILL");
	await waitGone(pid);
	// A query not searched before: instant-meilisearch caches answers.
	const { resp, body } = await search("http client");
	assert.equal(resp.status(), 200, "federate answers 200 with the shards that are left");
	assert.equal(resp.headers()["federate-complete"], "false");
	const res = body.results[0];
	assert.ok(res.remoteErrors?.[STOPPED], `remoteErrors names ${STOPPED}: ${JSON.stringify(res.remoteErrors)}`);
	assert.ok(res.hits.length > 0, "the other shards' hits are still there");
	const notice = page.locator("#partial");
	await notice.waitFor({ state: "visible" });
	assert.match(await notice.textContent(), /Partial results/);
	assert.match(await notice.textContent(), new RegExp(STOPPED));
	const chips = await shardChips();
	const stopped = chips.find((c) => c.name === STOPPED);
	assert.equal(stopped?.status, "failed");
	for (const c of chips.filter((c) => c.name !== STOPPED)) assert.equal(c.status, "ok");
	const hs = await hits();
	assert.ok(hs.length > 0);
	assert.ok(hs.every((h) => !h.badges.includes(STOPPED)), "no hit claims the stopped shard");
	await page.screenshot({ path: path.join(artifacts, "partial.png"), fullPage: false });
});

test("the page logged no errors", () => {
	assert.deepEqual(consoleErrors, []);
});

async function waitGone(pid) {
	for (let i = 0; i < 100; i++) {
		try {
			process.kill(pid, 0);
		} catch {
			return;
		}
		await new Promise((r) => setTimeout(r, 50));
	}
	throw new Error(`shard process ${pid} did not exit`);
}
