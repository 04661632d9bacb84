"""REST endpoints for voice of the customer (thin): load through queries, call one service, serialise.

Surveys and versions (scope "survey"), invitations, the public answer endpoint (the link's token is the
credential: no session, so no CSRF exposure), unsolicited feedback, metrics, verbatims, needs, words.
"""

from __future__ import annotations

from dataclasses import asdict

from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext as _
from ninja import Query, Router, Status

from loopcrm.accounts.permissions import can
from loopcrm.core.api import COMMON_ERRORS, WRITE_ERRORS, PageOut, Problem
from loopcrm.core.errors import NotFound, PermissionDenied, RuleViolation
from loopcrm.core.pagination import paginate
from loopcrm.customers.queries import get_customer_for
from loopcrm.feedback import queries, ratelimit, services
from loopcrm.feedback.models import Answer, Feedback, Response, SurveyVersion
from loopcrm.feedback.schemas import (
    AnalysisOut,
    BreakdownParams,
    FeedbackIn,
    FeedbackOut,
    InvitationOut,
    MetricParams,
    NeedOut,
    PublicAnswerIn,
    PublicResultOut,
    PublicSurveyOut,
    ScoresOut,
    SendIn,
    SummaryOut,
    SurveyIn,
    SurveyOut,
    SurveyPatch,
    TrendParams,
    VerbatimParams,
    VersionIn,
    VersionOut,
    WordOut,
)
from loopcrm.feedback.services import answering
from loopcrm.feedback.services.invitations import segment_customers

router = Router()
CHANGE_ERRORS = {**WRITE_ERRORS, 403: Problem}
PUBLIC_ERRORS = {**WRITE_ERRORS, 410: Problem}


def _specs(questions) -> list[services.QuestionSpec] | None:
    if questions is None:
        return None
    return [services.QuestionSpec(**{**q.dict(), "labels": [o.dict() for o in q.labels],
                                     "choices": [o.dict() for o in q.choices]}) for q in questions]


def _may_change_surveys(user) -> None:
    if not can(user, "survey", "change"):
        raise PermissionDenied(_("Your role may not change surveys."))


# --- surveys and versions -------------------------------------------------------------------------

@router.get("/surveys", response={200: list[SurveyOut], **COMMON_ERRORS}, url_name="feedback_surveys")
def list_surveys(request: HttpRequest):
    return list(queries.surveys_for(request.user).order_by("name", "id")[:500])


@router.post("/surveys", response={201: SurveyOut, **CHANGE_ERRORS}, url_name="feedback_survey_create")
def create_survey(request: HttpRequest, payload: SurveyIn):
    _may_change_surveys(request.user)
    survey = services.create_survey(
        name=payload.name, kind=payload.kind, trigger=payload.trigger, by=request.user,
        texts=services.VersionTexts(**payload.texts.dict()), questions=_specs(payload.questions),
        delay_hours=payload.delay_hours, valid_days=payload.valid_days, remind_after_days=payload.remind_after_days,
        publish=payload.publish,
    )
    return Status(201, survey)


@router.get("/surveys/{survey_id}", response={200: SurveyOut, **COMMON_ERRORS}, url_name="feedback_survey")
def get_survey(request: HttpRequest, survey_id: int):
    return queries.get_survey_for(request.user, survey_id)


@router.patch("/surveys/{survey_id}", response={200: SurveyOut, **CHANGE_ERRORS}, url_name="feedback_survey_patch")
def patch_survey(request: HttpRequest, survey_id: int, payload: SurveyPatch):
    survey = queries.get_survey_for(request.user, survey_id, "change")
    return services.update_survey(survey, by=request.user, **payload.dict(exclude_unset=True))


@router.get("/surveys/{survey_id}/versions", response={200: list[VersionOut], **COMMON_ERRORS},
            url_name="feedback_versions")
def list_versions(request: HttpRequest, survey_id: int):
    survey = queries.get_survey_for(request.user, survey_id)
    return list(survey.versions.prefetch_related("questions").order_by("-number"))


def _version(request: HttpRequest, survey_id: int, number: int, action: str = "view") -> SurveyVersion:
    survey = queries.get_survey_for(request.user, survey_id, action)
    version = survey.versions.filter(number=number).first()
    if version is None:
        raise NotFound(_("No version %(n)s of this survey.") % {"n": number}, field="number")
    return version


