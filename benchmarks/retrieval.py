"""Measure the knowledge search on the dev set: quality per ranking, encoder and language,
latency, build time and memory; calibrate the decision thresholds; scale run; public FAQs.

Usage: .venv/bin/python -m benchmarks.retrieval [--encoders e5-st,use-m3] [--calibrate]
                                                [--scale 50000] [--external] [--skip-quality] [--skip-methods]
Also prints the served search on every query set by split, style and language, and the honest-answers methods
one by one (benchmarks/answer_methods.py).
Prints figures only; changes nothing (copy calibrated thresholds into knowledge/search.yml).
"""

import argparse
import itertools
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # before torch and faiss are imported

import faiss  # noqa: E402
import numpy as np  # noqa: E402
import psutil  # noqa: E402

from core.language import detect_language  # noqa: E402
from core.stats import percentile  # noqa: E402
from knowledge.config import DecisionConfig, SearchConfig  # noqa: E402
from knowledge.embedder import load_encoder  # noqa: E402
from knowledge.evaluate import EvalQuery, evaluate, in_scope_refused, read_queries, score  # noqa: E402
from knowledge.index import build_index, make_faiss_index  # noqa: E402
from knowledge.loader import load_items  # noqa: E402
from knowledge.normalize import normalize_question  # noqa: E402
from knowledge.search import KnowledgeSearch, Scores, SearchResult, combine  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]

DEV = ROOT / "tests" / "data" / "dev_queries.jsonl"
KB = ROOT / "knowledge" / "items"
EXTERNAL = ROOT.parent / "shared" / "eval-external"
RANKINGS = ("dense", "bm25", "fused")


def rss_mb() -> float:
    return psutil.Process().memory_info().rss / 1e6


def by_language(queries: list[EvalQuery]) -> dict[str, list[int]]:
    groups: dict[str, list[int]] = {"zh": [], "en": []}
    for position, query in enumerate(queries):
        groups[detect_language(query.query) or "zh"].append(position)
    return groups


def line(label: str, queries: list[EvalQuery], results: list[SearchResult]) -> str:
    report = score(queries, results)
    return (f"  {label:<14} n={report.n:<4} top1 {report.top1:.3f}  top3 {report.top3:.3f}  mrr {report.mrr:.3f}  "
            f"none P {report.none_precision:.3f} R {report.none_recall:.3f}  "
            f"in-scope refused {in_scope_refused(queries, results):.3f}")


def redecide(results: list[SearchResult], config: DecisionConfig) -> list[SearchResult]:
    """The same rankings with another decision configuration (no new search)."""
    return [result.redecided(config) for result in results]


def utility(queries: list[EvalQuery], results: list[SearchResult]) -> tuple[float, float, float]:
    """(score, none recall, in-scope refused) of decisions: right answers count, wrong ones cost."""
    total, refused, oos_none, oos = 0.0, 0, 0, 0
    for query, result in zip(queries, results):
        ids = [c.id for c in result.offered]
        if not query.expected_ids:
            oos += 1
            oos_none += result.decision == "none"
            total += 1 if result.decision == "none" else -1
        elif result.decision == "none":
            refused += 1
            total -= 0.5
        elif result.decision == "answer":
            total += 1 if ids[0] in query.expected_ids else -1
        else:
            total += 0.7 if set(ids) & query.expected_ids else -0.5
    answerable = len(queries) - oos
    return total, oos_none / max(oos, 1), refused / max(answerable, 1)


