"""The event schema: the one definition every producer, the worker and the web tier share.

Events travel as JSON. ``ReviewEvent`` goes to ``reviews.raw`` (reviews) and
``reviews.drafts`` (typing); the worker answers each with a ``ScoredReview`` on
``reviews.scored``; anything it cannot parse or validate becomes a ``DeadLetter``
on ``reviews.dead``.

A message holds one event (a JSON object) or several (a JSON array of them: bulk
imports); how they are framed is ``kernel.framing``'s.
"""

from __future__ import annotations

import base64
import hashlib
import math
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

from kernel.fields import HttpUrl, Identifier, Line, Stars, Text, UtcTimestamp

#: Review texts longer than this many characters are rejected at the edge.
MAX_TEXT_CHARS = 100_000
#: ``meta`` holds at most this many entries (user agent, reviewer, ...), each value this long.
MAX_META_ENTRIES = 32
MAX_META_VALUE_CHARS = 2000

MetaKey = Annotated[Identifier, Field(min_length=1, max_length=100)]
MetaValue = Annotated[Line, Field(max_length=MAX_META_VALUE_CHARS)]


def utc_now() -> datetime:
    return datetime.now(UTC)


class Kind(StrEnum):
    draft = "draft"
    review = "review"
    scraped = "scraped"
    imported = "imported"


def stable_id(source: str, *natural_key: str) -> str:
    """Deterministic id (sha1 of source + natural key): re-sending never duplicates."""
    digest = hashlib.sha1("\x1f".join((source, *natural_key)).encode("utf-8"))
    return digest.hexdigest()


def new_id() -> str:
    """Random id for input that has no natural key (UI reviews, drafts)."""
    return uuid.uuid4().hex


class ReviewEvent(BaseModel):
    """A review or a draft on its way to be scored.

    Every field is checked against what storage can hold (see ``kernel.fields``): a value
    outside it fails validation, so the worker dead-letters the event with the reason.
    """

    model_config = ConfigDict(extra="ignore")

    id: Identifier = Field(default_factory=new_id, min_length=1, max_length=128)
    kind: Kind
    text: Text = Field(max_length=MAX_TEXT_CHARS)
    brand: Line = Field("", max_length=500)
    rating: Stars | None = Field(None, ge=1, le=5)
    source: Identifier = Field("web", max_length=200)
    session_id: Identifier | None = Field(None, max_length=128)
    url: HttpUrl = Field("", max_length=2000)
    ts: UtcTimestamp = Field(default_factory=utc_now)
    meta: dict[MetaKey, MetaValue] = Field(default_factory=dict, max_length=MAX_META_ENTRIES)
    #: Only for request-reply (``/api/predict``): the web process that waits for the answer.
    reply_to: Identifier | None = Field(None, max_length=128)

    @model_validator(mode="after")
    def _reviews_have_words(self) -> ReviewEvent:
        """A review, scraped or imported, needs text (control characters removed); a draft may be empty."""
        if self.kind is not Kind.draft and not self.text.strip():
            raise ValueError(f"text is empty: a {self.kind} needs words (NUL and control characters do not count)")
        return self

    @property
    def key(self) -> bytes:
        """Kafka key: session for drafts (latest-wins per session), brand for reviews."""
        if self.kind is Kind.draft:
            return (self.session_id or self.id).encode("utf-8")
        return (self.brand or self.id).encode("utf-8")

    def to_bytes(self) -> bytes:
        return self.model_dump_json().encode("utf-8")


class SentenceScore(BaseModel):
    """One sentence of a review and what the model said of it.

    ``start``/``end`` index the review's text in Unicode code points (Python's ``str``
    indices): ``text[start:end]`` is the sentence, exactly. ``effect`` is how much the
    sentence moves the review's score (negative: it pulls it down); how it is measured
    is ``inference.explain``'s.
    """

    model_config = ConfigDict(extra="ignore")

    start: int = Field(ge=0)
    end: int = Field(ge=0)
    score: float = Field(ge=0.0, le=1.0, allow_inf_nan=False)
    label: Identifier = Field(max_length=100)
    effect: float = Field(0.0, ge=-1.0, le=1.0, allow_inf_nan=False)


class Explanation(BaseModel):
    """Why a review scored as it did: its first sentences, and which of them move the score most."""

    model_config = ConfigDict(extra="ignore")

    sentences: list[SentenceScore] = Field(default_factory=list, max_length=1000)
    #: Sentences after the last scored one (reviews longer than EXPLAIN_MAX_SENTENCES).
    left_out: int = Field(0, ge=0)
    #: Index in ``sentences`` of the one that pulls the score down most / up most; None: none does.
    down: int | None = Field(None, ge=0)
    up: int | None = Field(None, ge=0)

    def sentence_text(self, text: str, index: int | None) -> str:
        """The text of sentence ``index`` of ``text`` ("" for None)."""
        if index is None or index >= len(self.sentences):
            return ""
        sentence = self.sentences[index]
        return text[sentence.start:sentence.end]


