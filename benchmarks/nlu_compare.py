"""Compare Rasa NLU pipelines by stratified k-fold cross-validation, per language.

Usage: .venv-rasa/bin/python benchmarks/nlu_compare.py [--folds 5] [--pipelines a_current,b_e5_added]
                                                        [--data bot/data/nlu.yml] [--json OUT]

Each candidate is a small YAML file in benchmarks/nlu/: `base: config.yml` takes the real
pipeline (so candidate A *is* what is deployed; `base:` may also name another candidate
file, e.g. the DIET baseline), `remove:` drops components (a name, or a
mapping whose keys must all match), `add:` inserts components before `insert_before:`
(default: DIETClassifier); a file may instead give a whole `pipeline:`.

The folds are stratified by intent and language and are the same for every pipeline;
each fold trains on mixed Chinese + English data, as deployed. Every fold is trained
with Rasa's own machinery (`rasa.model_training.train_nlu`) in a fresh process, and the
trained model is then loaded in another fresh process (as the Rasa server does) that
parses each held-out message one at a time through `Agent.parse_message`. A message's
language is core.language.detect_language's.

Prints, per pipeline and language: n, intent accuracy (as deployed: a FallbackClassifier
`nlu_fallback` counts as wrong) with the spread over folds, macro F1 over the intents,
the fallback rate and the accuracy of DIET's top intent ignoring the fallback; and per
pipeline: training time per fold, model load time, parse latency per message (p50/p95)
and the resident memory of the loaded model process. Changes nothing in the project;
scratch files go to a temporary folder (or --work). Also prints, for all languages, the
accuracy and fallback rate that other FallbackClassifier thresholds would give.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CANDIDATES_DIR = ROOT / "benchmarks" / "nlu"
FALLBACK_INTENT = "nlu_fallback"
THRESHOLDS = (0.1, 0.2, 0.3, 0.45)

# runs in .venv-rasa, where govbot is not installed: the project root goes on the path
sys.path.insert(0, str(ROOT))
from core.language import detect_language  # noqa: E402

# ---------------------------------------------------------------- pipeline configs

def _matches(component: dict[str, Any], selector: Any) -> bool:
    if isinstance(selector, str):
        return component.get("name") == selector
    return all(component.get(key) == value for key, value in dict(selector).items())


def build_config(candidate_file: Path) -> tuple[str, dict[str, Any]]:
    """The candidate's display name and its full NLU config (recipe, language, pipeline)."""
    import yaml

    spec = yaml.safe_load(candidate_file.read_text(encoding="utf-8")) or {}
    name = spec.get("name", candidate_file.stem)
    if "pipeline" in spec:
        base: dict[str, Any] = {"recipe": "default.v1", "language": spec.get("language", "zh")}
        pipeline = list(spec["pipeline"])
    else:
        base = yaml.safe_load((ROOT / spec.get("base", "config.yml")).read_text(encoding="utf-8"))
        pipeline = [dict(component) for component in base["pipeline"]]
    for selector in spec.get("remove", []):
        kept = [component for component in pipeline if not _matches(component, selector)]
        if len(kept) == len(pipeline):
            raise SystemExit(f"{candidate_file.name}: remove: nothing matches {selector!r}")
        pipeline = kept
    if spec.get("add"):
        anchor = spec.get("insert_before", "DIETClassifier")
        names = [component.get("name") for component in pipeline]
        if anchor not in names:
            raise SystemExit(f"{candidate_file.name}: insert_before: no {anchor} in the pipeline")
        at = names.index(anchor)
        pipeline[at:at] = [dict(component) for component in spec["add"]]
    config = {"recipe": base.get("recipe", "default.v1"), "language": base.get("language", "zh"),
              "pipeline": pipeline}
    if base.get("assistant_id"):
        config["assistant_id"] = base["assistant_id"]
    return name, config


def short_pipeline(config: dict[str, Any]) -> str:
    parts = []
    for component in config["pipeline"]:
        label = component["name"].rsplit(".", 1)[-1]
        if component.get("analyzer"):
            label += f"({component['analyzer']} {component.get('min_ngram', 1)}-{component.get('max_ngram', 1)})"
        parts.append(label)
    return " > ".join(parts)


# ---------------------------------------------------------------- data and folds

def make_folds(data: Any, k: int, seed: int) -> list[list[int]]:
    """Indices of the held-out examples of each fold, stratified by intent and language."""
    from sklearn.model_selection import StratifiedKFold

    examples = data.intent_examples
    labels = [f"{m.get('intent')}|{detect_language(m.get('text')) or '-'}" for m in examples]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # some intent+language groups have fewer than k members
        splitter = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed)
        return [list(test) for _, test in splitter.split(labels, labels)]


