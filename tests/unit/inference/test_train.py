"""Training checkpoints: an interrupted write keeps the previous one, a missing or damaged one is a clear error."""


import pytest
import torch

from inference.training import checkpoint as checkpoint_module
from inference.training.checkpoint import CheckpointError, load_checkpoint, save_checkpoint


def test_a_kill_while_writing_leaves_the_previous_checkpoint_usable(tmp_path, monkeypatch):
    save_checkpoint(tmp_path, {"step": 1, "weights": torch.ones(3)})

    def dies_halfway(state, handle):
        handle.write(b"half a checkpoint")
        raise KeyboardInterrupt

    monkeypatch.setattr(checkpoint_module.torch, "save", dies_halfway)
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint(tmp_path, {"step": 2, "weights": torch.zeros(3)})
    state = load_checkpoint(tmp_path)
    assert state["step"] == 1 and torch.equal(state["weights"], torch.ones(3))


def test_missing_or_damaged_checkpoint_is_a_clear_error(tmp_path):
    with pytest.raises(CheckpointError, match="no checkpoint here"):
        load_checkpoint(tmp_path)
    (tmp_path / "checkpoint.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="cannot be read"):
        load_checkpoint(tmp_path)


