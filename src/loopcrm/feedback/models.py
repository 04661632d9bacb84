"""Surveys and their versions, invitations with single-use tokens, answers, unsolicited feedback,
text analysis and the follow-ups that close the loop."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from loopcrm.core.choices import Channel, Touchpoint
from loopcrm.core.models import TimeStampedModel


class SurveyKind(models.TextChoices):
    CSAT = "csat", _("Customer satisfaction (CSAT)")
    NPS = "nps", _("Net Promoter Score (NPS)")
    CES = "ces", _("Customer effort (CES)")
    CUSTOM = "custom", _("Custom")


class Trigger(models.TextChoices):
    TICKET_RESOLVED = "ticket_resolved", _("Ticket resolved")
    ORDER_DELIVERED = "order_delivered", _("Order delivered")
    RELATIONSHIP = "relationship", _("Periodic relationship survey")
    MANUAL = "manual", _("Sent by hand")


class Survey(TimeStampedModel):
    """A questionnaire; what customers answer is one of its versions (a published version never changes)."""

    name = models.CharField(_("name"), max_length=200)
    kind = models.CharField(_("kind"), max_length=10, choices=SurveyKind.choices)
    trigger = models.CharField(_("trigger"), max_length=20, choices=Trigger.choices, default=Trigger.MANUAL)
    # Hours after the trigger (ticket resolved, order delivered) before the invitation goes out.
    delay_hours = models.PositiveIntegerField(_("delay (hours)"), default=24)
    # Days a link stays valid after sending.
    valid_days = models.PositiveIntegerField(_("link valid (days)"), default=14)
    # Days after sending before the one reminder, when not answered.
    remind_after_days = models.PositiveIntegerField(_("remind after (days)"), default=3)
    is_active = models.BooleanField(_("active"), default=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")

    class Meta:
        verbose_name = _("survey")
        verbose_name_plural = _("surveys")
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name

    @property
    def current_version(self) -> SurveyVersion | None:
        return self.versions.filter(published_at__isnull=False).order_by("-number").first()


class SurveyVersion(models.Model):
    """One frozen wording of a survey; invitations and answers keep the version they were sent."""

    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="versions", verbose_name=_("survey"))
    number = models.PositiveIntegerField(_("version"))
    title_en = models.CharField(_("title (English)"), max_length=200)
    title_zh = models.CharField(_("title (Chinese)"), max_length=200)
    intro_en = models.TextField(_("introduction (English)"), blank=True)
    intro_zh = models.TextField(_("introduction (Chinese)"), blank=True)
    thanks_en = models.CharField(_("thank-you (English)"), max_length=300, blank=True)
    thanks_zh = models.CharField(_("thank-you (Chinese)"), max_length=300, blank=True)
    published_at = models.DateTimeField(_("published"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("survey version")
        verbose_name_plural = _("survey versions")
        ordering = ["survey", "-number"]
        constraints = [models.UniqueConstraint(fields=["survey", "number"], name="survey_version_unique")]

    def __str__(self) -> str:
        return f"{self.survey} v{self.number}"

    def title(self, language: str) -> str:
        return self.title_zh if language.startswith("zh") else self.title_en


class Question(models.Model):
    """A question of a survey version. Rating questions carry a metric (CSAT, NPS, CES) or none."""

    class Kind(models.TextChoices):
        RATING = "rating", _("Rating")
        SINGLE = "single", _("Single choice")
        MULTIPLE = "multiple", _("Multiple choice")
        TEXT = "text", _("Free text")

    class Metric(models.TextChoices):
        NONE = "", _("None")
        CSAT = "csat", "CSAT"
        NPS = "nps", "NPS"
        CES = "ces", "CES"

    version = models.ForeignKey(SurveyVersion, on_delete=models.CASCADE, related_name="questions",
                                verbose_name=_("version"))
    position = models.PositiveSmallIntegerField(_("position"))
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    metric = models.CharField(_("metric"), max_length=5, choices=Metric.choices, blank=True, default="")
    text_en = models.CharField(_("question (English)"), max_length=500)
    text_zh = models.CharField(_("question (Chinese)"), max_length=500)
    scale_min = models.SmallIntegerField(_("lowest rating"), null=True, blank=True)
    scale_max = models.SmallIntegerField(_("highest rating"), null=True, blank=True)
    # Rating labels and choices: [{"value": "4", "en": "Satisfied", "zh": "满意"}, …]
    labels = models.JSONField(_("rating labels"), default=list, blank=True)
    choices = models.JSONField(_("choices"), default=list, blank=True)
    required = models.BooleanField(_("required"), default=True)

    class Meta:
        verbose_name = _("question")
        verbose_name_plural = _("questions")
        ordering = ["version", "position"]
        constraints = [models.UniqueConstraint(fields=["version", "position"], name="question_position_unique")]

    def __str__(self) -> str:
        return self.text_en

    def text(self, language: str) -> str:
        return self.text_zh if language.startswith("zh") else self.text_en


class Invitation(models.Model):
    """A survey version offered to one customer, with a single-use link (only its hash is stored)."""

    class Status(models.TextChoices):
        SCHEDULED = "scheduled", _("Scheduled")
        SENT = "sent", _("Sent")
        ANSWERED = "answered", _("Answered")
        SUPPRESSED = "suppressed", _("Not sent (rule)")

    survey = models.ForeignKey(Survey, on_delete=models.PROTECT, related_name="invitations", verbose_name=_("survey"))
    version = models.ForeignKey(SurveyVersion, on_delete=models.PROTECT, related_name="invitations",
                                verbose_name=_("version"))
    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, related_name="survey_invitations",
                                 verbose_name=_("customer"))
    contact = models.ForeignKey("customers.ContactPerson", null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="+", verbose_name=_("contact"))
    channel = models.CharField(_("channel"), max_length=20, choices=Channel.choices, default=Channel.EMAIL)
    language = models.CharField(_("language"), max_length=10, default="zh-hans")
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.SCHEDULED)
    suppressed_reason = models.CharField(_("why not sent"), max_length=100, blank=True)
    # The link's token is an HMAC of (id, nonce) under the SECRET_KEY; only its SHA-256 is stored, for lookup.
    token_nonce = models.CharField(max_length=32, blank=True)
    token_hash = models.CharField(max_length=64, unique=True, null=True, blank=True)
    trigger = models.CharField(_("trigger"), max_length=20, choices=Trigger.choices)
    # What it is about: the ticket or order that triggered it (kept as ids: tickets may be archived).
    ticket = models.ForeignKey("service.Ticket", null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="survey_invitations", verbose_name=_("ticket"))
    order = models.ForeignKey("commerce.Order", null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="survey_invitations", verbose_name=_("order"))
    # Who the answer is about, for breakdowns and scopes: the ticket's agent and department.
    agent = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+", verbose_name=_("agent"))
    department = models.ForeignKey("accounts.Department", null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+", verbose_name=_("department"))
    touchpoint = models.CharField(_("touchpoint"), max_length=20, choices=Touchpoint.choices, blank=True)
    send_after = models.DateTimeField(_("send after"))
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    expires_at = models.DateTimeField(_("expires"), null=True, blank=True)
    reminded_at = models.DateTimeField(_("reminded"), null=True, blank=True)
    opened_at = models.DateTimeField(_("opened"), null=True, blank=True)
    answered_at = models.DateTimeField(_("answered"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"))
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")

    class Meta:
        verbose_name = _("survey invitation")
        verbose_name_plural = _("survey invitations")
        indexes = [
            models.Index(fields=["customer", "-created_at"], name="invitation_customer_idx"),
            models.Index(fields=["status", "send_after"], name="invitation_due_idx"),
            models.Index(fields=["survey", "-created_at"], name="invitation_survey_idx"),
            # The response rate counts sent and answered invitations of a period from this index alone (PostgreSQL).
            models.Index(fields=["sent_at"], include=["answered_at", "survey", "department"],
                         name="invitation_sent_idx"),
        ]
        constraints = [
            # One invitation per trigger source: a sweep that runs twice never invites twice.
            models.UniqueConstraint(fields=["survey", "ticket"], condition=models.Q(ticket__isnull=False),
                                    name="invitation_ticket_unique"),
            models.UniqueConstraint(fields=["survey", "order"], condition=models.Q(order__isnull=False),
                                    name="invitation_order_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.survey} → {self.customer_id} ({self.status})"


class Response(models.Model):
    """One customer's answer sheet for an invitation (kept while partial; complete once submitted).

    The first CSAT, NPS and CES answers and the breakdown dimensions are copied here so the
    dashboards aggregate one table.
    """

    invitation = models.OneToOneField(Invitation, on_delete=models.CASCADE, related_name="response",
                                      verbose_name=_("invitation"))
    survey = models.ForeignKey(Survey, on_delete=models.PROTECT, related_name="responses", verbose_name=_("survey"))
    version = models.ForeignKey(SurveyVersion, on_delete=models.PROTECT, related_name="responses",
                                verbose_name=_("version"))
    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, related_name="survey_responses",
                                 verbose_name=_("customer"))
    is_complete = models.BooleanField(_("complete"), default=False)
    started_at = models.DateTimeField(_("started"))
    answered_at = models.DateTimeField(_("answered"), null=True, blank=True)
    language = models.CharField(_("language"), max_length=10, default="zh-hans")
    csat = models.PositiveSmallIntegerField(_("CSAT"), null=True, blank=True)
    nps = models.PositiveSmallIntegerField(_("NPS rating"), null=True, blank=True)
    ces = models.PositiveSmallIntegerField(_("CES"), null=True, blank=True)
    comment = models.TextField(_("comment"), blank=True)
    # Dimensions (copied from the invitation and its ticket at answer time).
    agent = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+", verbose_name=_("agent"))
    department = models.ForeignKey("accounts.Department", null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+", verbose_name=_("department"))
    category = models.ForeignKey("service.TicketCategory", null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="+", verbose_name=_("category"))
    channel = models.CharField(_("channel"), max_length=20, choices=Channel.choices, blank=True)
    touchpoint = models.CharField(_("touchpoint"), max_length=20, choices=Touchpoint.choices, blank=True)
    tier = models.CharField(_("customer tier"), max_length=20, blank=True)
    organisation = models.ForeignKey("customers.Customer", null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+", verbose_name=_("organisation"))

    class Meta:
        verbose_name = _("survey response")
        verbose_name_plural = _("survey responses")
        indexes = [
            models.Index(fields=["is_complete", "answered_at"], name="response_answered_idx"),
            # The dashboards' summary reads the scores of a period from this index alone (PostgreSQL).
            models.Index(fields=["answered_at"], include=["nps", "csat", "ces"], condition=models.Q(is_complete=True),
                         name="response_scores_idx"),
            models.Index(fields=["survey", "answered_at"], name="response_survey_idx"),
            models.Index(fields=["customer", "-answered_at"], name="response_customer_idx"),
            models.Index(fields=["department", "answered_at"], name="response_dept_idx"),
            models.Index(fields=["agent", "answered_at"], name="response_agent_idx"),
        ]

    def __str__(self) -> str:
        return f"response #{self.pk} ({self.survey_id})"


class Answer(models.Model):
    """The answer to one question: a number (rating, single choice index), chosen values, or text."""

    response = models.ForeignKey(Response, on_delete=models.CASCADE, related_name="answers",
                                 verbose_name=_("response"))
    question = models.ForeignKey(Question, on_delete=models.PROTECT, related_name="answers",
                                 verbose_name=_("question"))
    number = models.SmallIntegerField(_("rating"), null=True, blank=True)
    choices = models.JSONField(_("chosen"), default=list, blank=True)
    text = models.TextField(_("text"), blank=True)

    class Meta:
        verbose_name = _("answer")
        verbose_name_plural = _("answers")
        constraints = [models.UniqueConstraint(fields=["response", "question"], name="answer_unique")]

    def __str__(self) -> str:
        return f"answer to q{self.question_id}"


class Feedback(models.Model):
    """Feedback nobody asked for, from any channel: a web form, an email, an agent logging a call."""

    customer = models.ForeignKey("customers.Customer", null=True, blank=True, on_delete=models.CASCADE,
                                 related_name="feedback", verbose_name=_("customer"))
    text = models.TextField(_("text"))
    rating = models.PositiveSmallIntegerField(_("rating (1–5)"), null=True, blank=True)
    channel = models.CharField(_("channel"), max_length=20, choices=Channel.choices)
    touchpoint = models.CharField(_("touchpoint"), max_length=20, choices=Touchpoint.choices, blank=True)
    received_at = models.DateTimeField(_("received"))
    department = models.ForeignKey("accounts.Department", null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+", verbose_name=_("department"))
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+", verbose_name=_("recorded by"))

    class Meta:
        verbose_name = _("feedback")
        verbose_name_plural = _("feedback")
        indexes = [models.Index(fields=["-received_at", "-id"], name="feedback_received_idx")]

    def __str__(self) -> str:
        return self.text[:50]


class TextAnalysis(models.Model):
    """What one free text says (a survey comment, feedback, a ticket's description): the verbatim row."""

    class Source(models.TextChoices):
        SURVEY = "survey", _("Survey comment")
        FEEDBACK = "feedback", _("Feedback")
        TICKET = "ticket", _("Ticket")

    class Sentiment(models.TextChoices):
        NEGATIVE = "negative", _("Negative")
        NEUTRAL = "neutral", _("Neutral")
        POSITIVE = "positive", _("Positive")

    source = models.CharField(_("source"), max_length=10, choices=Source.choices)
    answer = models.OneToOneField(Answer, null=True, blank=True, on_delete=models.CASCADE, related_name="analysis")
    feedback = models.OneToOneField(Feedback, null=True, blank=True, on_delete=models.CASCADE,
                                    related_name="analysis")
    ticket = models.OneToOneField("service.Ticket", null=True, blank=True, on_delete=models.CASCADE,
                                  related_name="text_analysis")
    customer = models.ForeignKey("customers.Customer", null=True, blank=True, on_delete=models.CASCADE,
                                 related_name="+", verbose_name=_("customer"))
    agent = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+")
    department = models.ForeignKey("accounts.Department", null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    at = models.DateTimeField(_("when"))
    text = models.TextField(_("text"))
    channel = models.CharField(_("channel"), max_length=20, blank=True)
    touchpoint = models.CharField(_("touchpoint"), max_length=20, blank=True)
    language = models.CharField(_("language"), max_length=5)
    tokens = models.JSONField(_("words"), default=list)
    keywords = models.JSONField(_("keywords"), default=list)
    topics = models.JSONField(_("topics"), default=list)
    sentiment = models.CharField(_("sentiment"), max_length=10, choices=Sentiment.choices)
    score = models.FloatField(_("sentiment score"))
    category = models.CharField(_("complaint category"), max_length=20, blank=True)
    tier = models.CharField(_("customer tier"), max_length=20, blank=True)

    class Meta:
        verbose_name = _("text analysis")
        verbose_name_plural = _("text analyses")
        indexes = [
            models.Index(fields=["-at", "-id"], name="analysis_at_idx"),
            models.Index(fields=["sentiment", "-at"], name="analysis_sentiment_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.source} {self.sentiment} {self.text[:30]}"


class TopicMention(models.Model):
    """One topic named in one analysed text: the needs list counts these by distinct customers."""

    analysis = models.ForeignKey(TextAnalysis, on_delete=models.CASCADE, related_name="mentions")
    topic = models.CharField(_("topic"), max_length=30)
    customer = models.ForeignKey("customers.Customer", null=True, blank=True, on_delete=models.CASCADE,
                                 related_name="+")
    at = models.DateTimeField(_("when"))
    negative = models.BooleanField(default=False)

    class Meta:
        verbose_name = _("topic mention")
        verbose_name_plural = _("topic mentions")
        indexes = [models.Index(fields=["topic", "at"], name="mention_topic_idx")]

    def __str__(self) -> str:
        return self.topic


class FollowUp(models.Model):
    """An unhappy answer or comment that opened a follow-up ticket; the loop closes with the agent's reply."""

    class Reason(models.TextChoices):
        DETRACTOR = "detractor", _("NPS detractor")
        LOW_CSAT = "low_csat", _("Low CSAT")
        HIGH_EFFORT = "high_effort", _("High effort")
        NEGATIVE_COMMENT = "negative_comment", _("Strongly negative comment")

    response = models.OneToOneField(Response, null=True, blank=True, on_delete=models.CASCADE,
                                    related_name="follow_up")
    feedback = models.OneToOneField(Feedback, null=True, blank=True, on_delete=models.CASCADE,
                                    related_name="follow_up")
    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, related_name="+")
    ticket = models.ForeignKey("service.Ticket", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    reason = models.CharField(_("reason"), max_length=20, choices=Reason.choices)
    department = models.ForeignKey("accounts.Department", null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    opened_at = models.DateTimeField(_("opened"))

    class Meta:
        verbose_name = _("follow-up")
        verbose_name_plural = _("follow-ups")
        indexes = [models.Index(fields=["-opened_at"], name="followup_opened_idx")]

    def __str__(self) -> str:
        return f"follow-up {self.reason} → ticket {self.ticket_id}"


# --- the daily roll-up the dashboards read --------------------------------------------------------

# The scores each metric can take (fixed by services.surveys.METRIC_SCALES): one counter column per score.
METRIC_SCORES = {"nps": range(0, 11), "csat": range(1, 6), "ces": range(1, 8)}


def score_column(metric: str, score: int) -> str:
    return f"{metric}_{score}"


class AnswerDay(models.Model):
    """The complete answers of one local day (in LOOPCRM_TIME_ZONE) and one combination of the dashboards'
    low-cardinality dimensions: how many, and how many gave each score of each metric.

    Kept in the same transaction as the answers (services.rollup); ids are plain integers, 0 meaning none
    (a deleted department or category is mapped to "none" when read, as SET_NULL does to the answers).
    """

    day = models.DateField()
    survey_id = models.BigIntegerField()
    department_id = models.BigIntegerField(db_default=0)
    category_id = models.BigIntegerField(db_default=0)
    channel = models.CharField(max_length=20, db_default="")
    touchpoint = models.CharField(max_length=20, db_default="")
    tier = models.CharField(max_length=20, db_default="")
    responses = models.IntegerField(db_default=0)

    KEY = ("day", "survey_id", "department_id", "category_id", "channel", "touchpoint", "tier")

    class Meta:
        verbose_name = _("answers of a day")
        verbose_name_plural = _("answers per day")
        constraints = [models.UniqueConstraint(fields=["day", "survey_id", "department_id", "category_id", "channel",
                                                       "touchpoint", "tier"], name="answer_day_key")]

    def __str__(self) -> str:
        return f"{self.day} survey {self.survey_id}: {self.responses}"


for _metric, _scores in METRIC_SCORES.items():
    for _score in _scores:
        AnswerDay.add_to_class(score_column(_metric, _score), models.IntegerField(db_default=0))


class AgentDay(models.Model):
    """The complete answers of one local day per survey, agent and department (0: none), with the same
    counters as AnswerDay: what an agent's own dashboard and the breakdown by agent read."""

    day = models.DateField()
    survey_id = models.BigIntegerField()
    agent_id = models.BigIntegerField(db_default=0)
    department_id = models.BigIntegerField(db_default=0)
    responses = models.IntegerField(db_default=0)

    KEY = ("day", "survey_id", "agent_id", "department_id")

    class Meta:
        verbose_name = _("answers of a day per agent")
        verbose_name_plural = _("answers per day and agent")
        constraints = [models.UniqueConstraint(fields=["day", "survey_id", "agent_id", "department_id"],
                                               name="agent_day_key")]

    def __str__(self) -> str:
        return f"{self.day} survey {self.survey_id} agent {self.agent_id}: {self.responses}"


for _metric, _scores in METRIC_SCORES.items():
    for _score in _scores:
        AgentDay.add_to_class(score_column(_metric, _score), models.IntegerField(db_default=0))


class InvitationDay(models.Model):
    """The invitations sent on one local day per survey and department, and how many of them were answered
    (the response rate's numerator and denominator)."""

    day = models.DateField()
    survey_id = models.BigIntegerField()
    department_id = models.BigIntegerField(db_default=0)
    sent = models.IntegerField(db_default=0)
    answered = models.IntegerField(db_default=0)

    KEY = ("day", "survey_id", "department_id")

    class Meta:
        verbose_name = _("invitations of a day")
        verbose_name_plural = _("invitations per day")
        constraints = [models.UniqueConstraint(fields=["day", "survey_id", "department_id"],
                                               name="invitation_day_key")]

    def __str__(self) -> str:
        return f"{self.day} survey {self.survey_id}: {self.answered}/{self.sent}"


class RollupState(models.Model):
    """Whether the roll-up is complete and in which time zone its days are (one row; none = not built yet,
    the dashboards then read the answers themselves)."""

    zone = models.CharField(max_length=64)
    built_at = models.DateTimeField()
    checked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("roll-up state")
        verbose_name_plural = _("roll-up state")

    def __str__(self) -> str:
        return f"roll-up in {self.zone}, built {self.built_at:%Y-%m-%d %H:%M}"
