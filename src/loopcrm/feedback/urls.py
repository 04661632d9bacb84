"""Pages of voice of the customer; their URL names join the "web" namespace."""

from django.urls import path

from loopcrm.feedback.views import pages, public

urlpatterns: list = [
    path("s/<str:token>/", public.survey_answer, name="survey_answer"),
    path("surveys/", pages.survey_list, name="survey_list"),
    path("surveys/new/", pages.survey_builder, name="survey_builder"),
    path("surveys/new/preview/", pages.survey_preview, name="survey_preview"),
    path("surveys/new/question/", pages.builder_question, name="survey_builder_question"),
    path("surveys/<int:survey_id>/", pages.survey_detail, name="survey_detail"),
    path("feedback/", pages.dashboard, name="feedback_dashboard"),
    path("feedback/verbatims/", pages.verbatims, name="verbatims"),
    path("feedback/words/", pages.word_frequency, name="word_frequency"),
    path("feedback/needs/", pages.needs, name="needs"),
    path("feedback/new/", pages.feedback_create, name="feedback_create"),
]