@router.post("/surveys/{survey_id}/versions", response={201: VersionOut, **CHANGE_ERRORS},
             url_name="feedback_version_create")
def create_version(request: HttpRequest, survey_id: int, payload: VersionIn):
    survey = queries.get_survey_for(request.user, survey_id, "change")
    texts = services.VersionTexts(**payload.texts.dict()) if payload.texts else None
    return Status(201, services.new_version(survey, texts=texts, questions=_specs(payload.questions), by=request.user))


@router.put("/surveys/{survey_id}/versions/{number}", response={200: VersionOut, **CHANGE_ERRORS},
            url_name="feedback_version_change")
def change_version(request: HttpRequest, survey_id: int, number: int, payload: VersionIn):
    version = _version(request, survey_id, number, "change")
    texts = services.VersionTexts(**payload.texts.dict()) if payload.texts else None
    return services.change_draft(version, texts=texts, questions=_specs(payload.questions), by=request.user)


@router.post("/surveys/{survey_id}/versions/{number}/publish", response={200: VersionOut, **CHANGE_ERRORS},
             url_name="feedback_version_publish")
def publish_version(request: HttpRequest, survey_id: int, number: int):
    return services.publish_version(_version(request, survey_id, number, "change"), by=request.user)


# --- invitations ----------------------------------------------------------------------------------

@router.post("/surveys/{survey_id}/send", response={200: list[InvitationOut], **CHANGE_ERRORS},
             url_name="feedback_send")
def send_survey(request: HttpRequest, survey_id: int, payload: SendIn):
    """Invite a list of customers or a segment now; consent and fatigue rules still apply (see status)."""
    survey = queries.get_survey_for(request.user, survey_id, "change")
    if payload.segment_id is not None:
        customers = segment_customers(payload.segment_id, user=request.user)
    else:
        if not payload.customer_ids:
            raise RuleViolation(_("Name customers or a segment."), field="customer_ids")
        customers = [get_customer_for(request.user, pk) for pk in dict.fromkeys(payload.customer_ids)]
    invitations = services.send_to_customers(survey, customers, by=request.user)
    services.send_due()
    for invitation in invitations:
        invitation.refresh_from_db()
    return invitations


@router.get("/surveys/{survey_id}/invitations", response={200: PageOut[InvitationOut], **COMMON_ERRORS},
            url_name="feedback_invitations")
def list_invitations(request: HttpRequest, survey_id: int, cursor: str | None = None, limit: int | None = None):
    survey = queries.get_survey_for(request.user, survey_id)
    page = paginate(queries.invitations_for(request.user).filter(survey=survey), sort="-id", allowed=("-id",),
                    cursor=cursor, limit=limit)
    return {"items": page.items, "next_cursor": page.next_cursor, "limit": page.limit}


# --- the public answer endpoint -------------------------------------------------------------------

def _limited(request: HttpRequest) -> None:
    if not ratelimit.survey_hit(request).allowed:
        raise TooManyRequests(_("Too many requests. Please wait a few minutes and try again."))


class TooManyRequests(RuleViolation):
    status = 429
    title = "Too many requests"


@router.get("/public/surveys/{token}", auth=None, response={200: PublicSurveyOut, **PUBLIC_ERRORS},
            url_name="feedback_public_survey")
def public_survey(request: HttpRequest, token: str, language: str = ""):
    """The survey behind a link (no login: the token is the credential). Reveals only a greeting."""
    _limited(request)
    invitation = answering.open_survey(token)
    language = language if language in ("en", "zh-hans") else invitation.language
    zh = language.startswith("zh")
    version = invitation.version
    response = Response.objects.filter(invitation=invitation).first()
    answers = {}
    if response is not None:
        for answer in Answer.objects.filter(response=response):
            answers[f"q{answer.question_id}"] = answer.number if answer.number is not None else (
                answer.choices or answer.text)
    return {
        "greeting": invitation.customer.name, "title": version.title(language),
        "intro": version.intro_zh if zh else version.intro_en, "language": language, "answers": answers,
        "questions": [{"id": q.pk, "kind": q.kind, "text": q.text(language), "scale_min": q.scale_min,
                       "scale_max": q.scale_max, "labels": q.labels, "choices": q.choices, "required": q.required}
                      for q in version.questions.all()],
    }


@router.post("/public/surveys/{token}", auth=None, response={200: PublicResultOut, **PUBLIC_ERRORS},
             url_name="feedback_public_answer")
