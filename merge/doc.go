// Package merge fuses the ranked answers of several search shards into one
// ranked list, the way one search engine over all the data would answer.
//
// It is pure: byte slices and numbers in, values out; no Caddy, no globals,
// no I/O, no goroutines. Document bodies travel as opaque bytes and are never
// parsed here. The entry point is [Merge]; [Auto] keeps the little state the
// [AutoChoice] strategy needs.
//
// # Strategies
//
// With rank_s(d) the 1-based rank of document d in shard s, w_s the shard's
// weight, v_s(d) its engine score and k the RRF constant (60):
//
//	rrf         Σ_s w_s / (k + rank_s(d))                       Cormack, Clarke, Büttcher 2009
//	score       Σ_s w_s · N_s(v_s(d))    (CombSUM)              Fox & Shaw 1994
//	            m(d) · Σ_s w_s · N_s(v_s(d))   (CombMNZ)
//	            N_s ∈ minmax, zscore, l2, max, none             Montague & Aslam 2001
//	raw         max_s w_s · v_s(d)
//	interleave  1 / min_s rank_s(d)      (round robin by shard)
//	rrf_z       ½·Z(d) + ½·z(R(d)): mean per-shard z-score and  "RRF+z"
//	            z-scored RRF value
//	calibrated  Σ_s w_s · F_s(v_s(d))                           integration/cmd/quality
//	            F_s = λ·F_s,own + (1−λ)·P, or F_s(x) = x if λ = 0
//	            F_s,own: mid-rank CDF of shard s's recent top-10
//	            scores (64 knots, linear between, 0 below and 1
//	            above the history); P: the same over all shards
//	            pooled; λ = min(clamp((D − 0.1)/0.1, 0, 1),
//	            clamp((G − 0.02)/0.03, 0, 1))
//	rrf_calibrated  0.9·z(R(d)) + 0.1·z(C(d)): R the rrf score, C the
//	            calibrated one, z standardizing over the fused
//	            documents                                       integration/cmd/quality
//	auto        by D, the largest pairwise Kolmogorov–Smirnov
//	            distance between the shards' recent top scores,
//	            and G, the largest relative difference between
//	            the same decile of two shards' recent scores:
//	            raw (λ = 0: D ≤ 0.1 or G ≤ 0.02), rrf_calibrated
//	            (D ≥ 0.9 and G ≥ 0.05), rrf (too little history),
//	            else calibrated                                 integration/cmd/quality
//
// References: G. V. Cormack, C. L. A. Clarke, S. Büttcher, "Reciprocal Rank
// Fusion outperforms Condorcet and individual Rank Learning Methods", SIGIR
// 2009. E. A. Fox, J. A. Shaw, "Combination of Multiple Searches", TREC-2,
// 1994. M. Montague, J. A. Aslam, "Relevance Score Normalization for
// Metasearch", CIKM 2001.
//
// RRF is the zero Options' strategy: it needs no scores and is robust across
// engines. Raw is right only when every shard runs the same engine and scorer
// (random or topical split); calibrated when the shards run related scorers
// at different scales (bleve BM25 next to TF-IDF: +0.04–0.12 overlap@10 over
// rrf), and it keeps what raw keeps and rrf loses on a topical split: a shard
// scoring far above its usual level for this query ranks first. Across
// unrelated engines (score ranges that do not overlap) calibrated loses to
// rrf on a random split and beats it on a topical one; rrf_calibrated (rrf
// moved a little by the calibrated score) came closest to the best of both.
// auto finds out which from recent answers; its history and tables live in
// [Auto], computed by Auto.Refresh off the request path.
//
// Rank-only shards (a hit with Scored false, or a NaN or infinite score, makes
// the whole list rank-only) enter the score-based strategies with the
// rank-derived score 1/(k+rank); calibrated, rrf_calibrated and auto then
// apply rrf.
//
// Normalizer statistics (min, max, mean, deviation, norm) are taken over the
// top Options.Depth hits (100) of each list, so a hit's score does not depend
// on how deep the list is, as long as every shard is asked for at least Depth
// hits (or for the same number of hits on every page).
//
// # Invariants
//
// Every strategy keeps them; property and fuzz tests check them:
//   - the same input gives the same output; ties break by fused score, then
//     best rank, then shard order (index in the lists), then ID — the best
//     occurrence (rank, shard) of a fused hit is unique, so the ID never
//     decides;
//   - with dedupe, a fused list never holds two hits with the same non-empty
//     ID; a fused hit's body is its best-ranked occurrence and its Sources
//     list every occurrence, best first; a shard that lists an ID twice
//     votes once, with its better rank;
//   - consecutive windows [offset, offset+limit) of the same input neither
//     overlap nor skip: they tile the unwindowed list;
//   - scores are finite and non-increasing; the Contributions of a fused
//     hit's Sources sum to its Score.
package merge