def write_fold(data: Any, test_index: list[int], folder: Path) -> tuple[Path, Path]:
    """The fold's training file (Rasa YAML, keeping regexes, lookups and synonyms) and its
    held-out messages as JSON."""
    from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLWriter
    from rasa.shared.nlu.training_data.training_data import TrainingData

    held_out = set(test_index)
    examples = data.intent_examples
    train = TrainingData(training_examples=[m for i, m in enumerate(examples) if i not in held_out],
                         entity_synonyms=data.entity_synonyms, regex_features=data.regex_features,
                         lookup_tables=data.lookup_tables)
    folder.mkdir(parents=True, exist_ok=True)
    train_file, test_file = folder / "train.yml", folder / "test.json"
    RasaYAMLWriter().dump(train_file, train)
    test_file.write_text(json.dumps([{"text": examples[i].get("text"), "intent": examples[i].get("intent")}
                                     for i in test_index], ensure_ascii=False), encoding="utf-8")
    return train_file, test_file


# ---------------------------------------------------------------- workers (fresh processes)

def _rss_mb() -> tuple[float, float]:
    """Current and peak resident memory of this process, in MB (Linux)."""
    fields = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines() if ":" in line)
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


def train_worker(config_file: str, train_file: str, out_dir: str, result_file: str) -> None:
    import logging

    logging.disable(logging.WARNING)
    from rasa.model_training import train_nlu

    started, cpu_started = time.perf_counter(), time.process_time()
    model = train_nlu(config=config_file, nlu_data=train_file, output=out_dir, fixed_model_name="nlu")
    seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started
    if not model:
        raise SystemExit("training produced no model")
    Path(result_file).write_text(json.dumps({"model": str(model), "train_s": seconds, "train_cpu_s": cpu_seconds,
                                             "peak_rss_mb": _rss_mb()[1]}))


def predict_worker(model: str, test_file: str, result_file: str) -> None:
    import logging

    logging.disable(logging.WARNING)
    from rasa.core.agent import Agent

    messages = json.loads(Path(test_file).read_text(encoding="utf-8"))

    async def run() -> dict[str, Any]:
        started = time.perf_counter()
        agent = Agent.load(model)
        load_s = time.perf_counter() - started
        started = time.perf_counter()
        await agent.parse_message("你好")  # first parse builds lazy state; timed apart
        first_s = time.perf_counter() - started
        predictions, latencies = [], []
        for message in messages:
            started = time.perf_counter()
            parsed = await agent.parse_message(message["text"])
            latencies.append(time.perf_counter() - started)
            ranking = [r for r in parsed.get("intent_ranking", []) if r["name"] != FALLBACK_INTENT]
            confidences = [r["confidence"] for r in ranking[:2]] + [0.0, 0.0]
            predictions.append({"predicted": parsed["intent"]["name"],
                                "top": ranking[0]["name"] if ranking else parsed["intent"]["name"],
                                "top_confidence": confidences[0], "second_confidence": confidences[1]})
        return {"load_s": load_s, "first_parse_s": first_s, "latencies_s": latencies,
                "predictions": predictions, "rss_mb": _rss_mb()[0]}

    Path(result_file).write_text(json.dumps(asyncio.run(run())))


def run_worker(args: list[str], log: Path) -> None:
    env = {**os.environ, "RASA_TELEMETRY_ENABLED": "false", "TF_CPP_MIN_LOG_LEVEL": "2",
           "SQLALCHEMY_SILENCE_UBER_WARNING": "1", "OMP_WAIT_POLICY": "PASSIVE",
           "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH", "")])),
           # no reuse of cached component outputs between trainings: each fold's time is real
           "RASA_MAX_CACHE_SIZE": "0", "RASA_CACHE_DIRECTORY": str(log.parent / "rasa-cache")}
    with log.open("a") as out:
        done = subprocess.run([sys.executable, str(Path(__file__).resolve()), *args], cwd=log.parent,
                              env=env, stdout=out, stderr=subprocess.STDOUT)
    if done.returncode != 0:
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-30:])
        raise SystemExit(f"worker {args[0]} failed (exit {done.returncode}); end of {log}:\n{tail}")


# ---------------------------------------------------------------- metrics

def percentile(values: list[float], q: float) -> float:
    """Linear interpolation between ranks (statistics' inclusive method); nan for no values."""
    if len(values) < 2:
        return values[0] if values else float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[round(q * 100) - 1]


def macro_f1(truth: list[str], predicted: list[str]) -> float:
    """Macro F1 over the intents that occur in `truth` (a prediction of any other label,
    such as nlu_fallback, only lowers recall)."""
    scores = []
    for label in sorted(set(truth)):
        tp = sum(1 for t, p in zip(truth, predicted) if t == label and p == label)
        fp = sum(1 for t, p in zip(truth, predicted) if t != label and p == label)
        fn = sum(1 for t, p in zip(truth, predicted) if t == label and p != label)
        scores.append(2 * tp / (2 * tp + fp + fn) if tp else 0.0)
    return sum(scores) / len(scores) if scores else float("nan")