class ScoredReview(ReviewEvent):
    """A review event plus the model's verdict.

    ``language`` and ``explanation`` came later (issue 32): an event without them (from a
    worker not yet upgraded) parses with ``language=""`` (not detected: scored as English)
    and no explanation. A review in a language the model does not read has ``label=""``
    (``kernel.languages.unscored_reason`` says why); its probabilities are kept as the
    model gave them.
    """

    probs: list[Annotated[float, Field(allow_inf_nan=False)]] = Field(min_length=2, max_length=16)
    score: float = Field(ge=0.0, le=1.0, allow_inf_nan=False)
    label: Identifier = Field(max_length=100)
    suggested_rating: int = Field(ge=1, le=5)
    model_version: Identifier = Field(max_length=200)
    scored_at: UtcTimestamp = Field(default_factory=utc_now)
    language: Identifier = Field("", max_length=20)
    explanation: Explanation | None = None

    @classmethod
    def of(cls, event: ReviewEvent, probs: Sequence[float], score: float, label: str, suggested_rating: int,
           model_version: str, scored_at: datetime, language: str = "",
           explanation: Explanation | None = None) -> ScoredReview:
        """``event`` with a model's verdict; the event is not validated again (it was when parsed).

        Why: validating every field of a parsed event a second time cost ~7 µs per review,
        a tenth of the worker's own CPU per review. The instance is set up as
        ``model_construct`` sets one up, without its walk over every field for aliases and
        defaults (5 µs). The verdict is checked here as the schema checks it: ValueError
        for what ``ScoredReview(...)`` would refuse.
        """
        floats = [float(p) for p in probs]
        if not 2 <= len(floats) <= 16 or not all(map(math.isfinite, floats)):
            raise ValueError(f"a verdict needs 2 to 16 finite probabilities, got {floats}")
        if not (math.isfinite(score) and 0.0 <= score <= 1.0) or suggested_rating not in range(1, 6):
            raise ValueError(f"a verdict needs a score in [0, 1] and a rating 1-5, got {score} and {suggested_rating}")
        values = {**event.__dict__, "probs": floats, "score": float(score), "label": label,
                  "suggested_rating": int(suggested_rating), "model_version": model_version, "scored_at": scored_at,
                  "language": language, "explanation": explanation}
        review = cls.__new__(cls)
        object.__setattr__(review, "__dict__", values)
        unset = {"language"} if not language else set()
        unset |= {"explanation"} if explanation is None else set()
        object.__setattr__(review, "__pydantic_fields_set__", set(values) - unset)
        object.__setattr__(review, "__pydantic_extra__", None)
        object.__setattr__(review, "__pydantic_private__", None)
        return review

    @property
    def latency_ms(self) -> float:
        return max((self.scored_at - self.ts).total_seconds() * 1000.0, 0.0)


class Brand(BaseModel):
    """A company whose reviews can be crawled; fills the ClickHouse ``brands`` table."""

    model_config = ConfigDict(extra="ignore")

    name: Line = Field(min_length=1, max_length=500)
    website: HttpUrl = Field("", max_length=2000)
    logo: HttpUrl = Field("", max_length=2000)
    category: Line = Field("", max_length=500)
    sub_category: Line = Field("", max_length=500)
    url: HttpUrl = Field("", max_length=2000, description="the brand's review page")
    source: Identifier = Field("catalogue", max_length=200)
    ts: UtcTimestamp = Field(default_factory=utc_now)

    def to_bytes(self) -> bytes:
        return self.model_dump_json().encode("utf-8")


class DeadLetter(BaseModel):
    """Input the worker could not use, with the reason; the raw bytes are kept."""

    raw: str
    raw_base64: bool = False
    error: Text = Field(max_length=4000)
    topic: Line = Field(max_length=300)
    partition: int = Field(0, ge=-(2**31), lt=2**31)
    offset: int = Field(-1, ge=-(2**63), lt=2**63)
    ts: UtcTimestamp = Field(default_factory=utc_now)

    @classmethod
    def from_bytes(cls, raw: bytes, error: str, topic: str, partition: int = 0, offset: int = -1) -> DeadLetter:
        try:
            return cls(raw=raw.decode("utf-8"), error=error, topic=topic, partition=partition, offset=offset)
        except UnicodeDecodeError:
            encoded = base64.b64encode(raw).decode("ascii")
            return cls(raw=encoded, raw_base64=True, error=error, topic=topic, partition=partition, offset=offset)

    def to_bytes(self) -> bytes:
        return self.model_dump_json().encode("utf-8")