def public_answer(request: HttpRequest, token: str, payload: PublicAnswerIn):
    """Save answers (partial with submit=false); a second submission answers 409 and counts nothing."""
    _limited(request)
    response = services.save_answers(token, payload.answers, submit=payload.submit, language=payload.language)
    return {"complete": response.is_complete, "saved": response.answers.count()}


# --- unsolicited feedback -------------------------------------------------------------------------

@router.post("/feedback", response={201: FeedbackOut, **CHANGE_ERRORS}, url_name="feedback_create")
def create_feedback(request: HttpRequest, payload: FeedbackIn):
    """Feedback from any channel (an agent logging a call, a form, an email); analysed at once."""
    customer = get_customer_for(request.user, payload.customer_id) if payload.customer_id else None
    if customer is None and not can(request.user, "feedback", "view"):
        raise PermissionDenied(_("Your role may not record feedback."))
    feedback = services.record_feedback(text=payload.text, channel=payload.channel, customer=customer,
                                        rating=payload.rating, touchpoint=payload.touchpoint, by=request.user,
                                        at=payload.received_at)
    return Status(201, Feedback.objects.select_related("analysis").get(pk=feedback.pk))


@router.get("/feedback", response={200: PageOut[AnalysisOut], **COMMON_ERRORS}, url_name="feedback_list")
def list_feedback(request: HttpRequest, params: Query[VerbatimParams]):
    """Verbatims: every analysed text (survey comments, feedback, tickets) the user may see, newest first."""
    filters = queries.VerbatimFilter(**params.dict(exclude={"cursor", "limit", "minimum"}))
    page = paginate(queries.verbatims(request.user, filters), sort="-at", allowed=("-at",), cursor=params.cursor,
                    limit=params.limit)
    return {"items": page.items, "next_cursor": page.next_cursor, "limit": page.limit}


# --- metrics ----------------------------------------------------------------------------------------

def _filters(params: MetricParams) -> queries.MetricFilter:
    keep = {"since", "until", "survey_id", "department_id", "agent_id", "channel", "touchpoint", "tier", "category"}
    return queries.MetricFilter(**{key: value for key, value in params.dict().items() if key in keep})


@router.get("/feedback/metrics", response={200: SummaryOut, **COMMON_ERRORS}, url_name="feedback_metrics")
def metrics(request: HttpRequest, params: Query[MetricParams]):
    """CSAT %, NPS and CES with 95 % intervals (or a minimum-sample warning), response rate, closed loop."""
    filters = _filters(params)
    summary = queries.summary(request.user, filters, minimum=params.minimum)
    return {
        "scores": summary.scores.as_dict(),
        "response_rate": asdict(queries.response_rate(request.user, filters)),
        "loop": asdict(queries.loop_metrics(request.user, filters)),
        "distribution": summary.distribution,
    }


@router.get("/feedback/metrics/breakdown", response={200: list[ScoresOut], **COMMON_ERRORS},
            url_name="feedback_breakdown")
def breakdown(request: HttpRequest, params: Query[BreakdownParams]):
    return [row.as_dict() for row in queries.breakdown(request.user, _filters(params), params.by,
                                                       minimum=params.minimum)]


@router.get("/feedback/metrics/trend", response={200: list[ScoresOut], **COMMON_ERRORS}, url_name="feedback_trend")
def trend(request: HttpRequest, params: Query[TrendParams]):
    return [row.as_dict() for row in queries.trend(request.user, _filters(params), period=params.period,
                                                   minimum=params.minimum)]


@router.get("/feedback/needs", response={200: list[NeedOut], **COMMON_ERRORS}, url_name="feedback_needs")
def needs(request: HttpRequest, params: Query[MetricParams]):
    """Topics customers raise, ranked by distinct customers, trend and value; each links to its verbatims."""
    base = reverse("web:verbatims")
    return [{**asdict(need), "verbatims_url": f"{base}?topic={need.topic}"}
            for need in queries.needs(request.user, _filters(params))]


@router.get("/feedback/words", response={200: list[WordOut], **COMMON_ERRORS}, url_name="feedback_words")
def words(request: HttpRequest, params: Query[VerbatimParams]):
    filters = queries.VerbatimFilter(**params.dict(exclude={"cursor", "limit", "minimum"}))
    return [{"word": word, "count": count} for word, count in queries.word_frequencies(request.user, filters)]

