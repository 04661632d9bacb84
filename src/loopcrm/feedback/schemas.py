"""API schemas of voice of the customer, one per direction; unknown fields are refused."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from ninja import Schema
from pydantic import AfterValidator, ConfigDict, Field, StrictBool, StrictInt

from loopcrm.core.api import BodyId, QueryId
from loopcrm.core.choices import Channel, Touchpoint
from loopcrm.feedback.models import SurveyKind, TextAnalysis, Trigger


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


def _text(max_length: int, *, min_length: int = 0):
    return Annotated[str, Field(min_length=min_length, max_length=max_length), AfterValidator(_no_nul)]


class Input(Schema):
    model_config = ConfigDict(extra="forbid")


class OptionIn(Input):
    value: _text(50, min_length=1)
    en: _text(200, min_length=1)
    zh: _text(200, min_length=1)


class QuestionIn(Input):
    kind: Literal["rating", "single", "multiple", "text"]
    text_en: _text(500, min_length=1)
    text_zh: _text(500, min_length=1)
    metric: Literal["", "csat", "nps", "ces"] = ""
    scale_min: Annotated[StrictInt, Field(ge=0, le=10)] | None = None
    scale_max: Annotated[StrictInt, Field(ge=0, le=10)] | None = None
    labels: Annotated[list[OptionIn], Field(max_length=11)] = Field(default_factory=list)
    choices: Annotated[list[OptionIn], Field(max_length=20)] = Field(default_factory=list)
    required: StrictBool = True


class TextsIn(Input):
    title_en: _text(200, min_length=1)
    title_zh: _text(200, min_length=1)
    intro_en: _text(2000) = ""
    intro_zh: _text(2000) = ""
    thanks_en: _text(300) = ""
    thanks_zh: _text(300) = ""


class SurveyIn(Input):
    name: _text(200, min_length=1)
    kind: SurveyKind
    trigger: Trigger = Trigger.MANUAL
    texts: TextsIn
    questions: Annotated[list[QuestionIn], Field(max_length=30)] | None = Field(
        None, description="Leave out for the standard questions of the survey type.")
    delay_hours: Annotated[StrictInt, Field(ge=0, le=1440)] = 24
    valid_days: Annotated[StrictInt, Field(ge=1, le=365)] = 14
    remind_after_days: Annotated[StrictInt, Field(ge=1, le=60)] = 3
    publish: StrictBool = False


class SurveyPatch(Input):
    name: _text(200, min_length=1) | None = None
    trigger: Trigger | None = None
    delay_hours: Annotated[StrictInt, Field(ge=0, le=1440)] | None = None
    valid_days: Annotated[StrictInt, Field(ge=1, le=365)] | None = None
    remind_after_days: Annotated[StrictInt, Field(ge=1, le=60)] | None = None
    is_active: StrictBool | None = None


class VersionIn(Input):
    texts: TextsIn | None = None
    questions: Annotated[list[QuestionIn], Field(max_length=30)] | None = None


class QuestionOut(Schema):
    id: int
    position: int
    kind: str
    metric: str
    text_en: str
    text_zh: str
    scale_min: int | None
    scale_max: int | None
    labels: list[dict[str, Any]]
    choices: list[dict[str, Any]]
    required: bool


class VersionOut(Schema):
    id: int
    number: int
    title_en: str
    title_zh: str
    intro_en: str
    intro_zh: str
    thanks_en: str
    thanks_zh: str
    published_at: dt.datetime | None
    questions: list[QuestionOut]

    @staticmethod
    def resolve_questions(obj) -> list:
        return list(obj.questions.all())


class SurveyOut(Schema):
    id: int
    name: str
    kind: str
    trigger: str
    delay_hours: int
    valid_days: int
    remind_after_days: int
    is_active: bool
    created_at: dt.datetime


class SendIn(Input):
    customer_ids: Annotated[list[BodyId], Field(max_length=1000)] = Field(default_factory=list)
    segment_id: BodyId | None = None


class InvitationOut(Schema):
    id: int
    survey_id: int
    version_id: int
    customer_id: int
    channel: str
    status: str
    suppressed_reason: str
    trigger: str
    ticket_id: int | None
    order_id: int | None
    send_after: dt.datetime
    sent_at: dt.datetime | None
    expires_at: dt.datetime | None
    reminded_at: dt.datetime | None
    opened_at: dt.datetime | None
    answered_at: dt.datetime | None


class PublicAnswerIn(Input):
    answers: Annotated[dict[Annotated[str, Field(max_length=24)], Any], Field(max_length=30)] = Field(
        description='Keyed "q<question id>": a number (rating), an option value or a list of them, or text.')
    submit: StrictBool = True
    language: Literal["", "en", "zh-hans"] = ""


class PublicQuestionOut(Schema):
    id: int
    kind: str
    text: str
    scale_min: int | None
    scale_max: int | None
    labels: list[dict[str, Any]]
    choices: list[dict[str, Any]]
    required: bool


class PublicSurveyOut(Schema):
    greeting: str
    title: str
    intro: str
    language: str
    questions: list[PublicQuestionOut]
    answers: dict[str, Any]


class PublicResultOut(Schema):
    complete: bool
    saved: int


class FeedbackIn(Input):
    text: _text(5000, min_length=1)
    channel: Channel
    customer_id: BodyId | None = None
    rating: Annotated[StrictInt, Field(ge=1, le=5)] | None = None
    touchpoint: Touchpoint | Literal[""] = ""
    received_at: dt.datetime | None = None


class AnalysisOut(Schema):
    id: int
    source: str
    at: dt.datetime
    text: str
    language: str
    keywords: list[str]
    topics: list[str]
    sentiment: str
    score: float
    category: str
    customer_id: int | None
    channel: str
    touchpoint: str


class FeedbackOut(Schema):
    id: int
    customer_id: int | None
    text: str
    rating: int | None
    channel: str
    touchpoint: str
    received_at: dt.datetime
    analysis: AnalysisOut | None = None

    @staticmethod
    def resolve_analysis(obj):
        return getattr(obj, "analysis", None)


class MetricParams(Schema):
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    survey_id: QueryId | None = None
    department_id: QueryId | None = None
    agent_id: QueryId | None = None
    channel: Channel | None = None
    touchpoint: Touchpoint | None = None
    tier: str | None = Field(None, max_length=20)
    category: str | None = Field(None, max_length=50)
    minimum: int = Field(30, ge=1, le=10_000, description="Groups with fewer answers show a warning, not a value.")


class BreakdownParams(MetricParams):
    by: Literal["agent", "team", "department", "category", "channel", "touchpoint", "tier", "organisation", "survey"]


class TrendParams(MetricParams):
    period: Literal["day", "week", "month"] = "month"


class VerbatimParams(MetricParams):
    sentiment: TextAnalysis.Sentiment | None = None
    topic: str | None = Field(None, max_length=30)
    source: TextAnalysis.Source | None = None
    language: Literal["zh", "en"] | None = None
    q: str | None = Field(None, max_length=100)
    cursor: str | None = Field(None, max_length=500, pattern=r"^[A-Za-z0-9_=-]*$")
    limit: int | None = Field(None, ge=1)


class EstimateOut(Schema):
    n: int
    value: float | None
    low: float | None
    high: float | None
    warning: str


class ScoresOut(Schema):
    label: str
    key: Any = None
    csat: EstimateOut
    nps: EstimateOut
    ces: EstimateOut
    low_effort: EstimateOut


class SummaryOut(Schema):
    scores: ScoresOut
    response_rate: dict[str, Any]
    loop: dict[str, Any]
    distribution: dict[str, dict[int, int]]


class NeedOut(Schema):
    topic: str
    label: str
    customers: int
    mentions: int
    negative_share: float
    recent: int
    previous: int
    trend: float | None
    value_weight: float
    priority: float
    by_source: dict[str, int]
    verbatims_url: str


class WordOut(Schema):
    word: str
    count: int
