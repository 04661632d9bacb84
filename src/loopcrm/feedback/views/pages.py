"""Staff pages: surveys (list, builder with preview, detail and send), the results dashboard, verbatims,
word frequencies, needs and logging feedback. Thin: queries and services do the work."""

from __future__ import annotations

import re
from dataclasses import asdict

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.html import escape
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from loopcrm.accounts.permissions import can
from loopcrm.core.errors import DomainError, PermissionDenied
from loopcrm.core.pages import domain_pages
from loopcrm.core.pagination import paginate
from loopcrm.customers.queries import get_customer_for
from loopcrm.feedback import charts, queries, services
from loopcrm.feedback.forms import DashboardForm, FeedbackForm, SendForm, SurveySettingsForm, VerbatimFilterForm
from loopcrm.feedback.models import Question, SurveyKind
from loopcrm.feedback.services.invitations import segment_customers
from loopcrm.feedback.services.surveys import QuestionSpec, default_questions

NPS_COLOURS = {**dict.fromkeys(range(7), "#dc2626"), 7: "#f59e0b", 8: "#f59e0b", 9: "#16a34a", 10: "#16a34a"}


def _need_feedback(user) -> None:
    if not can(user, "feedback", "view"):
        raise PermissionDenied(_("Your role may not see survey results."))


# --- surveys --------------------------------------------------------------------------------------

@login_required
@domain_pages
def survey_list(request: HttpRequest) -> HttpResponse:
    if not can(request.user, "survey", "view"):
        raise PermissionDenied(_("Your role may not see surveys."))
    surveys = queries.surveys_for(request.user).order_by("name", "id")
    return render(request, "feedback/survey_list.html", {
        "surveys": surveys, "can_change": can(request.user, "survey", "change")})


def _options(raw: str) -> list[dict[str, str]]:
    """Options written one per line as "value | English | 中文"."""
    options = []
    for line in raw.splitlines():
        parts = [part.strip() for part in line.split("|")]
        if len(parts) == 3 and all(parts):
            options.append({"value": parts[0], "en": parts[1], "zh": parts[2]})
        elif line.strip():
            raise DomainError(_("Write each option as: value | English | 中文"), field="questions")
    return options


def _int(value: str) -> int | None:
    return int(value) if re.fullmatch(r"-?\d{1,3}", value or "") else None


def _posted_questions(request: HttpRequest) -> list[QuestionSpec]:
    specs = []
    for index in range(30):
        prefix = f"q-{index}-"
        if f"{prefix}kind" not in request.POST:
            continue
        if request.POST.get(f"{prefix}delete"):
            continue
        specs.append(QuestionSpec(
            kind=request.POST.get(f"{prefix}kind", ""), metric=request.POST.get(f"{prefix}metric", ""),
            text_en=request.POST.get(f"{prefix}text_en", ""), text_zh=request.POST.get(f"{prefix}text_zh", ""),
            scale_min=_int(request.POST.get(f"{prefix}scale_min", "")),
            scale_max=_int(request.POST.get(f"{prefix}scale_max", "")),
            labels=_options(request.POST.get(f"{prefix}labels", "")),
            choices=_options(request.POST.get(f"{prefix}choices", "")),
            required=bool(request.POST.get(f"{prefix}required")),
        ))
    return specs


def _as_rows(specs: list[QuestionSpec]) -> list[dict]:
    def lines(options):
        return "\n".join(f'{o["value"]} | {o["en"]} | {o["zh"]}' for o in options)
    return [{"index": index, "spec": spec, "labels": lines(spec.labels), "choices": lines(spec.choices)}
            for index, spec in enumerate(specs)]


def _builder_context(form: SurveySettingsForm, specs: list[QuestionSpec], error: str = "") -> dict:
    return {"form": form, "questions": _as_rows(specs), "kinds": Question.Kind.choices,
            "metrics": Question.Metric.choices, "error": error, "next_index": len(specs)}


@login_required
@domain_pages
@require_http_methods(["GET", "POST"])
def survey_builder(request: HttpRequest) -> HttpResponse:
    """Build a survey: settings, bilingual texts, questions; the preview shows the customer's page."""
    if not can(request.user, "survey", "change"):
        raise PermissionDenied(_("Your role may not change surveys."))
    kind = request.GET.get("kind", SurveyKind.NPS)
    if request.method == "GET":
        form = SurveySettingsForm(initial={"kind": kind, "trigger": "manual", "delay_hours": 24, "valid_days": 14,
                                           "remind_after_days": 3})
        return render(request, "feedback/survey_builder.html",
                      _builder_context(form, default_questions(kind if kind in SurveyKind.values else "nps")))
    form = SurveySettingsForm(request.POST)
    error = ""
    try:
        specs = _posted_questions(request)
    except DomainError as problem:
        specs, error = [], problem.message
    if form.is_valid() and not error:
        data = form.cleaned_data
        try:
            survey = services.create_survey(
                name=data["name"], kind=data["kind"], trigger=data["trigger"], by=request.user,
                texts=services.VersionTexts(title_en=data["title_en"], title_zh=data["title_zh"],
                                            intro_en=data["intro_en"], intro_zh=data["intro_zh"]),
                questions=specs or None, delay_hours=data["delay_hours"], valid_days=data["valid_days"],
                remind_after_days=data["remind_after_days"], publish=data["publish"])
        except DomainError as problem:
            error = problem.message
        else:
            messages.success(request, _("Survey %(name)s was created.") % {"name": survey.name})
            return redirect("web:survey_detail", survey.pk)
    return render(request, "feedback/survey_builder.html", _builder_context(form, specs, error), status=422)


