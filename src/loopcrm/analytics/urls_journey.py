"""Page URLs: journey."""

from django.urls import path

from loopcrm.analytics.views import journey

urlpatterns = [
    path("analytics/journey/", journey.journey_map, name="journey_map"),
]
