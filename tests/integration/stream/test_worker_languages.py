"""The real worker (broker, chDB, ``reviewpulse worker``) gives every review its language and explanation.

The tiny model's scores mean nothing; what is checked is what the worker adds to them:
the language of real reviews in several languages, no label for those it does not read,
sentences whose offsets slice the text, and the stored row keeping both.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from kafka import KafkaProducer

from kernel.settings import Settings
from tests.conftest import REPO, system_env
from tests.workers import read_until, start_worker, stop

pytestmark = pytest.mark.slow
SETTINGS = Settings()
REVIEWS = {
    "de": ("Das Essen war kalt und der Kellner unfreundlich. Wir kommen nie wieder!", "de", False),
    "es": ("La comida estaba deliciosa y el servicio fue excelente. Volveremos pronto.", "es", False),
    "fr": ("Livraison en retard et colis abîmé, très déçu. Je ne commanderai plus jamais ici.", "fr", False),
    "hinglish": ("Delivery bahut late aayi aur khana thanda tha, bilkul bekaar. Kabhi nahi mangwaunga.", "und", False),
    "emoji": ("😍😍😍 👍", "en", True),
    "foreign-word": ("The croissants were magnifique. Best bakery in town!", "en", True),
    "english": ("Lovely room 😀.\r\nThe breakfast was awful!!! great staff though", "en", True),
}
READ_ROWS = """
import json, sys
from kernel.settings import get_settings
from stream.storage.clickhouse import open_storage
storage = open_storage(get_settings())
rows = storage.query("SELECT id, language, label, explanation FROM reviews FINAL WHERE source = 'lang-test'")
print(json.dumps(rows))
"""


def stored_rows(data_dir: Path, model_dir: Path) -> dict[str, dict]:
    out = subprocess.run([sys.executable, "-c", READ_ROWS], env=system_env(data_dir, model_dir), cwd=REPO,
                         capture_output=True, check=True, timeout=120)
    return {row["id"]: row for row in json.loads(out.stdout)}


def test_languages_and_explanations_through_the_worker(tmp_path: Path, tiny_model_dir: Path, own_broker: str) -> None:
    data_dir = tmp_path / "var"
    worker = start_worker(data_dir, tiny_model_dir, own_broker)
    producer = KafkaProducer(bootstrap_servers=own_broker, acks="all")
    for review_id, (text, _, _) in REVIEWS.items():  # events as every producer has always sent them
        event = {"id": review_id, "kind": "review", "text": text, "source": "lang-test", "brand": "b"}
        producer.send(SETTINGS.topic_raw, key=b"b", value=json.dumps(event).encode())
    producer.flush()
    producer.close()
    try:
        messages = read_until(own_broker, [SETTINGS.topic_scored],
                              lambda got: {body["id"] for _, body in got} >= set(REVIEWS), 180)
    finally:
        assert stop(worker) == 0
    scored = {body["id"]: body for _, body in messages}
    assert set(scored) == set(REVIEWS)
    for review_id, (_, language, labelled) in REVIEWS.items():
        event = scored[review_id]
        assert event["language"] == language, review_id
        assert bool(event["label"]) is labelled, review_id
        assert (event["explanation"] is not None) is labelled, review_id
    explanation = scored["english"]["explanation"]
    text = REVIEWS["english"][0]
    assert [text[s["start"]:s["end"]] for s in explanation["sentences"]] == [
        "Lovely room 😀.", "The breakfast was awful!!!", "great staff though"]
    rows = stored_rows(data_dir, tiny_model_dir)
    assert {review_id: row["language"] for review_id, row in rows.items()} == {
        review_id: language for review_id, (_, language, _) in REVIEWS.items()}
    assert json.loads(rows["english"]["explanation"]) == explanation
    assert rows["de"]["label"] == "" and rows["de"]["explanation"] == ""
