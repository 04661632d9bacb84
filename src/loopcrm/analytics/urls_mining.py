"""Page URLs: process mining."""

from django.urls import path

from loopcrm.analytics.views import mining

urlpatterns = [
    path("analytics/process-map/", mining.process_map, name="process_map"),
]
