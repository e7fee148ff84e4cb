"""`govbot kb …` and `govbot eval`: commands for the knowledge base and its search."""

import argparse
import sys
import time
from pathlib import Path
from typing import Optional

from core.settings import PROJECT_ROOT, Settings
from knowledge.loader import InvalidKnowledgeBase, load_items


def _print_errors(errors: list, what: str) -> int:  # type: ignore[type-arg]
    for problem in errors:
        print(problem)
    print(f"{len(errors)} error(s); {what}")
    return 1


def _kb_dir(given: Optional[str], settings: Settings) -> Path:
    """The knowledge directory named on the command line, else the served one (GOVBOT_KB_DIR)."""
    return Path(given).resolve() if given else settings.kb_dir


def cmd_validate(args: argparse.Namespace, settings: Settings) -> int:
    """Check every item file in the directory; list all errors as `file: field: reason`."""
    try:
        items = load_items(_kb_dir(args.directory, settings))
    except InvalidKnowledgeBase as error:
        return _print_errors(error.errors, "nothing loaded")
    print(f"{len(items)} item{'s' if len(items) != 1 else ''}, all valid")
    return 0


def cmd_lint(args: argparse.Namespace, settings: Settings) -> int:
    """Check consistency across items: one department's items list the same hotlines, an item's zh and en texts
    state the same numbers, every hotline shows in both languages' answers. Each finding as `file: field: reason`;
    exit 1 if there is any."""
    import json

    from knowledge.lint import lint_directory

    try:
        findings = lint_directory(_kb_dir(args.kb, settings))
    except InvalidKnowledgeBase as error:
        return _print_errors(error.errors, "fix these first (govbot kb validate)")
    if args.json:
        print(json.dumps({"findings": [vars(finding) for finding in findings], "count": len(findings)},
                         ensure_ascii=False))
    elif findings:
        _print_errors(findings, "the knowledge base is not consistent")
    else:
        print("no findings: the items are consistent")
    return 1 if findings else 0


def _open(kb: Optional[str], settings: Settings):  # type: ignore[no-untyped-def]
    from knowledge.service import open_search

    return open_search(_kb_dir(kb, settings), settings=settings)


def cmd_build(args: argparse.Namespace, settings: Settings) -> int:
    """Validate the items and (re)build their search index under var/index if it is stale."""
    from knowledge.embedder import load_encoder
    from knowledge.index import build_index, save_index
    from knowledge.service import index_dir_for, index_is_current, load_config

    kb = _kb_dir(args.kb, settings)
    try:
        items = load_items(kb)
    except InvalidKnowledgeBase as error:
        return _print_errors(error.errors, "the index was not changed")
    config = load_config(settings.search_config)
    target = index_dir_for(kb, settings.index_root)
    if not args.force and index_is_current(kb, settings, config, items):
        print(f"index is up to date: {target}")
        return 0
    encoder = load_encoder(config.encoder, threads=config.threads, model_dir=settings.embedding_model_dir)
    started = time.perf_counter()
    built = build_index(items, encoder, config.index)
    save_index(built, target)
    print(f"built {built.manifest['kind']} index of {built.manifest['vectors']} vectors for "
          f"{len(items)} items in {time.perf_counter() - started:.1f} s: {target}")
    return 0


def cmd_search(args: argparse.Namespace, settings: Settings) -> int:
    """Search the knowledge base for a question; print the ranked items and the decision."""
    query = args.query.strip()
    if not query:
        print("the question is empty", file=sys.stderr)
        return 2
    try:
        search = _open(args.kb, settings)
    except InvalidKnowledgeBase as error:
        return _print_errors(error.errors, "cannot search")
    result = search.search(query, k=args.k)
    if args.json:
        print(result.model_dump_json())
        return 0
    print(f"decision: {result.decision}   ({result.latency_ms:.1f} ms, language {result.language})")
    for rank, candidate in enumerate(result.items, start=1):
        print(f"{rank:>2}. {candidate.score:.4f}  {candidate.id}  {candidate.title}")
    return 0


def cmd_import(args: argparse.Namespace, settings: Settings) -> int:
    """Turn a FAQ file (JSON lines id/question/answer) into a knowledge directory."""
    from knowledge.faq_import import FaqImportError, import_faq

    try:
        count = import_faq(Path(args.faq), Path(args.out), replace=args.replace)
    except FaqImportError as error:
        return _print_errors(error.errors, "nothing was written")
    except OSError as error:
        print(f"cannot import: {error}", file=sys.stderr)
        return 1
    print(f"imported {count} FAQ entries into {args.out}")
    if args.no_calibrate:
        return 0
    # An imported knowledge base gets its own "none" thresholds: scores of other texts do not transfer.
    return _calibrate(Path(args.out), [], settings)


def _calibrate(kb_dir: Path, query_files: list[str], settings: Settings) -> int:
    from knowledge.calibration import fit_answerability, fit_thresholds
    from knowledge.evaluate import QueriesFileError, read_queries
    from knowledge.service import open_search

    try:
        queries = [query for name in query_files for query in read_queries(Path(name))
                   if query.field("split") != "holdout"]
    except (QueriesFileError, OSError) as error:
        print(f"cannot read the queries: {error}", file=sys.stderr)
        return 2
    try:
        search = open_search(kb_dir, settings=settings)
    except InvalidKnowledgeBase as error:
        return _print_errors(error.errors, "cannot calibrate")
    search.calibration = None  # measure the plain search, not an earlier calibration
    started = time.perf_counter()
    if queries and all(query.expected_ids for query in queries) or \
            queries and not any(query.expected_ids for query in queries):
        print("cannot calibrate: the queries need both answerable lines and lines with expected null",
              file=sys.stderr)
        return 2
    calibration = fit_answerability(search, queries) if queries else fit_thresholds(search)
    calibration.save(kb_dir)
    how = (f"answerability check from {len(queries)} questions, refuse below {calibration.refuse_below}"
           if queries else f"none thresholds {calibration.none_below}")
    print(f"calibrated {kb_dir.name}: {how} ({time.perf_counter() - started:.0f} s); wrote calibration.json")
    return 0


