// Browser test of the demo page: Debian's Chromium, headless, driven by
// playwright-core, against the demo that run.sh started (scripts/demo.sh).
// It searches, checks the merged hits and their shard badges, the facets and
// the on-demand explanation, then stops one shard process and checks that
// federate still answers 200 (Federate-Complete: false, remoteErrors) and
// that the page says the answer is partial. Screenshots go to artifacts/.
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
const searchPath = "/indexes/godoc/search";
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

// search types q into the box, submits, and returns federate's response to
// the search the page sent (the page talks through the meilisearch client).
async function search(q) {
	await page.fill("#q", q);
	const [resp] = await Promise.all([
		page.waitForResponse((r) => new URL(r.url()).pathname === searchPath && r.request().method() === "POST"
			&& JSON.parse(r.request().postData() ?? "{}").q === q),
		page.press("#q", "Enter"),
	]);
	await page.waitForFunction(() => !document.querySelector("#hits").hasAttribute("aria-busy"));
	return resp;
}

// hits reads the rendered hits: id, title and shard badges.
const hits = () => page.$$eval("#hits > li.hit", (lis) => lis.map((li) => ({
	id: li.dataset.id,
	title: li.querySelector(".title").textContent,
	badges: [...li.querySelectorAll(".badges .badge")].map((b) => b.dataset.shard),
	kind: li.querySelector(".kind").textContent,
})));

const shardChips = () => page.$$eval("#shards .shard", (cs) => cs.map((c) => ({
	name: c.dataset.shard, status: c.dataset.status, text: c.textContent,
})));

test("the page loads and the meilisearch client is served", async () => {
	const resp = await page.goto(demoURL, { waitUntil: "load" });
	assert.equal(resp.status(), 200);
	await page.waitForSelector("#hits > li.hit"); // the empty query lists documents
	assert.equal(await page.title(), "caddy-federate demo: Go standard library search");
});

test("search merges hits from several shards, each with its badge", async () => {
	const resp = await search("parse url");
	assert.equal(resp.status(), 200);
	assert.equal(resp.headers()["federate-complete"], "true");
	const body = await resp.json();
	assert.equal(body.remoteErrors, undefined);
	await page.waitForFunction(() => document.querySelectorAll("#hits > li.hit").length >= 10);
	const hs = await hits();
	assert.equal(hs.length, body.hits.length);
	assert.deepEqual(hs.map((h) => h.id), body.hits.map((h) => h.id), "page order is federate's order");
	for (const h of hs) {
		assert.equal(h.badges.length, 1, `hit ${h.id} has one badge before explaining`);
		assert.ok(SHARDS.includes(h.badges[0]), `badge ${h.badges[0]}`);
	}
	const from = new Set(hs.map((h) => h.badges[0]));
	assert.ok(from.size >= 2, `hits come from several shards, got ${[...from]}`);
	assert.ok(hs.some((h) => h.title === "url.Parse"), "url.Parse is found");
	const chips = await shardChips();
	assert.deepEqual(chips.map((c) => c.name).sort(), [...SHARDS].sort());
	for (const c of chips) {
		assert.equal(c.status, "ok");
		assert.match(c.text, /\d+\.\d ms/, `${c.name} shows its Server-Timing duration`);
	}
	assert.equal(await page.isHidden("#partial"), true, "no partial notice on a complete answer");
	const facets = await page.$$eval("#facets section h2", (hs) => hs.map((h) => h.textContent));
	assert.deepEqual(facets, ["kind", "section"]);
});

test("a facet filters the hits", async () => {
	const [resp] = await Promise.all([
		page.waitForResponse((r) => new URL(r.url()).pathname === searchPath),
		page.locator("#facets section", { hasText: "kind" }).getByLabel(/^\s*func\b/).check(),
	]);
	assert.equal(resp.status(), 200);
	await page.waitForFunction(() => [...document.querySelectorAll("#hits .kind")].every((k) => k.textContent.startsWith("func")));
	const hs = await hits();
	assert.ok(hs.length > 0);
	await page.locator("#facets section", { hasText: "kind" }).getByLabel(/^\s*func\b/).uncheck();
	await page.waitForFunction(() => [...document.querySelectorAll("#hits .kind")].some((k) => !k.textContent.startsWith("func")));
});

test("why? explains a hit; a document in two shards is fused, with both badges", async () => {
	const resp = await search("url");
	assert.equal(resp.status(), 200);
	await page.waitForSelector('#hits > li.hit[data-id="net_url"]');
	const [explained] = await Promise.all([
		page.waitForResponse((r) => new URL(r.url()).pathname === searchPath
			&& JSON.parse(r.request().postData() ?? "{}").showRankingScoreDetails === true),
		page.click('#hits > li.hit[data-id="net_url"] .why'),
	]);
	const body = await explained.json();
	const netURL = body.hits.find((h) => h.id === "net_url");
	assert.ok(netURL._federation.sources.length >= 2, "net/url's overview is in two shards");
	const table = page.locator('#hits > li.hit[data-id="net_url"] .explain table');
	await table.waitFor({ state: "visible" });
	assert.equal(await table.locator("tbody tr").count(), netURL._federation.sources.length);
	assert.match(await table.locator("caption").textContent(), /fused into one hit/);
	const badges = await page.$$eval('#hits > li.hit[data-id="net_url"] .badges .badge', (bs) => bs.map((b) => b.dataset.shard));
	assert.deepEqual(badges, netURL._federation.sources.map((s) => s.shard));
	assert.equal(new Set(body.hits.map((h) => h.id)).size, body.hits.length, "no duplicate hits");
	await page.screenshot({ path: path.join(artifacts, "search.png"), fullPage: false });
});

test("with one shard stopped the answer is partial, and the page says so", async () => {
	const pid = Number((await readFile(path.join(runDir, `${STOPPED}.pid`), "utf8")).trim());
	assert.ok(pid > 0, "the demo's pid file names the shard");
	process.kill(pid, "SIGKILL");
	await waitGone(pid);
	await page.uncheck("#explain");
	const resp = await search("parse url");
	assert.equal(resp.status(), 200, "federate answers 200 with the shards that are left");
	assert.equal(resp.headers()["federate-complete"], "false");
	const body = await resp.json();
	assert.ok(body.remoteErrors?.[STOPPED], `remoteErrors names ${STOPPED}: ${JSON.stringify(body.remoteErrors)}`);
	assert.ok(body.hits.length > 0, "the other shards' hits are still there");
	const notice = page.locator("#partial");
	await notice.waitFor({ state: "visible" });
	assert.match(await notice.textContent(), /Partial results/);
	assert.match(await notice.textContent(), new RegExp(STOPPED));
	const chips = await shardChips();
	const stopped = chips.find((c) => c.name === STOPPED);
	assert.notEqual(stopped.status, "ok");
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