def summarise(name: str, folds: list[dict[str, Any]]) -> dict[str, Any]:
    rows: dict[str, dict[str, Any]] = {}
    for language in ("zh", "en", "-", "all"):
        truth, predicted, top, fold_acc = [], [], [], []
        for fold in folds:
            chosen = [(m, p) for m, p in zip(fold["messages"], fold["predictions"])
                      if language == "all" or (detect_language(m["text"]) or "-") == language]
            if chosen:
                fold_acc.append(sum(p["predicted"] == m["intent"] for m, p in chosen) / len(chosen))
            truth += [m["intent"] for m, _ in chosen]
            predicted += [p["predicted"] for _, p in chosen]
            top += [p["top"] for _, p in chosen]
        if not truth:
            continue
        n = len(truth)
        rows[language] = {
            "n": n,
            "accuracy": sum(t == p for t, p in zip(truth, predicted)) / n,
            "accuracy_fold_sd": statistics.pstdev(fold_acc) if len(fold_acc) > 1 else 0.0,
            "macro_f1": macro_f1(truth, predicted),
            "fallback_rate": sum(p == FALLBACK_INTENT for p in predicted) / n,
            "top_accuracy": sum(t == p for t, p in zip(truth, top)) / n,
        }
    # What accuracy and fallback rate other FallbackClassifier thresholds would give.
    pairs = [(m, p) for fold in folds for m, p in zip(fold["messages"], fold["predictions"])]
    sweep = []
    for threshold in THRESHOLDS:
        for ambiguity in (0.0, 0.05):
            falls = [p["top_confidence"] < threshold or p["top_confidence"] - p["second_confidence"] < ambiguity
                     for _, p in pairs]
            sweep.append({"threshold": threshold, "ambiguity": ambiguity,
                          "accuracy": sum(not f and p["top"] == m["intent"] for f, (m, p) in zip(falls, pairs)) / len(pairs),
                          "fallback_rate": sum(falls) / len(pairs)})
    latencies = [s for fold in folds for s in fold["latencies_s"]]
    return {
        "pipeline": name,
        "languages": rows,
        "threshold_sweep": sweep,
        "train_s": [fold["train_s"] for fold in folds],
        "train_cpu_s": [fold["train_cpu_s"] for fold in folds],
        "load_s": statistics.median(fold["load_s"] for fold in folds),
        "first_parse_s": statistics.median(fold["first_parse_s"] for fold in folds),
        "latency_ms_p50": 1000 * percentile(latencies, 0.5),
        "latency_ms_p95": 1000 * percentile(latencies, 0.95),
        "rss_mb": max(fold["rss_mb"] for fold in folds),
        "train_peak_rss_mb": max(fold["train_peak_rss_mb"] for fold in folds),
    }


def print_tables(results: list[dict[str, Any]], k: int, n_total: int, n_intents: int) -> None:
    from tabulate import tabulate

    print(f"\n{k}-fold stratified cross-validation, {n_total} examples, {n_intents} intents "
          f"(accuracy as deployed: nlu_fallback counts as wrong; 'DIET top' ignores the fallback)\n")
    quality = []
    for result in results:
        for language, row in result["languages"].items():
            quality.append([result["pipeline"], language, row["n"],
                            f"{row['accuracy']:.3f} ±{row['accuracy_fold_sd']:.3f}", f"{row['macro_f1']:.3f}",
                            f"{row['fallback_rate']:.3f}", f"{row['top_accuracy']:.3f}"])
    print(tabulate(quality, headers=["pipeline", "lang", "n", "accuracy ±sd(folds)", "macro F1",
                                     "fallback", "DIET top acc"], tablefmt="github"))
    print()
    cost = [[r["pipeline"], f"{statistics.mean(r['train_s']):.1f} ±{statistics.pstdev(r['train_s']):.1f}",
             f"{statistics.mean(r['train_cpu_s']):.1f}",
             f"{r['load_s']:.2f}", f"{1000 * r['first_parse_s']:.0f}", f"{r['latency_ms_p50']:.1f}",
             f"{r['latency_ms_p95']:.1f}", f"{r['rss_mb']:.0f}", f"{r['train_peak_rss_mb']:.0f}"] for r in results]
    print(tabulate(cost, headers=["pipeline", "train s/fold", "train CPU s", "load s", "1st parse ms", "parse ms p50",
                                  "parse ms p95", "RSS loaded MB", "train peak MB"], tablefmt="github"))
    print("\nAll languages, if the FallbackClassifier had other settings (threshold / ambiguity_threshold):\n")
    settings = [(row["threshold"], row["ambiguity"]) for row in results[0]["threshold_sweep"]]
    sweep = [[r["pipeline"], *[f"{row['accuracy']:.3f} ({row['fallback_rate']:.2f})" for row in r["threshold_sweep"]]]
             for r in results]
    print(tabulate(sweep, headers=["pipeline: accuracy (fallback rate)", *[f"{t} / {a}" for t, a in settings]],
                   tablefmt="github"))


