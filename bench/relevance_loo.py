"""Leave-one-collection-out choice of every ranking setting: for each collection, the setting
with the best mean nDCG@10 on the other three, scored on the held-out one.

    python -m bench relevance --loo --collection ../shared/relevance/cran [...] [--out JSON]

Two grids, on the same product indexes as ``bench relevance`` (``bench/work/relevance``):

- **fusion** (hybrid mode): the product's own ``search.hybrid.fuse`` over newsfind's keyword list
  (keyword mode, with its scores, depth 1000) and the exact cosines of the same model: the union
  method for keyword depth × dense depth × dense weight × similarity floor, plus weighted RRF
  as a reference family, keyword only and dense only. The product default's offline run is
  checked against the engine's own hybrid answer (the share of queries whose top 10 agree);
- **keyword ranking** (keyword mode, re-run through the engine): k1, the length normalisation b,
  the field weights and the strict coordination tiers.

A setting that wins only on the collection it was tuned on shows up as a held-out score below
the fixed default's; the product keeps one setting for all collections.
"""

from __future__ import annotations

import contextlib
import itertools
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bench.relevance import Collection, load_collection, score_run

FUSION_DEPTH = 1000


@dataclass(frozen=True)
class Setting:
    family: str
    params: tuple[tuple[str, float], ...]

    @property
    def label(self) -> str:
        inner = " ".join(f"{k}={v:g}" for k, v in self.params)
        return f"{self.family} {inner}".strip()

    def get(self, key: str) -> float:
        return dict(self.params)[key]


def fusion_grid() -> list[Setting]:
    grid = [Setting("keyword", ()), Setting("dense", ())]
    for nk, nd, w, floor in itertools.product(
        (100, 200), (20, 50, 100), (0.5, 0.6, 0.7, 0.8), (0.0, 0.2, 0.3)
    ):
        grid.append(Setting("union", (("Nk", nk), ("Nd", nd), ("w", w), ("floor", floor))))
    for k, w in itertools.product((10, 20, 60), (0.5, 0.6, 0.7)):
        grid.append(Setting("rrf", (("k", k), ("w", w))))
    return grid


DEFAULT_FUSION = "union Nk=200 Nd=50 w=0.7 floor=0.2"


@dataclass
class QueryData:
    keyword: list[tuple[str, float]]
    cosine: np.ndarray
    """The query's cosine to every document (row order of ``ids``)."""


def fused_run(setting: Setting, ids: list[str], data: dict[str, QueryData]) -> dict[str, list[str]]:
    from search import hybrid

    row = {doc_id: i for i, doc_id in enumerate(ids)}
    rank = np.argsort(np.argsort(np.array(ids)))  # the id order: the engine's last tie-breaker
    run: dict[str, list[str]] = {}
    for qid, q in data.items():
        kw_docs = np.array([row[d] for d, _ in q.keyword], dtype=np.int64)
        kw_scores = np.array([s for _, s in q.keyword], dtype=np.float64)
        dense_order = np.lexsort((np.arange(len(ids)), -q.cosine))
        if setting.family == "keyword":
            ranked = kw_docs
        elif setting.family == "dense":
            ranked = dense_order[:FUSION_DEPTH]
        elif setting.family == "rrf":
            k, w = setting.get("k"), setting.get("w")
            fused: dict[int, float] = {}
            for r, d in enumerate(kw_docs.tolist()):
                fused[d] = fused.get(d, 0.0) + (1 - w) / (k + r + 1)
            for r, d in enumerate(dense_order[:FUSION_DEPTH].tolist()):
                fused[d] = fused.get(d, 0.0) + w / (k + r + 1)
            ranked = np.array(sorted(fused, key=lambda d: (-fused[d], rank[d])), dtype=np.int64)
        else:
            nk, nd = int(setting.get("Nk")), int(setting.get("Nd"))
            near = dense_order[:nd]
            near = near[q.cosine[near] >= setting.get("floor")]
            head_kw = kw_docs[:nk]
            candidates = hybrid.candidates(head_kw, near)
            head = hybrid.fuse(
                head_kw,
                kw_scores[:nk],
                near,
                q.cosine[candidates],
                rank[candidates],
                weight=setting.get("w"),
            )
            seen = set(head.tolist())
            rest = [d for d in kw_docs[nk:].tolist() if d not in seen]
            ranked = np.concatenate([head, np.array(rest, dtype=np.int64)])
        run[qid] = [ids[d] for d in ranked[:FUSION_DEPTH].tolist()]
    return run


def collect(collection: Collection) -> tuple[list[str], dict[str, QueryData], Any]:
    """newsfind's keyword lists and the cosines, from the collection's product index."""
    from bench.relevance_engines import NewsfindEngine
    from search import hybrid, query, vectors
    from search.embedding.encoder import shared
    from search.whoosh.target import WhooshTarget

    engine = NewsfindEngine()
    engine.index(collection.docs, collection.docs_dir)
    assert engine.index_dir is not None
    target = WhooshTarget(engine.index_dir)
    live = target.live()
    assert live is not None
    state = vectors.load(target.derived_file(live, vectors.KIND))
    assert state is not None
    matrix = np.asarray(state.vectors, dtype=np.float32)
    encoder = shared()
    data: dict[str, QueryData] = {}
    for qid in collection.judged:
        text = collection.queries[qid]
        keyword = engine.scored(text, FUSION_DEPTH, mode="keyword")
        plan = hybrid.plan(query.parse(text).root, text)
        cosine = matrix @ encoder.embed(plan.text) if plan.text else np.zeros(len(state.ids))
        data[qid] = QueryData(keyword, cosine)
    return state.ids, data, engine


