"""Analytics pages (in the "web" namespace): one URL module per area."""

from django.urls import include, path

urlpatterns = [
    path("", include("loopcrm.analytics.urls_metrics")),
    path("", include("loopcrm.analytics.urls_mining")),
    path("", include("loopcrm.analytics.urls_journey")),
]
