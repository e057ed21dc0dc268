"""`dailypapers embed`: give every paper whose title or abstract changed a sentence embedding.

Papers are read in `seq` order from the model's watermark; a paper whose text hash matches its stored
vector is skipped (an upvote does not re-embed). Each batch's vectors and the new watermark are
committed together, so an interrupted run resumes after the last committed batch.
"""

from __future__ import annotations

import hashlib

from .vectors import quantize


def paper_text(title: str, abstract: str | None) -> str:
    """What is embedded for a paper (the encoder reads up to 512 word pieces: all of an arXiv abstract)."""
    return f"{title}. {abstract}" if abstract else title


def text_hash(text: str) -> str:
    return hashlib.blake2b(text.encode(), digest_size=12).hexdigest()


def model_key(encoder) -> str:
    return f"{encoder.name}@{encoder.version}"


def embed_pending(store, encoder, *, batch: int = 256, progress=None) -> int:
    """Embed what changed since the watermark; returns how many papers were embedded."""
    model = model_key(encoder)
    embedded = 0
    while rows := store.to_embed(model, batch):
        todo = []
        for row in rows:
            text = paper_text(row.title, row.abstract)
            digest = text_hash(text)
            if digest != row.text_hash:
                todo.append((row.pk, digest, text))
        vectors = encoder.encode([text for _, _, text in todo]) if todo else []
        saved = [(pk, digest, *quantize(vector)) for (pk, digest, _), vector in zip(todo, vectors)]
        store.save_embeddings(model, saved, rows[-1].seq)
        embedded += len(saved)
        if progress:
            progress(len(rows))
    return embedded


def import_vectors(store, model: str, path) -> int:
    """Save the vectors of a file made by scripts/make_demo_vectors.py for the papers whose text they
    were made from, if they are `model`'s; returns how many. Papers left without one wait for `embed`."""
    import numpy as np

    with np.load(path) as archive:
        data = {name: archive[name] for name in archive.files}  # an NpzFile decompresses on every access
    if str(data["model"]) != model:
        return 0
    bundled = {str(i): n for n, i in enumerate(data["ids"])}
    rows = store.to_embed(model, limit=len(bundled) + 1)
    saved = []
    for row in rows:
        n = bundled.get(row.id)
        if n is not None and str(data["text_hashes"][n]) == text_hash(paper_text(row.title, row.abstract)):
            saved.append((row.pk, str(data["text_hashes"][n]), data["vectors"][n].tobytes(), float(data["scales"][n])))
    complete = len(saved) == len(rows) and len(rows) <= len(bundled)
    store.save_embeddings(model, saved, rows[-1].seq if complete and rows else store.embedded_seq(model))
    return len(saved)