@login_required
@require_http_methods(["POST"])
def survey_preview(request: HttpRequest) -> HttpResponse:
    """The customer's view of the survey being built (htmx fragment; nothing is saved)."""
    if not can(request.user, "survey", "change"):
        return HttpResponse(status=403)
    language = request.POST.get("preview_lang", "zh-hans")
    try:
        specs = services.surveys._clean_questions(_posted_questions(request))
    except DomainError as problem:
        return render(request, "feedback/_preview.html", {"error": problem.message})
    zh = language.startswith("zh")
    rows = []
    for index, spec in enumerate(specs):
        labels = {item["value"]: item["zh" if zh else "en"] for item in spec.labels}
        rows.append({
            "key": f"preview-{index}", "text": spec.text_zh if zh else spec.text_en, "kind": spec.kind,
            "required": spec.required,
            "scale": [{"value": str(v), "label": labels.get(str(v), "")}
                      for v in range(spec.scale_min, spec.scale_max + 1)] if spec.kind == "rating" else [],
            "choices": [{"value": c["value"], "label": c["zh" if zh else "en"]} for c in spec.choices],
        })
    title = request.POST.get("title_zh" if zh else "title_en", "")
    return render(request, "feedback/_preview.html", {"rows": rows, "title": title, "language": language})


@login_required
def builder_question(request: HttpRequest) -> HttpResponse:
    """One empty question fieldset for the builder (htmx)."""
    index = _int(request.GET.get("index", "0")) or 0
    spec = QuestionSpec(kind=request.GET.get("kind", "text"), text_en="", text_zh="")
    row = _as_rows([spec])[0] | {"index": min(index, 29)}
    return render(request, "feedback/_question.html",
                  {"row": row, "kinds": Question.Kind.choices, "metrics": Question.Metric.choices})


@login_required
@domain_pages
@require_http_methods(["GET", "POST"])
def survey_detail(request: HttpRequest, survey_id: int) -> HttpResponse:
    survey = queries.get_survey_for(request.user, survey_id)
    send_form = SendForm(request.POST or None)
    if request.method == "POST":
        survey = queries.get_survey_for(request.user, survey_id, "change")
        if "publish" in request.POST:
            draft = survey.versions.filter(published_at__isnull=True).first()
            if draft is not None:
                services.publish_version(draft, by=request.user)
                messages.success(request, _("Version %(n)d is published.") % {"n": draft.number})
            return redirect("web:survey_detail", survey.pk)
        if send_form.is_valid():
            try:
                if send_form.cleaned_data.get("segment_id"):
                    customers = segment_customers(send_form.cleaned_data["segment_id"], user=request.user)
                else:
                    customers = [get_customer_for(request.user, pk) for pk in send_form.ids()]
                invitations = services.send_to_customers(survey, customers, by=request.user)
                services.send_due()
            except DomainError as problem:
                send_form.add_error(None, problem.message)
            else:
                scheduled = sum(1 for i in invitations if i.status != "suppressed")
                note = _("%(sent)d of %(all)d invitations sent; the rest were held back by consent or survey "
                         "fatigue.") % {"sent": scheduled, "all": len(invitations)}
                messages.success(request, note)
                return redirect("web:survey_detail", survey.pk)
    versions = list(survey.versions.prefetch_related("questions").order_by("-number"))
    return render(request, "feedback/survey_detail.html", {
        "survey": survey, "versions": versions, "stats": queries.survey_stats(survey), "send_form": send_form,
        "can_change": can(request.user, "survey", "change"),
    })


# --- results --------------------------------------------------------------------------------------