def calibrate(queries: list[EvalQuery], results: list[SearchResult],
              base: DecisionConfig) -> tuple[DecisionConfig, float]:
    """Best thresholds on these results: per language none_below, shared margin and window.

    Feasible means, in each language, out-of-scope refused >= 90% and in-scope refused <= 5%.
    """
    groups = by_language(queries)
    best: tuple = ()
    chosen, chosen_value = base, float("-inf")
    for margin, window in itertools.product((0.0, 0.005, 0.01, 0.015, 0.02, 0.03), (0.0, 0.005, 0.01, 0.015, 0.02)):
        thresholds, value, feasible = {}, 0.0, True
        for language, positions in groups.items():
            subset_q = [queries[i] for i in positions]
            subset_r = [results[i] for i in positions]
            tops = np.array([r.items[0].score for r in subset_r])
            best_language: tuple = ()
            for none_below in np.unique(np.round(np.quantile(tops, np.linspace(0.0, 0.5, 51)), 4)):
                config = base.model_copy(update={"none_below": {**base.none_below, language: float(none_below)},
                                                 "answer_margin": margin, "clarify_window": window})
                total, recall, refused = utility(subset_q, redecide(subset_r, config))
                key = (recall >= 0.9 and refused <= 0.05, total, -none_below)
                if not best_language or key > best_language[0]:
                    best_language = (key, float(none_below))
            thresholds[language] = best_language[1]
            value += best_language[0][1]
            feasible = feasible and best_language[0][0]
        if not best or (feasible, value) > best:
            best = (feasible, value)
            chosen = base.model_copy(update={"none_below": thresholds, "answer_margin": margin,
                                             "clarify_window": window})
            chosen_value = value
    return chosen, chosen_value


def scored(search: KnowledgeSearch, queries: list[EvalQuery], ranking: str,
           signals: list[Scores], ranking_config) -> list[SearchResult]:  # type: ignore[no-untyped-def]
    """Results for a ranking method from precomputed item scores (decided by the score thresholds)."""
    results = []
    for query, found in zip(queries, signals):
        found.combined = combine(found.dense, found.words, ranking, ranking_config, found.sounds)  # type: ignore[arg-type]
        results.append(search.result(query.query, found, k=10))
    return results


def describe(decision: DecisionConfig) -> str:
    return (f"none_below {decision.none_below}, answer_margin {decision.answer_margin}, "
            f"clarify_window {decision.clarify_window}")


def quality(encoder_name: str, items, queries: list[EvalQuery], config: SearchConfig, do_calibrate: bool) -> None:
    before = rss_mb()
    started = time.perf_counter()
    encoder = load_encoder(encoder_name, threads=config.threads)
    load_s = time.perf_counter() - started
    started = time.perf_counter()
    index = build_index(items, encoder, config.index)
    build_s = time.perf_counter() - started
    print(f"\nencoder {encoder.model_id}: load {load_s:.1f} s, index build {build_s:.1f} s "
          f"({index.index.ntotal} vectors), RSS {rss_mb():.0f} MB (+{rss_mb() - before:.0f} MB)", flush=True)
    search = KnowledgeSearch(items=items, index=index, encoder=encoder,
                             config=config.model_copy(update={"query_cache_size": 0}))
    search.search("预热 warm-up")
    timings = [search.search(q.query).latency_ms for q in queries]
    print(f" search latency ({config.ranking.method}, query embedding included, no cache): "
          f"p50 {percentile(timings, 0.5):.1f} ms, p95 {percentile(timings, 0.95):.1f} ms", flush=True)
    signals = [search.scores(normalize_question(q.query)) for q in queries]
    groups = by_language(queries)
    even, odd = list(range(0, len(queries), 2)), list(range(1, len(queries), 2))
    for ranking in RANKINGS:
        ranking_configs = [config.ranking]
        if ranking == "fused" and do_calibrate:
            ranking_configs = [config.ranking.model_copy(update={"bm25_weight": w, "bm25_saturation": sat})
                               for w in (0.02, 0.05, 0.1, 0.2) for sat in (10.0, 20.0, 40.0)]
        for ranking_config in ranking_configs:
            results = scored(search, queries, ranking, signals, ranking_config)
            label = ranking if ranking != "fused" else (f"fused (bm25_weight {ranking_config.bm25_weight}, "
                                                        f"saturation {ranking_config.bm25_saturation})")
            decision = config.decision
            served = ranking == config.ranking.method and encoder_name == config.encoder \
                and ranking_config == config.ranking
            if ranking == "bm25":
                decision = decision.model_copy(update={"none_below": {"zh": 0.0, "en": 0.0}})
            if do_calibrate or not served:
                # Thresholds are per ranking: other rows get their own, so the rows compare fairly.
                tuned, _ = calibrate([queries[i] for i in even], [results[i] for i in even], decision)
                decision, value = calibrate(queries, results, decision)
                print(f" ranking {label}: thresholds calibrated for this row: {describe(decision)} (utility {value:.1f})")
                print(line("held-out odd", [queries[i] for i in odd],
                           redecide([results[i] for i in odd], tuned)) + "   <- thresholds from even lines")
            else:
                print(f" ranking {label} (served): thresholds of knowledge/search.yml: {describe(decision)}")
            results = redecide(results, decision)
            print(line("all", queries, results))
            for language, positions in groups.items():
                print(line(language, [queries[i] for i in positions], [results[i] for i in positions]))
            if ranking == config.ranking.method and os.environ.get("SHOW_MISSES"):
                for q, r in zip(queries, results):
                    if (q.expected_ids and r.items[0].id not in q.expected_ids) or \
                            (not q.expected_ids and r.decision != "none") or (q.expected_ids and r.decision == "none"):
                        print("   miss:", q.query, [c.id for c in r.items[:3]], r.decision, sorted(q.expected_ids))


