// The demo's search page. Every search goes through the official meilisearch
// client (served by Caddy from demo/node_modules): federate speaks the
// Meilisearch API, so the client needs no changes. What federate adds is read
// from where it puts it:
//   - each hit's _federation {shard, rank, score} and, with
//     showRankingScoreDetails, _federation.sources (one entry per shard that
//     returned the document, with its rank, raw score and contribution);
//   - remoteErrors {shard: {message, code}} for shards that failed;
//   - the Server-Timing header (per shard: status and duration). The client
//     does not expose response headers, but the browser's Resource Timing API
//     does: PerformanceResourceTiming.serverTiming, for same-origin requests
//     in a secure context (http://localhost is one).
import { Meilisearch, MeilisearchApiError } from "/vendor/meilisearch/index.js";

const INDEX = "godoc";
const FACETS = ["kind", "section"];
const LIMIT = 20;

const client = new Meilisearch({ host: location.origin, timeout: 10000 });
const index = client.index(INDEX);
const searchURL = new URL(`/indexes/${INDEX}/search`, location.origin).href;

const $ = (sel) => document.querySelector(sel);
const el = (tag, props = {}, ...children) => {
	const e = Object.assign(document.createElement(tag), props);
	e.append(...children);
	return e;
};

const state = {
	q: "",
	explain: false,
	filters: Object.fromEntries(FACETS.map((f) => [f, new Set()])),
	shardOrder: [], // shard names in the order federate reports them, for stable badge colours
};

let seq = 0;
let inflight = null;

// search runs the current state's query and renders the answer; a newer
// search aborts an older one still in flight.
async function search() {
	const mine = ++seq;
	inflight?.abort();
	inflight = new AbortController();
	$("#hits").setAttribute("aria-busy", "true");
	const started = performance.now();
	let res;
	try {
		res = await index.search(state.q, {
			limit: LIMIT,
			facets: FACETS,
			filter: filterExpression(),
			showRankingScoreDetails: state.explain,
		}, { signal: inflight.signal });
	} catch (err) {
		if (mine === seq) showError(err);
		return;
	}
	if (mine !== seq) return;
	const timings = await serverTimings(started);
	if (mine !== seq) return;
	render(res, timings, performance.now() - started);
}

// filterExpression is the Meilisearch array form: inner arrays OR values of
// one facet, the outer array ANDs facets.
function filterExpression() {
	const out = [];
	for (const [field, values] of Object.entries(state.filters)) {
		if (values.size) out.push([...values].map((v) => `${field} = ${JSON.stringify(v)}`));
	}
	return out.length ? out : undefined;
}

// serverTimings returns federate's Server-Timing entries of the newest
// search request that ended after `since`, or null when the browser does not
// expose them (not a secure context). The entry can land a moment after the
// response, so it is polled briefly.
async function serverTimings(since) {
	if (!window.isSecureContext) return null;
	for (let i = 0; i < 20; i++) {
		const entries = performance.getEntriesByName(searchURL).filter((e) => e.responseEnd >= since);
		const last = entries.at(-1);
		if (last) {
			performance.clearResourceTimings(); // keep the buffer from filling up
			return last.serverTiming.map((t) => ({ name: t.name, status: t.description, ms: t.duration }));
		}
		await new Promise((r) => setTimeout(r, 10));
	}
	return null;
}

function render(res, timings, clientMs) {
	$("#error").hidden = true;
	const failed = res.remoteErrors ?? {};
	renderShards(timings, failed);
	renderPartial(timings, failed);
	renderFacets(res.facetDistribution ?? {});
	const total = res.estimatedTotalHits ?? res.totalHits ?? res.hits.length;
	$("#summary").textContent = `${res.hits.length} of ${total} hits · federate took ${res.processingTimeMs} ms · round trip ${Math.round(clientMs)} ms`;
	$("#hits").replaceChildren(...res.hits.map(renderHit));
	$("#hits").removeAttribute("aria-busy");
}

// renderShards draws one chip per shard: status and duration from
// Server-Timing, the reason from remoteErrors when the shard failed.
function renderShards(timings, failed) {
	const names = timings ? timings.map((t) => t.name) : Object.keys(failed);
	const chips = names.map((name) => {
		const t = timings?.find((x) => x.name === name);
		const status = t?.status ?? "failed";
		const chip = el("span", { className: `shard ${status === "ok" ? "ok" : "bad"}`, title: failed[name]?.message ?? "" },
			badge(name), el("span", { className: "status" }, status));
		chip.dataset.shard = name;
		chip.dataset.status = status;
		if (t) chip.append(el("span", { className: "ms" }, `${t.ms.toFixed(1)} ms`));
		if (failed[name]) chip.append(el("span", { className: "code" }, failed[name].code));
		return chip;
	});
	const label = el("span", { className: "label" }, "shards");
	if (!timings) chips.push(el("span", { className: "note" }, "per-shard timings need a secure context (open the page on localhost)"));
	$("#shards").replaceChildren(label, ...chips);
}