@login_required
@domain_pages
def dashboard(request: HttpRequest) -> HttpResponse:
    """Results: CSAT, NPS and CES with their intervals, response rate, closed loop, trend, distribution, breakdown."""
    _need_feedback(request.user)
    form = DashboardForm(request.GET or None, surveys=queries.surveys_for(request.user))
    filters = form.filters()
    by, period = form.by_value(), form.period_value()
    try:
        summary = queries.summary(request.user, filters)
        scores = summary.scores.as_dict()
        trend = [row.as_dict() for row in queries.trend(request.user, filters, period=period)]
        rows = [row.as_dict() for row in queries.breakdown(request.user, filters, by)]
        nps_counts, csat_counts = summary.distribution["nps"], summary.distribution["csat"]
        rate = queries.response_rate(request.user, filters)
        loop = queries.loop_metrics(request.user, filters)
        problem = ""
    except DomainError as error:
        scores, trend, rows, nps_counts, csat_counts, rate, loop = None, [], [], {}, {}, None, None
        problem = error.message
    figures = {}
    if scores is not None:
        figures = {
            "trend": charts.trend_figure(trend, title=_("NPS and CSAT over time"), nps_label="NPS",
                                         csat_label=_("CSAT %")),
            "nps": charts.distribution_figure(nps_counts, low=0, high=10, title=_("NPS answers"), colours=NPS_COLOURS),
            "csat": charts.distribution_figure(csat_counts, low=1, high=5, title=_("CSAT answers"), colours={
                1: "#dc2626", 2: "#dc2626", 3: "#f59e0b", 4: "#16a34a", 5: "#16a34a"}),
            "breakdown": charts.breakdown_figure(rows, metric="nps", title=_("NPS by %(by)s") % {
                "by": dict(form.fields["by"].choices).get(by, by)}),
        }
    return render(request, "feedback/dashboard.html", {
        "form": form, "scores": scores, "rows": rows, "rate": rate, "loop": loop and asdict(loop),
        "figures": figures, "problem": problem, "by": by,
    })


def highlight(text: str, words: list[str]) -> str:
    """The text HTML-escaped, with `words` wrapped in <mark> (longest first, so 态度很差 wins over 态度)."""
    escaped = escape(text)
    words = sorted({escape(w) for w in words if (w and len(w) > 1) or (w and not w.isascii())}, key=len, reverse=True)
    if not words:
        return mark_safe(escaped)  # noqa: S308 - escaped above
    pattern = re.compile("|".join(re.escape(w) for w in words[:20]), re.IGNORECASE)
    return mark_safe(pattern.sub(lambda m: f"<mark>{m.group(0)}</mark>", escaped))  # noqa: S308 - escaped above


@login_required
@domain_pages
def verbatims(request: HttpRequest) -> HttpResponse:
    _need_feedback(request.user)
    form = VerbatimFilterForm(request.GET or None, surveys=queries.surveys_for(request.user))
    problem = ""
    try:
        page = paginate(queries.verbatims(request.user, form.filters()), sort="-at", allowed=("-at",),
                        cursor=request.GET.get("cursor"), limit=50)
        items = [{"row": row, "html": highlight(row.text, row.keywords)} for row in page.items]
    except DomainError as error:
        page, items, problem = None, [], error.message
    template = "feedback/verbatims.html#rows" if request.htmx and request.htmx.target == "more-row" else \
        "feedback/verbatims.html"
    return render(request, template, {"form": form, "page": page, "items": items, "problem": problem,
                                      "topic_label": queries.topic_label})


@login_required
@domain_pages
def word_frequency(request: HttpRequest) -> HttpResponse:
    _need_feedback(request.user)
    form = VerbatimFilterForm(request.GET or None, surveys=queries.surveys_for(request.user))
    words = queries.word_frequencies(request.user, form.filters())
    figure = charts.words_figure(words, title=_("Most frequent words")) if words else ""
    top = words[0][1] if words else 1
    cloud = [{"word": word, "count": count, "size": 0.85 + 1.6 * count / top} for word, count in words]
    return render(request, "feedback/words.html", {"form": form, "words": words, "figure": figure, "cloud": cloud})


@login_required
@domain_pages
def needs(request: HttpRequest) -> HttpResponse:
    _need_feedback(request.user)
    form = DashboardForm(request.GET or None, surveys=queries.surveys_for(request.user))
    return render(request, "feedback/needs.html", {"form": form, "needs": queries.needs(request.user, form.filters())})


@login_required
@domain_pages
@require_http_methods(["GET", "POST"])
def feedback_create(request: HttpRequest) -> HttpResponse:
    """An agent logs what a customer said on any channel."""
    form = FeedbackForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            customer = get_customer_for(request.user, data["customer_id"]) if data.get("customer_id") else None
            services.record_feedback(text=data["text"], channel=data["channel"], customer=customer,
                                     rating=data.get("rating"), touchpoint=data.get("touchpoint") or "",
                                     by=request.user)
        except DomainError as error:
            form.add_error(error.field if error.field in form.fields else None, error.message)
        else:
            messages.success(request, _("Feedback recorded."))
            return redirect("web:verbatims")
    return render(request, "feedback/feedback_form.html", {"form": form}, status=422 if form.errors else 200)
