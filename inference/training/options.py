"""``TrainOptions``: everything a training run is configured with, recorded in model.json and checkpoints."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any


@dataclass
class TrainOptions:
    data: str
    text_column: str = "text"
    label_column: str = "rating"
    source_column: str = "source"
    group_labels: bool = True
    ignore_center: bool = False
    balance: bool = False
    validation_split: float = 0.1
    #: Split the first N rows as a file of N rows was split (a corpus that grew by appending).
    prefix_rows: int = 0
    max_length: int = 1014
    dropout_input: float = 0.0
    max_rows: int | None = None
    epochs: int = 10
    #: Rows drawn per epoch (0 = every training row once): shorter epochs, more frequent validation.
    epoch_rows: int = 0
    batch_size: int = 128
    optimizer: str = "adam"
    lr: float = 0.001
    schedule: int = 3
    patience: int = 3
    seed: int = 42
    log_every: int = 50
    model_name: str = "charcnn"
    output: str = "models"
    extra_characters: str = ""
    exclude_sources: tuple[str, ...] = ()
    half: bool = False
    #: Hashed word n-gram side branch (inference/words.py); 0 buckets = the paper's pure char-CNN.
    word_buckets: int = 0
    word_dim: int = 32
    #: Char-CNN width (the paper's 256) and learned character embeddings (0 = one-hot input), inference/model.py.
    filters: int = 256
    char_dim: int = 0
    #: Artefact to start from: matching tensors are copied, new ones (the word branch) start at zero weight.
    init_from: str = ""
    device: str = "cpu"
    #: auto = bf16 autocast where the hardware runs it natively, else fp32.
    precision: str = "auto"
    #: Where checkpoints go; empty = OUTPUT/MODEL_NAME.checkpoint (git-ignored).
    checkpoint_dir: str = ""
    checkpoint_minutes: float = 10.0
    calibrate: bool = True
    #: Record the precision gate on the validation split after the last epoch (retrain records its own, on the hold-out).
    gate_precision: bool = True
    #: Passes of word-branch-only training before the joint epochs (inference/training/word_pretrain.py).
    pretrain_words: int = 0
    word_lr: float = 0.003
    #: Epochs the char-CNN trains alone (fewer if it stops improving) before ``pretrain_words`` joins the word
    #: branch: beside a pretrained branch from the start, its units die (docs/model.md, issue 36).
    cnn_first: int = 0
    #: Keep the word branch as it is (pretrained or warm-started) through the joint epochs: a second pass overfits it.
    freeze_words: bool = False
    #: Objective (inference/training/losses.py): ce, neighbour or emd; the weight of the ordinal part.
    loss: str = "ce"
    ordinal_weight: float = 0.1

    @classmethod
    def from_record(cls, recorded: dict[str, Any], **overrides: object) -> TrainOptions:
        """Options as model.json or a checkpoint recorded them (extra keys such as ``rows`` ignored)."""
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in {**recorded, **overrides}.items() if k in known}
        values["exclude_sources"] = tuple(values.get("exclude_sources") or ())
        return cls(**values)