def agreement(engine: Any, collection: Collection, run: dict[str, list[str]]) -> float:
    """Share of judged queries whose top 10 from the engine's hybrid mode equals ``run``'s."""
    same = 0
    for qid in collection.judged:
        answer = [d for d, _ in engine.scored(collection.queries[qid], 10, mode="hybrid")]
        same += answer == run[qid][:10]
    return same / max(len(collection.judged), 1)


@contextlib.contextmanager
def keyword_setting(k1: float, b_scale: str, weights: str, tiers: int) -> Iterator[None]:
    from search import ranking

    saved = (ranking.K1, dict(ranking.B), dict(ranking.FIELD_WEIGHTS), ranking.STRICT_COORDINATION)
    try:
        ranking.K1 = k1
        if b_scale == "0.75":
            ranking.B.update(dict.fromkeys(ranking.B, 0.75))
        if weights == "uniform":
            ranking.FIELD_WEIGHTS.update(dict.fromkeys(ranking.FIELD_WEIGHTS, 1.0))
        ranking.STRICT_COORDINATION = tiers
        yield
    finally:
        ranking.K1, b, w, ranking.STRICT_COORDINATION = saved
        ranking.B.update(b)
        ranking.FIELD_WEIGHTS.update(w)


def keyword_grid() -> list[Setting]:
    grid = []
    for k1, b, weights, tiers in itertools.product(
        (0.9, 1.1, 1.5), ("product", "0.75"), ("product", "uniform"), (3, 0)
    ):
        params = (("k1", k1), ("b", 0.0 if b == "product" else 0.75))
        params += (("uniform_weights", float(weights == "uniform")), ("tiers", tiers))
        grid.append(Setting("keyword", params))
    return grid


DEFAULT_KEYWORD = "keyword k1=1.1 b=0 uniform_weights=0 tiers=3"
"""b=0 here names the product's per-field b (``ranking.B``); b=0.75 sets every field's."""


def keyword_runs(collection: Collection, grid: Sequence[Setting]) -> dict[str, dict[str, Any]]:
    from bench.relevance_engines import work_for
    from search.contract import SearchRequest
    from search.whoosh.engine import WhooshEngine

    folder = work_for(collection.docs_dir)  # the index ``collect`` (bench relevance) built
    out = {}
    for setting in grid:
        b = "0.75" if setting.get("b") else "product"
        weights = "uniform" if setting.get("uniform_weights") else "product"
        with keyword_setting(setting.get("k1"), b, weights, int(setting.get("tiers"))):
            engine = WhooshEngine(folder)  # a fresh snapshot: no clause scored before
            run = {}
            for qid in collection.judged:
                request = SearchRequest(
                    q=collection.queries[qid], per_page=10, facets=(), mode="keyword"
                )
                run[qid] = [hit.article.id for hit in engine.search(request).hits]
            engine.close()
        out[setting.label] = score_run(collection, run)["metrics"]
    return out


def leave_one_out(scores: dict[str, dict[str, dict[str, float]]]) -> dict[str, Any]:
    """scores[collection][setting] = metrics → per held-out collection: the setting chosen on the
    others and its held-out metrics."""
    names = list(scores)
    settings = list(next(iter(scores.values())))
    out = {}
    for held in names:
        others = [c for c in names if c != held]
        best = max(settings, key=lambda s: (np.mean([scores[c][s]["nDCG@10"] for c in others]), s))
        out[held] = {"chosen": best, "metrics": scores[held][best]}
    return out


def run_loo(paths: Sequence[Path], out: Path | None) -> dict[str, Any]:
    collections = [load_collection(path) for path in paths]
    fusion: dict[str, dict[str, dict[str, float]]] = {}
    keyword: dict[str, dict[str, dict[str, float]]] = {}
    agree: dict[str, float] = {}
    for collection in collections:
        print(f"{collection.name}: keyword lists and cosines…", flush=True)
        ids, data, engine = collect(collection)
        fusion[collection.name] = {}
        for setting in fusion_grid():
            run = fused_run(setting, ids, data)
            fusion[collection.name][setting.label] = score_run(collection, run)["metrics"]
            if setting.label == DEFAULT_FUSION:
                agree[collection.name] = agreement(engine, collection, run)
        engine.close()
        print(f"{collection.name}: keyword settings…", flush=True)
        keyword[collection.name] = keyword_runs(collection, keyword_grid())
    results = {
        "fusion": {"scores": fusion, "loo": leave_one_out(fusion), "default": DEFAULT_FUSION},
        "keyword": {"scores": keyword, "loo": leave_one_out(keyword), "default": DEFAULT_KEYWORD},
        "agreement_with_engine": agree,
    }
    print()
    print(loo_table(results))
    if out:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
        print(f"\nwrote {out}")
    return results


def loo_table(results: dict[str, Any]) -> str:
    lines = []
    for grid in ("fusion", "keyword"):
        data = results[grid]
        names = list(data["loo"])
        default = data["default"]
        lines += [
            f"**{grid}** (default: `{default}`)",
            "",
            "| held out | setting chosen on the other three | nDCG@10 held out | MAP | "
            "default's nDCG@10 | default's MAP |",
            "|---|---|---|---|---|---|",
        ]
        for name in names:
            chosen = data["loo"][name]
            fixed = data["scores"][name][default]
            lines.append(
                f"| {name} | `{chosen['chosen']}` | {chosen['metrics']['nDCG@10']:.4f} | "
                f"{chosen['metrics']['MAP']:.4f} | {fixed['nDCG@10']:.4f} | {fixed['MAP']:.4f} |"
            )
        lines.append("")
    return "\n".join(lines)
