// The demo's search page: an ordinary InstantSearch.js UI (search box, hits
// with highlighting, refinement lists, pagination, sort by) over
// instant-meilisearch, both as published on npm and served by Caddy from
// demo/node_modules. federate speaks the Meilisearch API, so neither library
// needs changes: instant-meilisearch sends every search as POST /multi-search
// and the federate route answers it over the three shards.
//
// What federate adds is read from where it puts it, through
// instant-meilisearch's httpClient option (a fetch that returns the parsed
// body, so the page sees the raw answer before InstantSearch adapts it):
//   - each hit's _federation {shard, rank, score} and, with
//     showRankingScoreDetails (added to every query here), _federation.sources
//     (one entry per shard that returned the document, with its rank, raw
//     score and contribution): the badges and "why?";
//   - each result's remoteErrors {shard: {message, code}} and the
//     Federate-Complete header: the partial-answer notice.
// Sorting uses instant-meilisearch's "index:field:direction" index names.
const { instantsearch, instantMeiliSearch } = window;
const { searchBox, hits, refinementList, pagination, sortBy, stats, configure } = instantsearch.widgets;

const INDEX = "godoc";

const $ = (sel) => document.querySelector(sel);
const el = (tag, props = {}, ...children) => {
	const e = Object.assign(document.createElement(tag), props);
	e.append(...children);
	return e;
};

// Shard names in the order they were first seen, for stable badge colours.
const shardOrder = [];
const shardClass = (name) => {
	if (!shardOrder.includes(name)) shardOrder.push(name);
	return `badge c${shardOrder.indexOf(name) % 6}`;
};

// httpClient is instant-meilisearch's fetch: it asks every search for the
// fusion details, and reports federate's completeness before handing the
// parsed body back.
async function httpClient(url, init = {}) {
	const multi = new URL(url, location.origin).pathname === "/multi-search";
	let body = init.body;
	if (multi && typeof body === "string") {
		const req = JSON.parse(body);
		for (const q of req.queries ?? []) {
			q.showRankingScoreDetails = true;
			if (q.filter) q.filter = unquoteAttributes(q.filter);
		}
		body = JSON.stringify(req);
	}
	const res = await fetch(url, { ...init, body });
	const data = await res.json().catch(() => undefined);
	if (!res.ok) {
		// Quorum missed (503), every shard timed out (504), ...: federate
		// answers in Meilisearch's error shape.
		const err = new Error(`HTTP ${res.status}, ${data?.code ?? "error"}: ${data?.message ?? res.statusText}`);
		showError(err);
		throw err;
	}
	if (multi) report(res.headers.get("Federate-Complete"), data);
	return data;
}

// unquoteAttributes rewrites instant-meilisearch's facet filters,
// "kind"="func", as kind = "func": federate's Meilisearch filter parser
// translates field = value to every shard dialect but does not yet accept a
// quoted attribute name (Meilisearch does). Values stay quoted.
function unquoteAttributes(f) {
	if (Array.isArray(f)) return f.map(unquoteAttributes);
	return typeof f === "string" ? f.replace(/^"([\w.-]+)"\s*(=|!=)\s*/, "$1 $2 ") : f;
}

// report draws the shard chips and the partial notice from one
// /multi-search answer: its results' remoteErrors and every hit's sources.
function report(complete, data) {
	$("#error").hidden = true;
	const failed = new Map();
	for (const r of data?.results ?? []) {
		for (const [name, e] of Object.entries(r.remoteErrors ?? {})) failed.set(name, e);
		for (const h of r.hits ?? []) {
			for (const s of h._federation?.sources ?? [{ shard: h._federation?.shard }]) if (s.shard) shardClass(s.shard);
		}
	}
	for (const name of failed.keys()) shardClass(name);
	const chips = shardOrder.map((name) => {
		const e = failed.get(name);
		const chip = el("span", { className: `shard ${e ? "bad" : "ok"}`, title: e?.message ?? "" },
			el("span", { className: shardClass(name), textContent: name }),
			el("span", { className: "status" }, e ? "failed" : "ok"));
		if (e) chip.append(el("span", { className: "code" }, e.code ?? ""));
		chip.dataset.shard = name;
		chip.dataset.status = e ? "failed" : "ok";
		return chip;
	});
	$("#shards").replaceChildren(el("span", { className: "label" }, "shards"), ...chips,
		el("span", { className: "note" }, `Federate-Complete: ${complete ?? "?"}`));
	const box = $("#partial");
	box.hidden = failed.size === 0 && complete !== "false";
	if (box.hidden) return;
	box.replaceChildren(
		el("strong", {}, "Partial results: "),
		failed.size
			? `${failed.size} of ${shardOrder.length} shards did not answer; documents only ${failed.size === 1 ? "it holds" : "they hold"} are missing below. `
			: "federate says this answer is incomplete. ",
		el("ul", {}, ...[...failed].map(([name, e]) =>
			el("li", {}, el("span", { className: shardClass(name), textContent: name }), " ", e.message ?? ""))),
	);
}

