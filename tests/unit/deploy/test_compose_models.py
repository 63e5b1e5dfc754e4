"""docker-compose.yml and the learning loop: one place for registered models, the retrain service.

``reviewpulse retrain`` writes a candidate to ``DATA_DIR/models/<version>/`` and records that
absolute path in the registry (``stream.learning.retraining``: ``artefact_dir(settings, version).resolve()``);
a promote tells every worker that path and the worker loads it as it is (``stream.registry.hotswap``). The
shipped model is registered as ``MODEL_DIR`` resolved. So every container that writes or reads
registered models must see the same files at the same paths: the same DATA_DIR, one named volume
at DATA_DIR/models (read-only where nothing is written), the same MODEL_DIR and ./models mount.
Nothing here starts a container; the compose file and the Dockerfile are parsed.
"""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath
from typing import Any

import pytest
import yaml

from kernel.settings import Settings
from stream.learning.automatic import AutoRetrainer
from stream.registry.store import artefact_dir

REPO = Path(__file__).resolve().parents[3]
DOCKERFILE = (REPO / "deploy" / "Dockerfile").read_text()
#: reviewpulse subcommands that write or read registered model artefacts.
MODEL_COMMANDS = {"worker", "web", "retrain", "models"}
#: ...and those that write them (`web`: its automatic retrainer runs `reviewpulse retrain`).
WRITING_COMMANDS = {"web", "retrain", "models"}
INTERPOLATION_DEFAULT = re.compile(r"\$\{[A-Z0-9_]+:-([^}]*)\}")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load((REPO / "docker-compose.yml").read_text())


@pytest.fixture(scope="module")
def model_services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {name: service for name, service in compose["services"].items()
            if service.get("command", [None, None])[:1] == ["reviewpulse"]
            and service["command"][1] in MODEL_COMMANDS}


def mounts(service: dict[str, Any]) -> dict[str, tuple[str, bool]]:
    """Container path -> (source, read-only), ``${VAR:-default}`` sources read as their default."""
    found = {}
    for volume in service.get("volumes", []):
        source, target, *mode = INTERPOLATION_DEFAULT.sub(r"\1", volume).split(":")
        found[target] = (source, "ro" in mode)
    return found


def image_env(name: str) -> str:
    match = re.search(rf"\b{name}=(\S+)", DOCKERFILE)
    assert match, f"deploy/Dockerfile sets no {name}"
    return match.group(1)


def registered_models_dir(data_dir: str) -> str:
    """Where the code puts registered artefacts for this DATA_DIR (the parent of a version's folder)."""
    return str(PurePosixPath(artefact_dir(Settings(data_dir=Path(data_dir)), "v1").parent))


def test_every_service_that_touches_registered_models_is_known(model_services: dict[str, dict[str, Any]]) -> None:
    assert set(model_services) == {"worker", "web", "retrain"}


def test_data_dir_is_the_same_everywhere_and_absolute(model_services: dict[str, dict[str, Any]]) -> None:
    data_dirs = {name: service["environment"].get("DATA_DIR") for name, service in model_services.items()}
    assert set(data_dirs.values()) == {image_env("DATA_DIR")}, f"DATA_DIR differs: {data_dirs}"
    assert PurePosixPath(image_env("DATA_DIR")).is_absolute(), "a relative DATA_DIR depends on working_dir"


def test_one_volume_holds_the_registered_models_at_the_same_path(
        compose: dict[str, Any], model_services: dict[str, dict[str, Any]]) -> None:
    models_dir = registered_models_dir(image_env("DATA_DIR"))
    sources = set()
    for name, service in model_services.items():
        mounted = mounts(service)
        assert models_dir in mounted, f"{name} does not mount the registered models at {models_dir}"
        source, read_only = mounted[models_dir]
        sources.add(source)
        writes = service["command"][1] in WRITING_COMMANDS
        assert read_only is not writes, f"{name}: {models_dir} should be {'writable' if writes else 'read-only'}"
    assert len(sources) == 1, f"the services mount different things at {models_dir}: {sources}"
    (volume,) = sources
    assert volume in compose["volumes"], f"{volume} should be a named volume (it outlives the containers)"


