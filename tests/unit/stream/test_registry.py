"""The model registry's artefacts live under the data dir."""

from __future__ import annotations

import pytest

from kernel.settings import Settings
from stream.registry.store import artefact_dir


def test_artefacts_live_under_the_data_dir(tmp_path) -> None:
    assert artefact_dir(Settings(data_dir=tmp_path), "v1") == tmp_path / "models" / "v1"
    with pytest.raises(ValueError):
        artefact_dir(Settings(data_dir=tmp_path), "../../etc")
