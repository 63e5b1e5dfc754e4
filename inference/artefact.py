"""Model artefacts: a directory with ``model.safetensors`` and ``model.json``.

``model.json`` holds everything needed to rebuild the network and to judge it:
alphabet, max length, classes, version, SHA-256 of the training data, the
training options and the validation metrics. Loading checks both files and fails
with an :class:`ArtefactError` that names the file at fault.

Importing this module loads no torch (torch is imported by the functions that build or
load a network): ``reviewpulse run`` reads model cards in a process that holds no model.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from inference.encoding import DEFAULT_ALPHABET, DEFAULT_MAX_LENGTH, Alphabet

if TYPE_CHECKING:
    from inference.model import CharCNN

WEIGHTS_FILE = "model.safetensors"
CONFIG_FILE = "model.json"
FORMAT_VERSION = 1


class ArtefactError(RuntimeError):
    """A model directory is missing, corrupted or incompatible with this code."""


@dataclass
class ModelCard:
    """What ``model.json`` says about a trained model."""

    name: str
    version: str
    alphabet: str
    max_length: int
    classes: list[str]
    created_at: str = ""
    data_sha256: str = ""
    training: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    weights_dtype: str = "float32"
    format_version: int = FORMAT_VERSION
    #: Network shape beyond the paper's: ``word_buckets``/``word_dim`` of the word branch (0 = none),
    #: ``tfidf_head`` (inference/tfidf_head.py) over the same buckets, ``filters`` (256 when absent) and
    #: ``char_dim`` (learned character embeddings; 0 or absent = one-hot), ``CharCNN.architecture()``.
    architecture: dict[str, Any] = field(default_factory=dict)
    #: ``class_bias`` added to the logits before softmax (see inference/training/calibration.py), and how it was fitted.
    calibration: dict[str, Any] = field(default_factory=dict)
    #: The precision gate (inference/precision.py): bf16 vs fp32 label agreement and macro-F1, ``passed``.
    precision: dict[str, Any] = field(default_factory=dict)


def network_shape(card: ModelCard) -> dict[str, Any]:
    """``card.architecture`` with the paper's values where an older card says nothing (``CharCNN``'s keywords)."""
    from inference.model import FILTERS

    architecture = card.architecture
    return {"word_buckets": int(architecture.get("word_buckets", 0)), "word_dim": int(architecture.get("word_dim", 0)),
            "tfidf_head": bool(architecture.get("tfidf_head", False)),
            "filters": int(architecture.get("filters", FILTERS)), "char_dim": int(architecture.get("char_dim", 0))}


def build_model(card: ModelCard) -> CharCNN:
    """An untrained network with the shape ``card`` describes."""
    from inference.model import CharCNN

    return CharCNN(len(Alphabet(card.alphabet)), len(card.classes), card.max_length, **network_shape(card))


def save_artefact(model: CharCNN, card: ModelCard, directory: str | Path, half: bool = False) -> Path:
    """Write weights (fp16 when ``half``) and the card; returns the directory."""
    import torch
    from safetensors.torch import save_file

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    dtype = torch.float16 if half else torch.float32
    tensors = {name: value.detach().to(dtype).contiguous() for name, value in model.state_dict().items()}
    save_file(tensors, str(directory / WEIGHTS_FILE))
    card.weights_dtype = str(dtype).removeprefix("torch.")
    (directory / CONFIG_FILE).write_text(json.dumps(asdict(card), indent=2) + "\n", encoding="utf-8")
    return directory


def save_untrained(
    directory: str | Path,
    *,
    max_length: int = DEFAULT_MAX_LENGTH,
    classes: tuple[str, ...] = ("bad", "average", "good"),
    seed: int = 0,
    output_std: float | None = None,
    name: str = "untrained",
    version: str = "untrained",
    training: dict[str, Any] | None = None,
    architecture: dict[str, Any] | None = None,
) -> Path:
    """A complete artefact with untrained weights: for tests, and benchmarks run before any training.

    Same ``seed``, same weights. Kaiming-initialised outputs are close to uniform;
    ``output_std`` redraws the output layer's weights with that spread so the classes'
    probabilities differ visibly (what tests of argmax and precision need).
    """
    import torch

    card = ModelCard(name=name, version=version, alphabet=DEFAULT_ALPHABET, max_length=max_length,
                     classes=list(classes), training=dict(training or {}), architecture=dict(architecture or {}))
    torch.manual_seed(seed)
    model = build_model(card)
    if output_std is not None:
        torch.nn.init.normal_(model.fc3.weight, std=output_std)
    return save_artefact(model, card, directory)


def read_card(directory: str | Path) -> ModelCard:
    path = Path(directory) / CONFIG_FILE
    if not path.is_file():
        raise ArtefactError(f"{path}: missing; is {directory} a ReviewPulse model directory?")
    try:
        card = ModelCard(**json.loads(path.read_text(encoding="utf-8")))
    except (ValueError, TypeError) as error:
        raise ArtefactError(f"{path}: not a valid model card ({error})") from None
    if card.format_version != FORMAT_VERSION:
        raise ArtefactError(
            f"{path}: format_version {card.format_version}, this code reads {FORMAT_VERSION}"
        )
    return card


def load_artefact(directory: str | Path, device: str = "cpu") -> tuple[CharCNN, ModelCard, Alphabet]:
    """Rebuild the network from a model directory, in eval mode, weights in fp32."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    card = read_card(directory)
    alphabet = Alphabet(card.alphabet)
    model = build_model(card)
    weights_path = Path(directory) / WEIGHTS_FILE
    if not weights_path.is_file():
        raise ArtefactError(f"{weights_path}: missing")
    try:
        tensors = load_file(str(weights_path))
    except (SafetensorError, OSError, ValueError) as error:
        raise ArtefactError(f"{weights_path}: cannot be read ({error})") from None
    expected = model.state_dict()
    for name, value in expected.items():
        if name not in tensors or tensors[name].shape != value.shape:
            found = tuple(tensors[name].shape) if name in tensors else "nothing"
            raise ArtefactError(
                f"{weights_path}: tensor {name!r} should be {tuple(value.shape)}, found {found}; "
                f"the weights do not match {Path(directory) / CONFIG_FILE}"
            )
    model.load_state_dict({name: tensors[name].float() for name in expected})
    model.to(device).eval()
    return model, card, alphabet