def test_the_volume_starts_owned_by_the_image_user() -> None:
    """Docker gives a new named volume the owner of the image's folder at its mount point."""
    models_dir = registered_models_dir(image_env("DATA_DIR"))
    runtime = DOCKERFILE.split(" AS runtime", 1)[1].split("\nFROM ", 1)[0]
    assert re.search(rf"mkdir -p [^\n]*{re.escape(models_dir)}\b", runtime), f"create {models_dir} in the image"
    assert re.search(rf"chown -R reviewpulse:reviewpulse [^\n]*{re.escape(image_env('DATA_DIR'))}\b", runtime)


def test_the_shipped_model_is_the_same_everywhere(model_services: dict[str, dict[str, Any]]) -> None:
    """The shipped model's registry entry is MODEL_DIR as the first process to register it saw it."""
    for name, service in model_services.items():
        model_dir = service["environment"].get("MODEL_DIR", image_env("MODEL_DIR"))
        assert model_dir == image_env("MODEL_DIR"), f"{name}: MODEL_DIR {model_dir}"
        assert mounts(service).get(str(PurePosixPath(model_dir).parent)) == ("./models", True), \
            f"{name}: mount ./models read-only over the image's models, as the workers do"


def test_the_worker_writes_nothing_but_tmp(model_services: dict[str, dict[str, Any]]) -> None:
    worker = model_services["worker"]
    assert worker["read_only"] is True
    assert all(read_only for _, read_only in mounts(worker).values()), "every worker mount read-only"


def test_the_web_can_keep_the_automatic_retrainers_files(
        compose: dict[str, Any], model_services: dict[str, dict[str, Any]]) -> None:
    """stream/learning/automatic.py writes retrain.log and retrain-state.json into DATA_DIR; the root is read-only."""
    web = model_services["web"]
    settings = Settings(data_dir=Path(web["environment"]["DATA_DIR"]))
    state_dir = str(PurePosixPath(AutoRetrainer(settings, storage=None, spawn=None, every=1).state_path.parent))
    assert state_dir in mounts(web), f"web: {state_dir} is on the read-only root"
    source, read_only = mounts(web)[state_dir]
    assert source in compose["volumes"] and not read_only, f"web: {state_dir} on a writable named volume"


def test_retrain_is_a_one_shot_service_under_its_profile(model_services: dict[str, dict[str, Any]]) -> None:
    retrain = model_services["retrain"]
    assert retrain["profiles"] == ["retrain"]
    assert retrain["command"] == ["reviewpulse", "retrain"]
    assert retrain["restart"] == "no"
    for dependency in ("kafka", "clickhouse"):  # kafka: a promote publishes to models.control
        assert retrain["depends_on"][dependency]["condition"] == "service_healthy"
    assert retrain["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert retrain["environment"]["KAFKA_BOOTSTRAP"] == model_services["worker"]["environment"]["KAFKA_BOOTSTRAP"]


@pytest.mark.parametrize("service_name", ["retrain", "web"])
def test_the_base_corpus_is_mounted_read_only_where_retraining_runs(
        model_services: dict[str, dict[str, Any]], service_name: str) -> None:
    service = model_services[service_name]
    corpus = PurePosixPath(INTERPOLATION_DEFAULT.sub(r"\1", service["environment"]["RETRAIN_CORPUS"]))
    folder = str(corpus.parent)
    assert folder in mounts(service), f"{service_name}: RETRAIN_CORPUS {corpus} is on no mount"
    assert mounts(service)[folder][1], f"{service_name}: mount the corpus read-only"
    raw = [v for v in service["volumes"] if INTERPOLATION_DEFAULT.sub(r"\1", v).split(":")[1] == folder]
    assert raw[0].startswith("${RETRAIN_CORPUS_DIR:-"), "the corpus folder comes from RETRAIN_CORPUS_DIR in .env"
