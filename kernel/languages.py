"""Which languages ReviewPulse scores, and how a review in another one is described.

The worker detects each review's language (``inference.language``) and stores its
ISO 639-1 code; the web tier turns the code into the sentence a person reads. Both need
the same names and the same rule, so they live here, in the kernel every room may import.
"""

from __future__ import annotations

#: The model was trained on English reviews: only these get a sentiment label.
SCORED_LANGUAGES = frozenset({"en"})
#: A text long enough to judge whose language the detector could not recognise (e.g. Hindi in Latin script).
UNRECOGNISED = "und"
#: Stored rows from before detection (migration 8) carry this: they were scored as English.
NOT_DETECTED = ""

LANGUAGE_NAMES = {
    "ar": "Arabic", "bg": "Bulgarian", "bn": "Bengali", "ca": "Catalan", "cs": "Czech", "cy": "Welsh",
    "da": "Danish", "de": "German", "el": "Greek", "es": "Spanish", "et": "Estonian", "fa": "Persian",
    "fi": "Finnish", "fr": "French", "ga": "Irish", "gu": "Gujarati", "he": "Hebrew", "hi": "Hindi",
    "hr": "Croatian", "hu": "Hungarian", "id": "Indonesian", "is": "Icelandic", "it": "Italian",
    "ja": "Japanese", "ko": "Korean", "lt": "Lithuanian", "lv": "Latvian", "ml": "Malayalam", "mr": "Marathi",
    "ms": "Malay", "nl": "Dutch", "no": "Norwegian", "pa": "Punjabi", "pl": "Polish", "pt": "Portuguese",
    "ro": "Romanian", "ru": "Russian", "sk": "Slovak", "sl": "Slovenian", "sr": "Serbian", "sv": "Swedish",
    "sw": "Swahili", "ta": "Tamil", "te": "Telugu", "th": "Thai", "tl": "Tagalog", "tr": "Turkish",
    "uk": "Ukrainian", "ur": "Urdu", "vi": "Vietnamese", "zh": "Chinese", "zh-Hant": "Chinese",
}


def is_scored(language: str) -> bool:
    """True when a review in ``language`` gets a sentiment label (rows stored before detection do)."""
    return language == NOT_DETECTED or language in SCORED_LANGUAGES


def language_name(code: str) -> str:
    """``de`` -> ``German``; an unknown code is shown as it is."""
    return LANGUAGE_NAMES.get(code, code)


def unscored_reason(language: str) -> str | None:
    """What the page and the API say instead of a score; None when the language is scored."""
    if is_scored(language):
        return None
    if language == UNRECOGNISED:
        return "ReviewPulse scores English reviews, and this one does not look like English"
    return f"ReviewPulse scores English reviews, and this one looks like {language_name(language)}"
