"""``python -m bench <command>``: scale, index, query, http, typesense, queries, plot, relevance,
soak, parity, related, stories, mlt."""

from __future__ import annotations

import argparse
import importlib
import sys

COMMANDS = {
    "scale": ("bench.scale", "write a scaled corpus in the seed format"),
    "index": ("bench.index_bench", "full / incremental reindex speed against the peers"),
    "query": ("bench.query_bench", "faceted query latency against the peers"),
    "http": ("bench.http_bench", "newsfind serve under a bounded concurrent load"),
    "typesense": ("bench.typesense_bench", "Typesense beside Whoosh: index, query, http"),
    "queries": ("bench.queryset", "regenerate the versioned query set file"),
    "plot": ("bench.plot", "draw bench/results/*.png from the JSON records"),
    "relevance": ("bench.relevance", "ranking quality (nDCG, MAP) against BM25 peers"),
    "soak": ("bench.soak", "mixed load with a full reindex every minute: RSS, open files, errors"),
    "parity": ("bench.parity", "Whoosh and Typesense answers compared on the query set"),
    "related": ("bench.related_rule", "hits matching only in related titles above own matches"),
    "stories": ("bench.stories_bench", "story assignment: B-cubed against labels, baselines"),
    "mlt": ("bench.mlt_bench", "more-like-this: same-story precision by terms and by vectors"),
}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    chosen = next((arg for arg in argv if not arg.startswith("-")), None)
    for name, (module_name, help_text) in COMMANDS.items():
        if name != chosen:  # import only the command that runs (the others pull in heavy peers)
            commands.add_parser(name, help=help_text)
            continue
        module = importlib.import_module(module_name)
        sub = commands.add_parser(
            name,
            help=help_text,
            description=module.__doc__,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        module.add_arguments(sub)
        sub.set_defaults(run=module.main)
    args = parser.parse_args(argv)
    return int(args.run(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