# ---------------------------------------------------------------- main

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--data", type=Path, default=ROOT / "bot" / "data" / "nlu.yml")
    parser.add_argument("--pipelines", default="", help="comma-separated candidate file stems (default: all)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--max-folds", type=int, default=0, help="run only the first N folds (quick check)")
    parser.add_argument("--epochs", type=int, default=0, help="override DIET's epochs (quick check only)")
    parser.add_argument("--work", type=Path, help="scratch folder (default: a temporary one)")
    parser.add_argument("--json", type=Path, help="also write the figures as JSON here")
    parser.add_argument("--train-worker", nargs=4, help=argparse.SUPPRESS)
    parser.add_argument("--predict-worker", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.train_worker:
        return train_worker(*args.train_worker)
    if args.predict_worker:
        return predict_worker(*args.predict_worker)

    import yaml
    from rasa.shared.nlu.training_data.loading import load_data

    files = sorted(CANDIDATES_DIR.glob("*.yml"))
    if args.pipelines:
        wanted = args.pipelines.split(",")
        files = [f for f in files if f.stem in wanted]
        missing = set(wanted) - {f.stem for f in files}
        if missing:
            raise SystemExit(f"no candidate file(s) {sorted(missing)} in {CANDIDATES_DIR}")
    candidates = [(f, *build_config(f)) for f in files]
    if args.epochs:
        for _, _, config in candidates:
            for component in config["pipeline"]:
                if component["name"] == "DIETClassifier":
                    component["epochs"] = args.epochs

    data = load_data(str(args.data))
    folds = make_folds(data, args.folds, args.seed)
    if args.max_folds:
        folds = folds[:args.max_folds]
    examples = data.intent_examples
    by_language: dict[str, int] = {}
    for m in examples:
        language = detect_language(m.get("text")) or "-"
        by_language[language] = by_language.get(language, 0) + 1
    print(f"data: {args.data} — {len(examples)} examples ({by_language}), {len(data.intents)} intents")

    work = args.work or Path(tempfile.mkdtemp(prefix="nlu-compare-"))
    work.mkdir(parents=True, exist_ok=True)
    print(f"scratch: {work}")
    fold_files = [write_fold(data, test, work / f"fold{i}") for i, test in enumerate(folds)]

    results = []
    for candidate_file, name, config in candidates:
        print(f"\n== {name} ({candidate_file.name}): {short_pipeline(config)}", flush=True)
        folder = work / candidate_file.stem
        folder.mkdir(exist_ok=True)
        config_file = folder / "config.yml"
        config_file.write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False), encoding="utf-8")
        fold_results = []
        for i, (train_file, test_file) in enumerate(fold_files):
            fold_dir = folder / f"fold{i}"
            fold_dir.mkdir(exist_ok=True)
            log = fold_dir / "log.txt"
            run_worker(["--train-worker", str(config_file), str(train_file), str(fold_dir / "model"),
                        str(fold_dir / "train.json")], log)
            trained = json.loads((fold_dir / "train.json").read_text())
            run_worker(["--predict-worker", trained["model"], str(test_file), str(fold_dir / "predict.json")], log)
            predicted = json.loads((fold_dir / "predict.json").read_text())
            messages = json.loads(test_file.read_text(encoding="utf-8"))
            fold_results.append({"messages": messages, "train_s": trained["train_s"], "train_cpu_s": trained["train_cpu_s"],
                                 "train_peak_rss_mb": trained["peak_rss_mb"], **predicted})
            accuracy = sum(p["predicted"] == m["intent"] for m, p in zip(messages, predicted["predictions"])) / len(messages)
            print(f"  fold {i + 1}/{len(fold_files)}: train {trained['train_s']:.1f} s, "
                  f"accuracy {accuracy:.3f} on {len(messages)}, "
                  f"parse p50 {1000 * statistics.median(predicted['latencies_s']):.1f} ms", flush=True)
            for leftover in (fold_dir / "model").glob("*.tar.gz"):
                leftover.unlink()  # models are large; the figures are all we keep
        results.append({**summarise(name, fold_results), "file": candidate_file.name,
                        "pipeline_components": short_pipeline(config)})

    print_tables(results, args.folds, len(examples), len(data.intents))
    if args.json:
        args.json.write_text(json.dumps({"data": str(args.data), "folds": args.folds, "n": len(examples),
                                         "results": results}, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