def cmd_calibrate(args: argparse.Namespace, settings: Settings) -> int:
    """Make the knowledge base's own decision settings (calibration.json beside the items): with labelled query
    files, train the answerability check on their lines not marked "split": "holdout"; without, derive "none"
    thresholds from the items' own texts."""
    return _calibrate(_kb_dir(args.kb, settings), args.queries, settings)


def cmd_eval(args: argparse.Namespace, settings: Settings) -> int:
    """Measure the search on a queries file: top-1/top-3, MRR, the none decision, wrong answers, latency."""
    from knowledge.evaluate import (QueriesFileError, evaluate, grouped_json, read_queries, report_json, report_lines,
                                    score_by)

    try:
        queries = read_queries(Path(args.queries))
    except (QueriesFileError, OSError) as error:
        print(f"cannot read the queries: {error}", file=sys.stderr)
        return 2
    try:
        search = _open(args.kb, settings)
    except InvalidKnowledgeBase as error:
        return _print_errors(error.errors, "cannot evaluate")
    report, results = evaluate(search, queries)
    if args.by:
        groups = score_by(args.by, queries, results)
        if args.json:
            print(grouped_json(groups))
        else:
            for value, group in groups.items():
                print(f"{args.by} = {value}")
                print("\n".join(f"  {line}" for line in report_lines(group)))
        return 0
    print(report_json(report) if args.json else "\n".join(report_lines(report)))
    return 0


def add_kb_commands(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """Register `govbot kb` with its subcommands, and `govbot eval`."""
    default_kb = None  # the served knowledge directory, settings.kb_dir
    shipped = Settings.model_fields["kb_dir"].default.relative_to(PROJECT_ROOT)
    kb_help = f"knowledge directory (default: GOVBOT_KB_DIR, else {shipped})"
    kb = commands.add_parser("kb", help="knowledge base: validate, lint, build, search, import")
    kb_commands = kb.add_subparsers(dest="kb_command", required=True, metavar="KB_COMMAND")

    validate = kb_commands.add_parser("validate", help="check the item files", description=cmd_validate.__doc__)
    validate.add_argument("directory", nargs="?", default=default_kb, help=kb_help)
    validate.set_defaults(handler=cmd_validate)

    lint = kb_commands.add_parser("lint", help="check consistency across items and languages",
                                  description=cmd_lint.__doc__)
    lint.add_argument("--kb", default=default_kb, help=kb_help)
    lint.add_argument("--json", action="store_true",
                      help='print one JSON object: {"findings": [{"file", "field", "reason"}], "count"}')
    lint.set_defaults(handler=cmd_lint)

    build = kb_commands.add_parser("build", help="build the search index if stale", description=cmd_build.__doc__)
    build.add_argument("kb", nargs="?", default=default_kb, help=kb_help)
    build.add_argument("--force", action="store_true", help="rebuild even if the index is up to date")
    build.set_defaults(handler=cmd_build)

    search = kb_commands.add_parser("search", help="search for a question", description=cmd_search.__doc__)
    search.add_argument("query", help="the question")
    search.add_argument("--kb", default=default_kb, help=kb_help)
    search.add_argument("-k", type=int, default=5, help="how many items to list (default 5)")
    search.add_argument("--json", action="store_true", help="print the result as JSON")
    search.set_defaults(handler=cmd_search)

    faq = kb_commands.add_parser("import", help="turn a FAQ file into a knowledge directory",
                                 description=cmd_import.__doc__)
    faq.add_argument("faq", help="FAQ file: JSON lines with id, question, answer")
    faq.add_argument("--out", required=True, help="knowledge directory to create")
    faq.add_argument("--replace", action="store_true", help="replace --out if it already has files")
    faq.add_argument("--no-calibrate", action="store_true",
                     help="skip making the imported knowledge base's own none thresholds (needs the model)")
    faq.set_defaults(handler=cmd_import)

    calibrate = kb_commands.add_parser("calibrate", help="make the knowledge base's own decision settings",
                                       description=cmd_calibrate.__doc__)
    calibrate.add_argument("queries", nargs="*", help='labelled query files (JSON lines {"query", "expected"})')
    calibrate.add_argument("--kb", default=default_kb, help=kb_help)
    calibrate.set_defaults(handler=cmd_calibrate)

    evaluation = commands.add_parser("eval", help="measure the knowledge search on a queries file",
                                     description=cmd_eval.__doc__)
    evaluation.add_argument("queries", help='JSON lines {"query": ..., "expected": id | [ids] | null}')
    evaluation.add_argument("--kb", default=default_kb, help=kb_help)
    evaluation.add_argument("--json", action="store_true",
                            help="print one JSON object: " + ", ".join(
                                ["top1", "top3", "mrr", "none_precision", "none_recall", "n",
                                 "latency_ms_p50", "latency_ms_p95", "answered_wrong", "answerable_refused",
                                 "decisions"]))
    evaluation.add_argument("--by", metavar="FIELD",
                            help="the figures per value of this field of the query lines (e.g. style, lang); with "
                                 "--json one object {value: figures}")
    evaluation.set_defaults(handler=cmd_eval)

