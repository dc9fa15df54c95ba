"""Text → unit vector with the pinned model, through ONNX Runtime.

**One text per call.** Dynamic int8 quantisation picks one activation scale per call; in a
batch, a text's vector would depend on its batch-mates. One text per call makes a vector the
same bits however it is computed (full reindex, incremental reindex, query) on a given machine.
Throughput comes from threads instead: ``embed_many`` runs ``workers`` threads on one session
(``InferenceSession.run`` releases the GIL and may be called concurrently).

**Sessions**: one intra-op thread and no spinning (``session.intra_op.allow_spinning = 0``):
spinning threads collapse on a shared, busy machine. ``shared()`` keeps one encoder per process
for the engine and the reindex.

Vector = mean of the last hidden states over the tokens (``[CLS]`` and ``[SEP]`` included),
L2-normalised: cosine similarity is a dot product.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from . import model
from .wordpiece import WordPiece

_shared: Encoder | None = None
_shared_lock = threading.Lock()


class Encoder:
    dimensions = model.DIMENSIONS

    def __init__(self, graph: Path | None = None, threads: int = 1) -> None:
        files = model.package_files()
        path = graph or model.ensure_graph()
        self.tokenizer = WordPiece(files.vocab)
        self.session = _session(path, threads)
        self._tokens_lock = threading.Lock()

    def embed(self, text: str) -> np.ndarray:
        """The unit vector of ``text`` (float32, ``dimensions``); zeros for empty text."""
        with self._tokens_lock:  # the tokenizer's piece cache is a plain dict
            ids = self.tokenizer.encode(text, model.MAX_TOKENS)
        if len(ids) <= 2 and not text.strip():
            return np.zeros(self.dimensions, dtype=np.float32)
        feed = {
            "input_ids": np.array([ids], dtype=np.int64),
            "attention_mask": np.ones((1, len(ids)), dtype=np.int64),
        }
        pooled = np.asarray(self.session.run(None, feed)[0][0], dtype=np.float32)
        norm = float(np.linalg.norm(pooled))
        return pooled / max(norm, 1e-12)

    def embed_many(
        self,
        texts: Sequence[str],
        workers: int = 2,
        done: Callable[[int], None] | None = None,
    ) -> np.ndarray:
        """``(len(texts), dimensions)`` float32, row i the vector of ``texts[i]``."""
        out = np.zeros((len(texts), self.dimensions), dtype=np.float32)
        if not texts:
            return out

        def run(index: int) -> None:
            out[index] = self.embed(texts[index])
            if done is not None:
                done(1)

        if workers <= 1 or len(texts) < 8:
            for index in range(len(texts)):
                run(index)
            return out
        with ThreadPoolExecutor(workers) as pool:
            for _ in pool.map(run, range(len(texts))):
                pass
        return out


class QueryVectors:
    """Query text → vector through the process's encoder, with the last ``size`` kept (a query
    asked again costs nothing). Built eagerly: an engine refuses to start without its model."""

    def __init__(self, size: int = 1024) -> None:
        self.encoder = shared()
        self.size = size
        self._kept: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def embed(self, text: str) -> np.ndarray:
        with self._lock:
            vector = self._kept.get(text)
            if vector is not None:
                self._kept.move_to_end(text)
                return vector
        vector = self.encoder.embed(text)
        with self._lock:
            self._kept[text] = vector
            while len(self._kept) > self.size:
                self._kept.popitem(last=False)
        return vector


def shared() -> Encoder:
    """This process's encoder (built on first use: ``ModelUnavailable`` when it cannot be)."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = Encoder()
        return _shared


def _session(path: Path, threads: int) -> Any:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.log_severity_level = 3
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
