"""Surveys and their versions: a draft can change, a published version is frozen forever."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from loopcrm.accounts.models import User
from loopcrm.core import audit
from loopcrm.core.errors import Conflict, RuleViolation
from loopcrm.core.text import clean_line, clean_text
from loopcrm.feedback.models import Question, Survey, SurveyKind, SurveyVersion, Trigger

METRIC_SCALES = {"csat": (1, 5), "nps": (0, 10), "ces": (1, 7)}
MAX_QUESTIONS = 30
MAX_CHOICES = 20

CSAT_LABELS = [
    {"value": "1", "en": "Very dissatisfied", "zh": "非常不满意"},
    {"value": "2", "en": "Dissatisfied", "zh": "不满意"},
    {"value": "3", "en": "Neutral", "zh": "一般"},
    {"value": "4", "en": "Satisfied", "zh": "满意"},
    {"value": "5", "en": "Very satisfied", "zh": "非常满意"},
]
CES_LABELS = [
    {"value": "1", "en": "Very easy", "zh": "非常容易"},
    {"value": "4", "en": "Neither", "zh": "一般"},
    {"value": "7", "en": "Very difficult", "zh": "非常困难"},
]
NPS_LABELS = [
    {"value": "0", "en": "Not at all likely", "zh": "完全不可能"},
    {"value": "10", "en": "Extremely likely", "zh": "非常可能"},
]


@dataclass
class QuestionSpec:
    """A question as the builder sends it (validated by `_clean_questions`)."""

    kind: str
    text_en: str
    text_zh: str
    metric: str = ""
    scale_min: int | None = None
    scale_max: int | None = None
    labels: list[dict[str, str]] = field(default_factory=list)
    choices: list[dict[str, str]] = field(default_factory=list)
    required: bool = True


def default_questions(kind: str) -> list[QuestionSpec]:
    """The standard wording of each survey type (custom surveys start empty)."""
    comment = QuestionSpec(kind="text", text_en="What is the main reason for your score?",
                           text_zh="您给出这个评分的主要原因是什么？", required=False)
    if kind == SurveyKind.CSAT:
        return [QuestionSpec(kind="rating", metric="csat", text_en="How satisfied are you with our service?",
                             text_zh="您对我们的服务满意吗？", labels=list(CSAT_LABELS)), comment]
    if kind == SurveyKind.NPS:
        return [QuestionSpec(kind="rating", metric="nps",
                             text_en="How likely are you to recommend us to a friend or colleague?",
                             text_zh="您有多大可能把我们推荐给朋友或同事？", labels=list(NPS_LABELS)), comment]
    if kind == SurveyKind.CES:
        return [QuestionSpec(kind="rating", metric="ces",
                             text_en="How much effort did you personally have to put in to get your request handled?",
                             text_zh="为了解决您的问题，您个人花了多少力气？", labels=list(CES_LABELS)), comment]
    return []


def _clean_options(items: list[Any], *, field: str, allowed_values: set[str] | None = None) -> list[dict[str, str]]:
    if not isinstance(items, list) or len(items) > MAX_CHOICES:
        raise RuleViolation(_("At most %(n)d options.") % {"n": MAX_CHOICES}, field=field)
    cleaned, seen = [], set()
    for item in items:
        if not isinstance(item, dict):
            raise RuleViolation(_("Each option needs a value and English and Chinese text."), field=field)
        value = clean_line(str(item.get("value", "")), field=field, max_length=50, required=True)
        if value in seen:
            raise RuleViolation(_("Option %(value)s appears twice.") % {"value": value}, field=field)
        if allowed_values is not None and value not in allowed_values:
            raise RuleViolation(_("Label %(value)s is outside the scale.") % {"value": value}, field=field)
        seen.add(value)
        cleaned.append({"value": value,
                        "en": clean_line(str(item.get("en", "")), field=field, max_length=200, required=True),
                        "zh": clean_line(str(item.get("zh", "")), field=field, max_length=200, required=True)})
    return cleaned


def _clean_questions(specs: list[QuestionSpec]) -> list[QuestionSpec]:
    if len(specs) > MAX_QUESTIONS:
        raise RuleViolation(_("A survey has at most %(n)d questions.") % {"n": MAX_QUESTIONS}, field="questions")
    cleaned = []
    for index, spec in enumerate(specs):
        where = f"questions.{index}"
        if spec.kind not in Question.Kind.values:
            raise RuleViolation(_("Unknown question kind %(kind)s.") % {"kind": spec.kind}, field=f"{where}.kind")
        spec.text_en = clean_line(spec.text_en, field=f"{where}.text_en", max_length=500, required=True)
        spec.text_zh = clean_line(spec.text_zh, field=f"{where}.text_zh", max_length=500, required=True)
        if spec.kind == Question.Kind.RATING:
            if spec.metric:
                if spec.metric not in METRIC_SCALES:
                    raise RuleViolation(_("Unknown metric."), field=f"{where}.metric")
                spec.scale_min, spec.scale_max = METRIC_SCALES[spec.metric]
            if spec.scale_min is None or spec.scale_max is None or not 0 <= spec.scale_min < spec.scale_max <= 10:
                raise RuleViolation(_("A rating needs a scale between 0 and 10."), field=f"{where}.scale_max")
            values = {str(v) for v in range(spec.scale_min, spec.scale_max + 1)}
            spec.labels = _clean_options(spec.labels, field=f"{where}.labels", allowed_values=values)
            spec.choices = []
        elif spec.kind in (Question.Kind.SINGLE, Question.Kind.MULTIPLE):
            spec.metric, spec.scale_min, spec.scale_max, spec.labels = "", None, None, []
            spec.choices = _clean_options(spec.choices, field=f"{where}.choices")
            if len(spec.choices) < 2:
                raise RuleViolation(_("A choice question needs at least two options."), field=f"{where}.choices")
        else:
            spec.metric, spec.scale_min, spec.scale_max, spec.labels, spec.choices = "", None, None, [], []
        cleaned.append(spec)
    return cleaned


@dataclass
class VersionTexts:
    title_en: str
    title_zh: str
    intro_en: str = ""
    intro_zh: str = ""
    thanks_en: str = ""
    thanks_zh: str = ""

    def cleaned(self) -> dict[str, str]:
        return {
            "title_en": clean_line(self.title_en, field="title_en", max_length=200, required=True),
            "title_zh": clean_line(self.title_zh, field="title_zh", max_length=200, required=True),
            "intro_en": clean_text(self.intro_en, field="intro_en", max_length=2000),
            "intro_zh": clean_text(self.intro_zh, field="intro_zh", max_length=2000),
            "thanks_en": clean_line(self.thanks_en, field="thanks_en", max_length=300),
            "thanks_zh": clean_line(self.thanks_zh, field="thanks_zh", max_length=300),
        }


def _write_questions(version: SurveyVersion, specs: list[QuestionSpec]) -> None:
    version.questions.all().delete()
    Question.objects.bulk_create([
        Question(version=version, position=index + 1, kind=s.kind, metric=s.metric, text_en=s.text_en,
                 text_zh=s.text_zh, scale_min=s.scale_min, scale_max=s.scale_max, labels=s.labels,
                 choices=s.choices, required=s.required)
        for index, s in enumerate(specs)
    ])


@transaction.atomic
def create_survey(*, name: str, kind: str, texts: VersionTexts, by: User, trigger: str = Trigger.MANUAL,
                  questions: list[QuestionSpec] | None = None, delay_hours: int = 24, valid_days: int = 14,
                  remind_after_days: int = 3, publish: bool = False, at: dt.datetime | None = None) -> Survey:
    """A survey with its first version (the type's standard questions unless `questions` is given)."""
    at = at or timezone.now()
    if kind not in SurveyKind.values:
        raise RuleViolation(_("Unknown survey type."), field="kind")
    if trigger not in Trigger.values:
        raise RuleViolation(_("Unknown trigger."), field="trigger")
    if not 0 <= delay_hours <= 24 * 60 or not 1 <= valid_days <= 365 or not 1 <= remind_after_days <= 60:
        raise RuleViolation(_("Delay, validity or reminder out of range."), field="delay_hours")
    specs = _clean_questions(questions if questions is not None else default_questions(kind))
    values = texts.cleaned()
    survey = Survey.objects.create(
        name=clean_line(name, field="name", max_length=200, required=True), kind=kind, trigger=trigger,
        delay_hours=delay_hours, valid_days=valid_days, remind_after_days=remind_after_days, created_by=by,
    )
    version = SurveyVersion.objects.create(survey=survey, number=1, **values)
    _write_questions(version, specs)
    audit.record(action="create", obj=survey, by=by, at=at, changes={"kind": kind, "trigger": trigger})
    if publish:
        publish_version(version, by=by, at=at)
    return survey


@transaction.atomic
def update_survey(survey: Survey, *, by: User, at: dt.datetime | None = None, **fields: Any) -> Survey:
    """Settings of a survey (name, trigger, delays, active); questions change through versions."""
    allowed = {"name", "trigger", "delay_hours", "valid_days", "remind_after_days", "is_active"}
    unknown = set(fields) - allowed
    if unknown:
        raise RuleViolation(_("These fields cannot be changed here."), field=sorted(unknown)[0])
    survey = Survey.objects.select_for_update().get(pk=survey.pk)
    before = audit.snapshot(survey, fields)
    if "name" in fields:
        fields["name"] = clean_line(fields["name"], field="name", max_length=200, required=True)
    if "trigger" in fields and fields["trigger"] not in Trigger.values:
        raise RuleViolation(_("Unknown trigger."), field="trigger")
    for key, value in fields.items():
        setattr(survey, key, value)
    survey.save()
    audit.record(action="update", obj=survey, by=by, at=at, changes=audit.diff(before, audit.snapshot(survey, fields)))
    return survey


@transaction.atomic
def new_version(survey: Survey, *, texts: VersionTexts | None = None, questions: list[QuestionSpec] | None = None,
                by: User, at: dt.datetime | None = None) -> SurveyVersion:
    """A new draft version, copied from the latest and changed by what is given."""
    survey = Survey.objects.select_for_update().get(pk=survey.pk)
    latest = survey.versions.order_by("-number").first()
    if latest is not None and latest.published_at is None:
        raise Conflict(_("Version %(n)d is still a draft: change or publish it first.") % {"n": latest.number},
                       field="version")
    values = texts.cleaned() if texts else {
        key: getattr(latest, key) for key in ("title_en", "title_zh", "intro_en", "intro_zh", "thanks_en", "thanks_zh")
    }
    if questions is None:
        questions = [QuestionSpec(kind=q.kind, metric=q.metric, text_en=q.text_en, text_zh=q.text_zh,
                                  scale_min=q.scale_min, scale_max=q.scale_max, labels=q.labels, choices=q.choices,
                                  required=q.required) for q in latest.questions.all()]
    specs = _clean_questions(questions)
    version = SurveyVersion.objects.create(survey=survey, number=(latest.number if latest else 0) + 1, **values)
    _write_questions(version, specs)
    audit.record(action="create", obj=version, by=by, at=at)
    return version


@transaction.atomic
def change_draft(version: SurveyVersion, *, texts: VersionTexts | None = None,
                 questions: list[QuestionSpec] | None = None, by: User, at: dt.datetime | None = None) -> SurveyVersion:
    """Edit a draft version; a published version is frozen (answers point at it)."""
    version = SurveyVersion.objects.select_for_update().get(pk=version.pk)
    if version.published_at is not None:
        raise Conflict(_("Version %(n)d is published and can no longer change; make a new version.")
                       % {"n": version.number}, field="version")
    if texts is not None:
        for key, value in texts.cleaned().items():
            setattr(version, key, value)
        version.save()
    if questions is not None:
        _write_questions(version, _clean_questions(questions))
    audit.record(action="update", obj=version, by=by, at=at)
    return version


@transaction.atomic
def publish_version(version: SurveyVersion, *, by: User, at: dt.datetime | None = None) -> SurveyVersion:
    """Freeze a draft: from now on invitations use it."""
    at = at or timezone.now()
    version = SurveyVersion.objects.select_for_update().get(pk=version.pk)
    if version.published_at is not None:
        return version
    if not version.questions.exists():
        raise RuleViolation(_("A survey needs at least one question before it is published."), field="questions")
    version.published_at = at
    version.save(update_fields=["published_at"])
    audit.record(action="update", obj=version, by=by, at=at, changes={"published_at": at})
    return version