def scale(count: int, config: SearchConfig, kinds: tuple[str, ...] = ("flat", "ivf", "hnsw")) -> None:
    """FAISS on `count` synthetic items (3 vectors each, built from real item vectors): exact vs approximate."""
    items = load_items(KB)
    encoder = load_encoder("e5-nano", threads=config.threads)  # same vectors as e5-st, faster to produce
    base = build_index(items, encoder, config.index)
    real = base.index.reconstruct_n(0, base.index.ntotal)
    rng = np.random.default_rng(7)
    total = count * 3
    # Each synthetic vector mixes two real ones with noise: realistic spread, no duplicates.
    left, right = rng.integers(0, len(real), total), rng.integers(0, len(real), total)
    weights = rng.random((total, 1), dtype=np.float32)
    vectors = weights * real[left] + (1 - weights) * real[right] + rng.normal(0, 0.03, (total, real.shape[1])).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    queries = encoder.encode_queries([q.query for q in read_queries(DEV)][:500])
    print(f"\nscale: {count} synthetic items, {total} vectors of {real.shape[1]} dimensions")
    k = 10
    built = {}
    for kind in kinds:
        started = time.perf_counter()
        index, _ = make_faiss_index(vectors, config.index, kind=kind)
        build_s = time.perf_counter() - started
        size_mb = faiss.serialize_index(index).nbytes / 1e6
        timings = []
        for vector in queries:
            started = time.perf_counter()
            index.search(vector[None, :], config.index.passages_per_query)
            timings.append((time.perf_counter() - started) * 1000)
        _, found = index.search(queries, k)
        built[kind] = found
        recall = "" if kind == "flat" else \
            f", recall@{k} vs exact {np.mean([len(set(t) & set(f)) / k for t, f in zip(built['flat'], found)]):.4f}"
        print(f" {kind}: build {build_s:.1f} s, index {size_mb:.0f} MB; index search p50 {percentile(timings, 0.5):.2f} ms, "
              f"p95 {percentile(timings, 0.95):.2f} ms (k={config.index.passages_per_query}, "
              f"query embedding excluded){recall}", flush=True)
    print(f" process RSS {rss_mb():.0f} MB")


