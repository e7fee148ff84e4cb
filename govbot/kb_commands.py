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
    return 0


def cmd_eval(args: argparse.Namespace, settings: Settings) -> int:
    """Measure the search on a queries file: top-1/top-3, MRR, the none decision, latency."""
    from knowledge.evaluate import QueriesFileError, evaluate, in_scope_refused, read_queries, report_json, report_lines

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
    if args.json:
        print(report_json(report))
    else:
        print("\n".join(report_lines(report, in_scope_refused(queries, results))))
    return 0


def add_kb_commands(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """Register `govbot kb` with its subcommands, and `govbot eval`."""
    default_kb = None  # the served knowledge directory, settings.kb_dir
    shipped = Settings.model_fields["kb_dir"].default.relative_to(PROJECT_ROOT)
    kb_help = f"knowledge directory (default: GOVBOT_KB_DIR, else {shipped})"
    kb = commands.add_parser("kb", help="knowledge base: validate, build, search, import")
    kb_commands = kb.add_subparsers(dest="kb_command", required=True, metavar="KB_COMMAND")

    validate = kb_commands.add_parser("validate", help="check the item files", description=cmd_validate.__doc__)
    validate.add_argument("directory", nargs="?", default=default_kb, help=kb_help)
    validate.set_defaults(handler=cmd_validate)

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
    faq.set_defaults(handler=cmd_import)

    evaluation = commands.add_parser("eval", help="measure the knowledge search on a queries file",
                                     description=cmd_eval.__doc__)
    evaluation.add_argument("queries", help='JSON lines {"query": ..., "expected": id | [ids] | null}')
    evaluation.add_argument("--kb", default=default_kb, help=kb_help)
    evaluation.add_argument("--json", action="store_true",
                            help="print one JSON object: " + ", ".join(
                                ["top1", "top3", "mrr", "none_precision", "none_recall", "n",
                                 "latency_ms_p50", "latency_ms_p95"]))
    evaluation.set_defaults(handler=cmd_eval)