// renderPartial shows the notice when a shard's hits are missing from the
// answer: federate still answered 200, with what the other shards found.
function renderPartial(timings, failed) {
	const bad = new Map(Object.entries(failed).map(([name, e]) => [name, e.message]));
	for (const t of timings ?? []) if (t.status !== "ok" && !bad.has(t.name)) bad.set(t.name, t.status);
	const box = $("#partial");
	box.hidden = bad.size === 0;
	if (!bad.size) return;
	box.replaceChildren(
		el("strong", {}, "Partial results: "),
		`${bad.size} of ${state.shardOrder.length || bad.size} shards did not answer; documents only ${bad.size === 1 ? "it holds" : "they hold"} are missing below. `,
		el("ul", {}, ...[...bad].map(([name, msg]) => el("li", {}, badge(name), " ", msg))),
	);
}

function renderFacets(dist) {
	const groups = FACETS.map((field) => {
		const values = Object.entries(dist[field] ?? {}).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).slice(0, 12);
		for (const v of state.filters[field]) if (!values.some(([k]) => k === v)) values.push([v, 0]);
		const items = values.map(([value, count]) => {
			const box = el("input", { type: "checkbox", checked: state.filters[field].has(value) });
			box.addEventListener("change", () => {
				box.checked ? state.filters[field].add(value) : state.filters[field].delete(value);
				search();
			});
			return el("li", {}, el("label", {}, box, ` ${value} `, el("span", { className: "count" }, String(count))));
		});
		return el("section", {}, el("h2", {}, field), el("ul", {}, ...items));
	});
	$("#facets").replaceChildren(...groups);
}

function renderHit(hit) {
	const li = $("#hit-template").content.firstElementChild.cloneNode(true);
	const fed = hit._federation ?? {};
	li.dataset.id = hit.id;
	const title = li.querySelector(".title");
	title.textContent = hit.title;
	title.href = hit.url;
	li.querySelector(".kind").textContent = hit.kind === "package" ? "package" : `${hit.kind} · ${hit.pkg}`;
	li.querySelector(".signature").textContent = hit.signature ?? "";
	li.querySelector(".body").textContent = excerpt(hit.body ?? "");
	// The shard(s) the hit came from: every source when explained, else the
	// shard whose copy is shown.
	const shards = fed.sources ? fed.sources.map((s) => s.shard) : [fed.shard];
	li.querySelector(".badges").replaceChildren(...shards.filter(Boolean).map(badge));
	const why = li.querySelector(".why");
	const box = li.querySelector(".explain");
	if (fed.sources) box.replaceChildren(explanation(fed));
	why.addEventListener("click", () => {
		if (!fed.sources) { // explanations are requested on demand: turn them on and search again
			$("#explain").checked = state.explain = true;
			openAfterSearch.add(hit.id);
			search();
			return;
		}
		box.hidden = !box.hidden;
		why.setAttribute("aria-expanded", String(!box.hidden));
	});
	if (fed.sources && openAfterSearch.delete(hit.id)) {
		box.hidden = false;
		why.setAttribute("aria-expanded", "true");
	}
	return li;
}

const openAfterSearch = new Set();

// explanation is the table of a fused hit's sources: federate's score is
// the sum of the contributions (RRF: weight / (k + rank)).
function explanation(fed) {
	const rows = fed.sources.map((s) => el("tr", {},
		el("td", {}, badge(s.shard)), el("td", {}, String(s.rank)), el("td", {}, num(s.raw)),
		el("td", {}, num(s.normalized)), el("td", {}, num(s.contribution))));
	return el("table", {},
		el("caption", {}, `fused score ${num(fed.score)}, rank ${fed.rank} in shard ${fed.shard}; `,
			fed.sources.length > 1 ? `found in ${fed.sources.length} shards, fused into one hit` : "found in one shard"),
		el("thead", {}, el("tr", {}, ...["shard", "rank", "engine score", "normalized", "contribution"].map((h) => el("th", {}, h)))),
		el("tbody", {}, ...rows));
}

function badge(name) {
	if (!state.shardOrder.includes(name)) state.shardOrder.push(name);
	const i = state.shardOrder.indexOf(name);
	const b = el("span", { className: `badge c${i % 6}` }, name);
	b.dataset.shard = name;
	return b;
}

const num = (x) => (typeof x === "number" ? x.toPrecision(4) : "—");

function excerpt(text) {
	const flat = text.replace(/\s+/g, " ").trim();
	return flat.length > 280 ? flat.slice(0, flat.lastIndexOf(" ", 280)) + " …" : flat;
}

function showError(err) {
	if (err?.name === "AbortError" || err?.cause?.name === "AbortError") return;
	const box = $("#error");
	box.hidden = false;
	if (err instanceof MeilisearchApiError) {
		// Quorum missed (503), every shard timed out (504), ...: federate
		// answers in Meilisearch's error shape, which the client turns into
		// this error.
		box.textContent = `Search failed (HTTP ${err.response.status}, ${err.cause?.code ?? "error"}): ${err.message}`;
	} else {
		box.textContent = `Search failed: ${err?.message ?? err}`;
	}
	$("#hits").replaceChildren();
	$("#hits").removeAttribute("aria-busy");
	$("#summary").textContent = "";
}

let debounce;
$("#q").addEventListener("input", (e) => {
	state.q = e.target.value;
	clearTimeout(debounce);
	debounce = setTimeout(search, 150);
});
$("#search-form").addEventListener("submit", (e) => {
	e.preventDefault();
	clearTimeout(debounce);
	state.q = $("#q").value;
	search();
});
$("#explain").addEventListener("change", (e) => {
	state.explain = e.target.checked;
	search();
});

state.q = $("#q").value = new URLSearchParams(location.search).get("q") ?? "";
search();
