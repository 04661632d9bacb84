"""Improvement pages (in the "web" namespace): one URL module per area."""

from django.urls import include, path

urlpatterns = [
    path("", include("loopcrm.improvement.urls_charts")),
    path("", include("loopcrm.improvement.urls_cycles")),
    path("", include("loopcrm.improvement.urls_diagrams")),
]
