"""The shapes clients send and get: websocket frames and REST bodies, validated with pydantic.

Validation errors name the field, so both the websocket error frame and the REST 422
answer can say exactly what to fix. ``/openapi.json`` is generated from these models
(``web.openapi``), so the spec says what the handlers accept.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, TypeAdapter, ValidationError, field_validator
from pydantic.json_schema import JsonDict

from kernel.events import MAX_TEXT_CHARS
from kernel.fields import not_bool
from web import json_body

Rating = Annotated[int, Field(ge=1, le=5), BeforeValidator(not_bool)]
#: The score the page showed (0..1); ``true`` is not one (pydantic would read it as 1.0).
ClientScore = Annotated[float, Field(ge=0.0, le=1.0), BeforeValidator(not_bool)]


class MessageError(ValueError):
    """A websocket frame that cannot be used; ``reason`` labels the metric, ``detail`` the fields."""

    def __init__(self, reason: str, message: str, detail: Any = None) -> None:
        super().__init__(message)
        self.reason = reason
        self.detail = detail


class _Strict(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=False)


class PingMessage(_Strict):
    type: Literal["ping"]


class DraftMessage(_Strict):
    type: Literal["draft"]
    text: str = Field(max_length=MAX_TEXT_CHARS)
    seq: int = Field(ge=0)
    brand: str = Field("", max_length=500)


class SubmitFields(_Strict):
    """The original app's review fields (shared by the websocket ``submit`` and ``POST /api/review``)."""

    rating: Rating | None = None
    suggested_rating: Rating | None = None
    sentiment_score: ClientScore | None = None
    brand: str = Field("", max_length=500)

    def extra_meta(self) -> dict[str, str]:
        """What the page showed when the person submitted, kept as event ``meta``."""
        meta = {}
        if self.suggested_rating is not None:
            meta["suggested_rating"] = str(self.suggested_rating)
        if self.sentiment_score is not None:
            meta["client_score"] = f"{self.sentiment_score:.4f}"
        return meta


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty")
    return value


class SubmitMessage(SubmitFields):
    type: Literal["submit"]
    text: str = Field(max_length=MAX_TEXT_CHARS)

    _text_not_blank = field_validator("text")(_not_blank)


#: What the schema says of a text the validators refuse when blank (pydantic's min_length would reword the error).
NOT_BLANK: JsonDict = {"minLength": 1, "pattern": r"[^\s\x00-\x1f\x7f-\x9f]"}


class ReviewBody(SubmitFields):
    """``POST /api/review``."""

    review: str = Field(max_length=MAX_TEXT_CHARS, json_schema_extra=NOT_BLANK)

    _review_not_blank = field_validator("review")(_not_blank)


class PredictBody(_Strict):
    """``POST /api/predict``."""

    review: str = Field(max_length=MAX_TEXT_CHARS)


class PromoteBody(_Strict):
    """``POST /api/models/promote``."""

    version: str = Field(description="a registered version (`reviewpulse models list`)")
    by: str = Field("api", max_length=200)
    note: str = Field("", max_length=2000)


class RollbackBody(_Strict):
    """``POST /api/models/rollback``."""

    by: str = Field("api", max_length=200)
    note: str = Field("", max_length=2000)


class SentenceView(BaseModel):
    """A sentence of the text (``start``/``end`` in Unicode code points) and its own score."""

    start: int = Field(ge=0)
    end: int = Field(ge=0)
    text: str
    score: float = Field(ge=0.0, le=1.0)
    label: str


class ScoreDetail(BaseModel):
    """``/api/predict?detail=1``: what the model said of a text, and why.

    A text in a language the model does not read has ``label`` and ``suggested_rating``
    null and ``reason`` saying so (``score`` and ``probs`` are the model's, meaningless there).
    """

    score: float = Field(ge=0.0, le=1.0)
    probs: list[float]
    label: str | None
    suggested_rating: Rating | None
    model_version: str
    language: str = Field(description="ISO 639-1 code; 'und': not recognised; '': not detected")
    reason: str | None = Field(None, description="why there is no label (a language the model does not read)")
    pulls_down: SentenceView | None = Field(None, description="the sentence that pulls the score down most")
    pulls_up: SentenceView | None = Field(None, description="the sentence that pulls the score up most")
    sentences_left_out: int = Field(0, ge=0, description="sentences past EXPLAIN_MAX_SENTENCES, not scored")


class ErrorBody(BaseModel):
    """Every error answer: what is wrong and, for bad input, which field."""

    error: str
    field: str | None = None


ClientMessage = Annotated[PingMessage | DraftMessage | SubmitMessage, Field(discriminator="type")]
_client_message = TypeAdapter(ClientMessage)
MESSAGE_TYPES = ("draft", "submit", "ping")


def field_errors(error: ValidationError) -> list[dict[str, str]]:
    """``[{"field": "rating", "error": "..."}]`` from a pydantic error."""
    return [
        {"field": ".".join(str(part) for part in item["loc"]) or "body", "error": item["msg"]}
        for item in error.errors()
    ]


def parse_client_message(raw: str) -> PingMessage | DraftMessage | SubmitMessage:
    """One websocket frame as a message, or :class:`MessageError`."""
    try:
        data = json_body.loads(raw)
    except json_body.JsonError as error:
        raise MessageError("not_json", f"message is not JSON ({error})") from error
    if not isinstance(data, dict):
        raise MessageError("not_json", "message must be a JSON object")
    if data.get("type") not in MESSAGE_TYPES:
        raise MessageError(
            "unknown_type", f"unknown message type {data.get('type')!r}", {"allowed": list(MESSAGE_TYPES)}
        )
    try:
        return _client_message.validate_python(data)
    except ValidationError as error:
        errors = [
            {**item, "field": item["field"].removeprefix(f"{data['type']}.")} for item in field_errors(error)
        ]
        summary = "; ".join(f"{e['field']}: {e['error']}" for e in errors)
        raise MessageError("invalid", summary, errors) from error
