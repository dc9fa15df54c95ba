"""What of an article is embedded, and the hash its vector is stored and reused under.

``article_text``: the title, ". ", then the first ``LEAD_WORDS`` words of the body (or of the
excerpt when there is no body), the title not repeated when the lead starts with it (wire
copy and some collections repeat it). 80 words kept the quality of whole texts on the relevance
collections at a fraction of the cost (bench/README.md); the model reads at most 256 tokens.
"""

from __future__ import annotations

import hashlib
import re

from .model import MODEL_ID

LEAD_WORDS = 80
_SPACES = re.compile(r"\s+")


def article_text(title: str, excerpt: str, body: str, words: int = LEAD_WORDS) -> str:
    title = _SPACES.sub(" ", title or "").strip()
    lead = _SPACES.sub(" ", body or excerpt or "").strip()
    if title and lead.lower().startswith(title.lower()):
        lead = lead[len(title) :].lstrip(" .:-")
    lead = " ".join(lead.split(" ")[:words])
    if title and lead:
        return f"{title} {lead}" if title.endswith((".", "?", "!")) else f"{title}. {lead}"
    return title or lead


def text_hash(text: str) -> str:
    """The key of a text's vector: the model's id and the text (a new graph embeds anew)."""
    return hashlib.blake2b(f"{MODEL_ID}\n{text}".encode(), digest_size=16).hexdigest()
