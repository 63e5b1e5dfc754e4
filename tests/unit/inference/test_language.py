"""``inference.language``: real reviews in other languages are told apart; short and mixed ones are English.

The non-English reviews here were written for these tests (docs/explanations-and-languages.md).
"""

from __future__ import annotations

import pytest

from inference.language import detect_language
from kernel.languages import UNRECOGNISED, is_scored, unscored_reason


@pytest.mark.parametrize(("text", "language"), [
    ("Das Essen war kalt und der Kellner unfreundlich. Nie wieder!", "de"),
    ("Die Lieferung kam drei Tage zu spät und die Verpackung war beschädigt.", "de"),
    ("La comida estaba deliciosa y el servicio fue excelente.", "es"),
    ("El pedido llegó tarde y frío. No lo recomiendo.", "es"),
    ("Le repas était délicieux et le personnel très accueillant.", "fr"),
    ("Livraison en retard et colis abîmé, très déçu.", "fr"),
])
def test_german_spanish_and_french_reviews_are_recognised_and_not_scored(text: str, language: str) -> None:
    assert detect_language(text) == language
    assert not is_scored(language)


@pytest.mark.parametrize("text", [
    "Khana bahut accha tha, service bhi badhiya thi.",
    "Delivery bahut late aayi aur khana thanda tha, bilkul bekaar.",
    "Yeh product ekdum bakwaas hai, ek hafte mein toot gaya.",
])
def test_hindi_in_latin_script_is_unrecognised_and_not_scored(text: str) -> None:
    assert detect_language(text) == UNRECOGNISED
    assert unscored_reason(UNRECOGNISED) == "ReviewPulse scores English reviews, and this one does not look like English"


@pytest.mark.parametrize("text", ["😍😍😍", "👍👍 🔥🔥🔥 💯", "Love it", "Great service!!"])
def test_emoji_only_and_very_short_reviews_are_scored_as_english(text: str) -> None:
    assert detect_language(text) == "en"


@pytest.mark.parametrize("text", [
    "The croissants were magnifique, best bakery in town.",
    "Great schnitzel and friendly staff, we will be back.",
    "Service was muy rapido and the tacos were delicious.",
])
def test_an_english_review_with_one_foreign_word_stays_english(text: str) -> None:
    assert detect_language(text) == "en"


def test_a_mixed_review_is_scored_as_english() -> None:
    assert detect_language("Great food and a lovely terrace, the Schnitzel war sehr lecker, will come back") == "en"


def test_the_threshold_is_a_number_of_letters() -> None:
    german = "Sehr gut, danke schön"
    assert detect_language(german, min_letters=100) == "en"
    assert detect_language("Das Essen war kalt und der Kellner unfreundlich.", min_letters=10) == "de"


def test_the_reason_names_the_language() -> None:
    assert unscored_reason("de") == "ReviewPulse scores English reviews, and this one looks like German"
    assert unscored_reason("en") is None and unscored_reason("") is None