def external(config: SearchConfig) -> None:
    """Import each public FAQ set and evaluate on its labelled queries (measured, not tuned): with search.yml's
    thresholds, and with the thresholds `govbot kb import` makes from the set's own texts."""
    from knowledge.calibration import fit_thresholds
    from knowledge.faq_import import import_faq
    from knowledge.service import open_search

    encoder = load_encoder(config.encoder, threads=config.threads)
    for folder in sorted(p for p in EXTERNAL.iterdir() if p.is_dir()):
        with tempfile.TemporaryDirectory() as scratch:
            kb = Path(scratch) / folder.name
            import_faq(folder / "faq.jsonl", kb)
            search = open_search(kb, config=config, encoder=encoder, index_dir=Path(scratch) / "index")
            own = fit_thresholds(search)
            for label, calibration in (("search.yml thresholds", None), (f"own thresholds {own.none_below}", own)):
                search.calibration = calibration
                for name in ("queries.jsonl", "queries_unanswerable.jsonl"):
                    if (folder / name).is_file():
                        queries = read_queries(folder / name)
                        report, results = evaluate(search, queries)
                        print(f" {folder.name}/{name} ({label}): n {report.n}, top1 {report.top1:.3f}, "
                              f"top3 {report.top3:.3f}, mrr {report.mrr:.3f}, none recall {report.none_recall:.3f}, "
                              f"answerable refused {report.answerable_refused:.3f}, "
                              f"p50 {report.latency_ms_p50:.1f} ms, p95 {report.latency_ms_p95:.1f} ms", flush=True)


def served() -> None:
    """The served search (knowledge/items with its calibration.json) on every query set, by split, style and
    language; query embedding included, no cache."""
    from benchmarks.answer_methods import SETS, table
    from knowledge.service import open_search

    search = open_search(KB)
    search.cache.size = 0
    search.search("预热 warm-up")
    calibration = search.calibration
    print(f"\nserved search: answerability check {'on' if calibration and calibration.answerability else 'off'}"
          f" (refuse below {calibration.refuse_below if calibration else '-'}), {len(search.items)} items")
    for name in SETS:
        path = DEV.parent / name
        if path.is_file():
            queries = [q if q.field("style") != "(missing)" else
                       q.model_copy(update={"style": "plain", "lang": detect_language(q.query) or "zh"})
                       for q in read_queries(path)]
            results = [search.search(q.query, k=10) for q in queries]
            for split in sorted({q.field("split") for q in queries}):
                chosen = [i for i, q in enumerate(queries) if q.field("split") == split]
                table(f"{name} (split {split}; the answerability check was trained on all but 'holdout' lines)",
                      [queries[i] for i in chosen], [results[i] for i in chosen])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--encoders", default="e5-st")
    parser.add_argument("--calibrate", action="store_true", help="search the decision thresholds on the dev set")
    parser.add_argument("--scale", type=int, default=0, help="also run FAISS on this many synthetic items")
    parser.add_argument("--external", action="store_true", help="also import and evaluate the public FAQ sets")
    parser.add_argument("--scale-kinds", default="flat,ivf,hnsw", help="index kinds of the scale run (flat first)")
    parser.add_argument("--skip-quality", action="store_true")
    parser.add_argument("--skip-methods", action="store_true", help="skip the honest-answers methods, one by one")
    args = parser.parse_args()
    config = SearchConfig.load()
    items = load_items(KB)
    queries = read_queries(DEV)
    print(f"dev set: {len(queries)} queries ({sum(1 for q in queries if not q.expected_ids)} out of scope), "
          f"{len(items)} items; {os.cpu_count()} cores; decision config {config.decision.model_dump()}")
    if not args.skip_quality:
        for name in args.encoders.split(","):
            quality(name.strip(), items, queries, config, args.calibrate)
    served()
    if not args.skip_methods:
        from benchmarks.answer_methods import ladder

        ladder(config.encoder)
    if args.external:
        print("\npublic FAQ sets (imported with govbot kb import):")
        external(config)
    if args.scale:
        scale(args.scale, config, tuple(args.scale_kinds.split(",")))


if __name__ == "__main__":
    main()
