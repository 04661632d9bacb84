"""Page URLs: metrics (the quality dashboard and the registry's metrics)."""

from django.urls import path

from loopcrm.analytics.views import metrics

urlpatterns = [
    path("quality/", metrics.quality_dashboard, name="quality_dashboard"),
    path("quality/metrics/", metrics.metric_list, name="metric_list"),
    path("quality/metrics/<slug:key>/", metrics.metric_detail, name="metric_detail"),
]
