"""Measure the work-order dispatch classifier on the held-out reports (workorders/dispatch_eval/reports.jsonl).

Usage: .venv/bin/python -m benchmarks.dispatch [--encoder e5-st] [--write]

Fits the temperature and chooses the automatic-dispatch threshold on the calibration split, then prints on the test
split only: top-1 and top-2 accuracy (all, per language, per style), per department with its confusions, the
threshold, the share dispatched automatically and its accuracy, urgency accuracy, simple baselines on the same
vectors, and the time per report. Also checks that no report is a near-copy of a catalogue example.
--write saves the calibration to workorders/dispatch_eval/calibration.json (the classifier reads it).
"""

import argparse
import json
import os
import time
from collections import Counter, defaultdict
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # before torch is imported

import numpy as np  # noqa: E402

from core.stats import percentile  # noqa: E402
from knowledge.config import SearchConfig  # noqa: E402
from knowledge.embedder import load_encoder  # noqa: E402
from workorders.catalogue import load_catalogue  # noqa: E402
from workorders.classifier import (  # noqa: E402
    DEFAULT_CALIBRATION,
    TARGET_PRECISION,
    Calibration,
    DispatchClassifier,
    choose_threshold,
    fit_temperature,
    rule_urgency,
    softmax,
    write_calibration,
)

ROOT = Path(__file__).resolve().parents[1]
REPORTS = ROOT / "workorders" / "dispatch_eval" / "reports.jsonl"
NEAR_COPY = 0.95