function showError(err) {
	const box = $("#error");
	box.hidden = false;
	box.textContent = `Search failed: ${err?.message ?? err}`;
}

const { searchClient } = instantMeiliSearch(location.origin, "", {
	httpClient,
	primaryKey: "id", // objectID = the document's id, which federate carries from every shard's dialect
	keepZeroFacets: false,
	finitePagination: true, // page numbers from totalHits (federate answers page/hitsPerPage searches)
});

const search = instantsearch({ indexName: INDEX, searchClient, future: { preserveSharedStateOnUnmount: true } });
search.on("error", ({ error }) => showError(error));

// Which hits have their "why?" open, by id; kept across re-renders.
const open = new Set();
$("#hits").addEventListener("click", (ev) => {
	const btn = ev.target.closest("button.why");
	if (!btn) return;
	const li = btn.closest("[data-id]");
	const id = li.dataset.id;
	open.has(id) ? open.delete(id) : open.add(id);
	li.querySelector(".explain").hidden = !open.has(id);
	btn.setAttribute("aria-expanded", String(open.has(id)));
});

const num = (x) => (typeof x === "number" ? x.toPrecision(4) : "—");

// explanation is the table of a fused hit's sources: federate's score is
// the sum of the contributions (RRF: weight / (k + rank)).
function explanation(fed, html) {
	const srcs = fed.sources ?? [];
	return html`<table>
		<caption>fused score ${num(fed.score)}, rank ${fed.rank} in shard ${fed.shard};
			${srcs.length > 1 ? ` found in ${srcs.length} shards, fused into one hit` : " found in one shard"}</caption>
		<thead><tr><th>shard</th><th>rank</th><th>engine score</th><th>normalized</th><th>contribution</th></tr></thead>
		<tbody>${srcs.map((s) => html`<tr>
			<td><span class=${shardClass(s.shard)} data-shard=${s.shard}>${s.shard}</span></td>
			<td>${String(s.rank)}</td><td>${num(s.raw)}</td><td>${num(s.normalized)}</td><td>${num(s.contribution)}</td>
		</tr>`)}</tbody>
	</table>`;
}

function hitTemplate(hit, { html, components }) {
	const fed = hit._federation ?? {};
	// Every shard that returned the document (fused into this one hit).
	const shards = fed.sources ? fed.sources.map((s) => s.shard) : [fed.shard].filter(Boolean);
	const isOpen = open.has(String(hit.id));
	const hl = (attr) => (hit._highlightResult?.[attr] ? components.Highlight({ hit, attribute: attr }) : hit[attr] ?? "");
	return html`<div class="hit" data-id=${hit.id}>
		<div class="hit-head">
			<a class="title" href=${hit.url} target="_blank" rel="noopener">${hl("title")}</a>
			<span class="kind">${hit.kind === "package" ? "package" : `${hit.kind} · ${hit.pkg}`}</span>
			<span class="badges">${shards.map((s) => html`<span class=${shardClass(s)} data-shard=${s}>${s}</span>`)}</span>
			<button type="button" class="why" aria-expanded=${String(isOpen)}>why?</button>
		</div>
		${hit.signature ? html`<code class="signature">${hit.signature}</code>` : ""}
		<p class="body">${hit._snippetResult?.body ? components.Snippet({ hit, attribute: "body" }) : hit.body ?? ""}</p>
		<div class="explain" hidden=${!isOpen}>${fed.sources ? explanation(fed, html) : "no fusion details in this answer"}</div>
	</div>`;
}

const facet = (attribute) => refinementList({
	container: `#facet-${attribute}`,
	attribute,
	limit: 8,
	showMore: true,
	showMoreLimit: 30,
	sortBy: ["count:desc", "name:asc"],
});

search.addWidgets([
	configure({ hitsPerPage: 10, attributesToSnippet: ["body:40"], snippetEllipsisText: "…" }),
	searchBox({
		container: "#searchbox",
		placeholder: "Search the Go standard library, e.g. parse url",
		autofocus: true,
		showReset: true,
		searchAsYouType: true,
	}),
	sortBy({
		container: "#sortby",
		items: [
			{ label: "Relevance (RRF over the shards)", value: INDEX },
			{ label: "id A→Z", value: `${INDEX}:id:asc` },
			{ label: "id Z→A", value: `${INDEX}:id:desc` },
			{ label: "package A→Z", value: `${INDEX}:pkg:asc` },
		],
	}),
	stats({
		container: "#stats",
		templates: { text: (d, { html }) => html`${d.nbHits} hits · page ${d.page + 1} of ${d.nbPages} · federate took ${d.processingTimeMS} ms` },
	}),
	facet("kind"),
	facet("section"),
	facet("pkg"),
	hits({ container: "#hits", templates: { item: hitTemplate, empty: (r, { html }) => html`<p>No hits for <q>${r.query}</q>.</p>` } }),
	pagination({ container: "#pagination", padding: 2, showFirst: true, showLast: false }),
]);

search.start();
