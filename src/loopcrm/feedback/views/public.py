"""The survey taker's page at /s/<token>/: no login, phone-first, Chinese or English, rate-limited.

Only the greeting names the customer; errors say what is wrong with the link and store nothing.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_http_methods

from loopcrm.core.errors import DomainError, RuleViolation
from loopcrm.feedback import ratelimit
from loopcrm.feedback.models import Answer, Invitation, Response
from loopcrm.feedback.services import answering

LANGUAGES = ("zh-hans", "en")


def _language(request: HttpRequest, invitation: Invitation | None) -> str:
    chosen = request.POST.get("lang") or request.GET.get("lang") or ""
    if chosen in LANGUAGES:
        return chosen
    return invitation.language if invitation is not None else translation.get_language() or "zh-hans"


def _greeting_name(invitation: Invitation) -> str:
    return invitation.contact.name if invitation.contact_id else invitation.customer.name


def _questions(invitation: Invitation, language: str, values: dict[str, object]) -> list[dict]:
    zh = language.startswith("zh")
    rows = []
    for question in invitation.version.questions.all():
        key = f"q{question.pk}"
        labels = {item["value"]: item["zh" if zh else "en"] for item in question.labels}
        scale = []
        if question.kind == "rating":
            scale = [{"value": str(v), "label": labels.get(str(v), "")}
                     for v in range(question.scale_min, question.scale_max + 1)]
        value = values.get(key)
        rows.append({
            "key": key, "question": question, "text": question.text(language), "scale": scale,
            "choices": [{"value": c["value"], "label": c["zh" if zh else "en"]} for c in question.choices],
            "value": value if not isinstance(value, list) else None,
            "values": value if isinstance(value, list) else [value] if value else [],
        })
    return rows


def _saved_values(invitation: Invitation) -> dict[str, object]:
    response = Response.objects.filter(invitation=invitation).first()
    if response is None:
        return {}
    values: dict[str, object] = {}
    for answer in Answer.objects.filter(response=response):
        key = f"q{answer.question_id}"
        values[key] = (str(answer.number) if answer.number is not None else answer.choices or answer.text)
    return values


def _posted(request: HttpRequest, invitation: Invitation) -> dict[str, object]:
    raw: dict[str, object] = {}
    for question in invitation.version.questions.all():
        key = f"q{question.pk}"
        if question.kind == "multiple":
            raw[key] = request.POST.getlist(key)
        elif key in request.POST:
            raw[key] = request.POST.get(key, "")
    return raw


def _error_page(request: HttpRequest, error: DomainError, language: str) -> HttpResponse:
    with translation.override(language):
        return render(request, "feedback/public/error.html", {"message": error.message, "language": language},
                      status=error.status)


@never_cache
@csrf_protect
@require_http_methods(["GET", "POST"])
def survey_answer(request: HttpRequest, token: str) -> HttpResponse:
    language = _language(request, None)
    decision = ratelimit.survey_hit(request)
    if not decision.allowed:
        with translation.override(language):
            response = render(request, "feedback/public/error.html",
                              {"message": _("Too many requests. Please wait a few minutes and try again."),
                               "language": language}, status=429)
        response["Retry-After"] = str(decision.retry_after)
        return response
    try:
        with translation.override(language):
            invitation = answering.open_survey(token)
    except DomainError as error:
        return _error_page(request, error, language)
    language = _language(request, invitation)
    errors: dict[str, str] = {}
    values = _saved_values(invitation)
    saved = False
    if request.method == "POST":
        raw = _posted(request, invitation)
        submit = request.POST.get("action") != "save"
        try:
            with translation.override(language):
                answering.save_answers(token, raw, submit=submit, language=language)
        except RuleViolation as error:
            errors[error.field or ""] = error.message
            values.update(raw)
        except DomainError as error:
            return _error_page(request, error, language)
        else:
            if submit:
                with translation.override(language):
                    version = invitation.version
                    thanks = (version.thanks_zh if language.startswith("zh") else version.thanks_en) or \
                        _("Thank you for your answer!")
                    return render(request, "feedback/public/thanks.html", {"thanks": thanks, "language": language})
            values.update(raw)
            saved = True
    with translation.override(language):
        version = invitation.version
        context = {
            "token": token, "language": language, "greeting": _greeting_name(invitation),
            "title": version.title(language),
            "intro": version.intro_zh if language.startswith("zh") else version.intro_en,
            "questions": _questions(invitation, language, values), "errors": errors, "saved": saved,
            "max_text": answering.MAX_ANSWER_TEXT,
        }
        return render(request, "feedback/public/answer.html", context, status=422 if errors else 200)