def read_reports(path: Path = REPORTS) -> list[dict[str, str]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def accuracy(probabilities: np.ndarray, labels: np.ndarray, rows: list[int], k: int = 1) -> float:
    if not rows:
        return float("nan")
    top = np.argsort(-probabilities[rows], axis=1)[:, :k]
    return float(np.mean([labels[r] in top[i] for i, r in enumerate(rows)]))


def expected_calibration_error(confidences: np.ndarray, correct: np.ndarray, bins: int = 10) -> float:
    edges = np.linspace(0, 1, bins + 1)
    total = 0.0
    for low, high in zip(edges[:-1], edges[1:]):
        inside = (confidences > low) & (confidences <= high)
        if inside.any():
            total += inside.mean() * abs(correct[inside].mean() - confidences[inside].mean())
    return float(total)


def baselines(classifier: DispatchClassifier, vectors: np.ndarray, labels: np.ndarray, rows: list[int]) -> None:
    """Nearest centroid and nearest example on the same vectors (no fitting), for comparison."""
    examples, owner = classifier.example_vectors, classifier.example_labels
    count = len(classifier.catalogue.departments)
    centroids = np.stack([examples[owner == k].mean(axis=0) for k in range(count)])
    centroids /= np.linalg.norm(centroids, axis=1, keepdims=True)
    similarity = vectors @ examples.T
    nearest = np.stack([similarity[:, owner == k].max(axis=1) for k in range(count)], axis=1)
    for name, scores in (("nearest centroid", vectors @ centroids.T), ("nearest example", nearest)):
        print(f"  {name:<18} top1 {accuracy(scores, labels, rows):.3f}  top2 {accuracy(scores, labels, rows, 2):.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--encoder", default=None, help="e5-st (the product's, default) or e5-nano")
    parser.add_argument("--write", action="store_true", help="save the calibration for the classifier")
    args = parser.parse_args()

    config = SearchConfig.load()
    started = time.perf_counter()
    encoder = load_encoder(args.encoder or config.encoder, threads=config.threads)
    loaded = time.perf_counter()
    catalogue = load_catalogue()
    classifier = DispatchClassifier(catalogue, encoder)
    built = time.perf_counter()
    print(f"encoder {encoder.model_id}: load {loaded - started:.1f} s; classifier built "
          f"({len(classifier.example_texts)} examples and remits) in {built - loaded:.1f} s")

    reports = read_reports()
    ids = catalogue.ids
    labels = np.asarray([ids.index(r["department"]) for r in reports])
    vectors = encoder.encode_queries([r["text"] for r in reports])
    logits = classifier.logits(vectors)
    calibration_rows = [i for i, r in enumerate(reports) if r["split"] == "calibration"]
    test_rows = [i for i, r in enumerate(reports) if r["split"] == "test"]
    languages = Counter(r["language"] for r in reports)
    print(f"reports: {len(reports)} ({languages['zh']} zh, {languages['en']} en); calibration "
          f"{len(calibration_rows)}, test {len(test_rows)}")

    nearest = (vectors @ classifier.example_vectors.T).max(axis=1)
    print(f"near-copies of catalogue examples (cosine > {NEAR_COPY}): {int((nearest > NEAR_COPY).sum())}; "
          f"highest cosine {nearest.max():.3f}, median {np.median(nearest):.3f}")

    cal = np.asarray(calibration_rows)
    temperature = fit_temperature(logits[cal], labels[cal])
    probabilities = softmax(logits, temperature)
    confidence = probabilities.max(axis=1)
    correct = probabilities.argmax(axis=1) == labels
    threshold, share, precision = choose_threshold(confidence[cal], correct[cal], TARGET_PRECISION)
    calibration = Calibration(catalogue=catalogue.fingerprint(), model=str(encoder.model_id),
                              temperature=round(temperature, 5), threshold=round(threshold, 5),
                              precision=round(precision, 4), share=round(share, 4), reports=len(calibration_rows))
    print(f"\ncalibration split: temperature {temperature:.4f}; threshold {threshold:.3f} → {share:.1%} "
          f"automatic, {precision:.1%} of them right (target {TARGET_PRECISION:.0%})")

    print("\ntest split (department):")
    groups: dict[str, list[int]] = defaultdict(list)
    for i in test_rows:
        groups[f"lang {reports[i]['language']}"].append(i)
        groups[f"style {reports[i]['style']}"].append(i)
    print(f"  {'all':<18} n={len(test_rows):<4} top1 {accuracy(probabilities, labels, test_rows):.3f}  "
          f"top2 {accuracy(probabilities, labels, test_rows, 2):.3f}")
    for name in sorted(groups):
        rows = groups[name]
        print(f"  {name:<18} n={len(rows):<4} top1 {accuracy(probabilities, labels, rows):.3f}  "
              f"top2 {accuracy(probabilities, labels, rows, 2):.3f}")
    test = np.asarray(test_rows)
    automatic = test[confidence[test] >= threshold]
    print(f"  automatic dispatch (p ≥ {threshold:.3f}): {len(automatic) / len(test):.1%} of reports, "
          f"{correct[automatic].mean() if len(automatic) else float('nan'):.1%} right "
          f"({int((~correct[automatic]).sum())} wrong of {len(automatic)}); the rest go to a dispatcher, "
          f"whose top-2 list holds the right one in {accuracy(probabilities, labels, [int(i) for i in test if i not in set(automatic)], 2):.1%}")
    print(f"  expected calibration error {expected_calibration_error(confidence[test], correct[test]):.3f}")

    print("\nper department (test): top1, and where its reports went wrong")
    for k, department in enumerate(ids):
        rows = [i for i in test_rows if labels[i] == k]
        wrong = Counter(ids[int(probabilities[i].argmax())] for i in rows if not correct[i])
        confusions = ", ".join(f"{other} {n}" for other, n in wrong.most_common(3))
        print(f"  {department:<18} n={len(rows):<3} top1 {accuracy(probabilities, labels, rows):.2f}  {confusions}")

    print("\nbaselines on the same vectors (test):")
    baselines(classifier, vectors, labels, test_rows)

    predicted = [rule_urgency(reports[i]["text"], catalogue, ids[int(probabilities[i].argmax())])[0] for i in test_rows]
    truth = [reports[i]["urgency"] for i in test_rows]
    right = np.mean([p == t for p, t in zip(predicted, truth)])
    print(f"\nurgency (test): accuracy {right:.3f}")
    for level in ("urgent", "high", "normal", "low"):
        n = sum(t == level for t in truth)
        found = sum(p == level and t == level for p, t in zip(predicted, truth))
        said = sum(p == level for p in predicted)
        print(f"  {level:<7} n={n:<3} recall {found / n if n else float('nan'):.2f}  "
              f"precision {found / said if said else float('nan'):.2f}")

    timings = []
    for i in test_rows[:60]:
        began = time.perf_counter()
        classifier.propose(reports[i]["text"])
        timings.append((time.perf_counter() - began) * 1000)
    print(f"\nms per report (propose(), one at a time, {len(timings)} reports): p50 {percentile(timings, 0.5):.1f}  "
          f"p95 {percentile(timings, 0.95):.1f}")

    if args.write:
        write_calibration(calibration, DEFAULT_CALIBRATION)
        print(f"\nwrote {DEFAULT_CALIBRATION.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
