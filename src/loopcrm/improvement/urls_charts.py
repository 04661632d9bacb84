"""Page URLs: control charts (control points) and the Pareto chart of complaint causes."""

from django.urls import path

from loopcrm.improvement.views import charts

urlpatterns: list = [
    path("improvement/charts/", charts.control_chart_list, name="control_chart_list"),
    path("improvement/charts/new/", charts.control_chart_new, name="control_chart_new"),
    path("improvement/charts/<int:chart_id>/", charts.control_chart_detail, name="control_chart_detail"),
    path("improvement/charts/<int:chart_id>/edit/", charts.control_chart_edit, name="control_chart_edit"),
    path("improvement/charts/<int:chart_id>/recompute/", charts.control_chart_recompute,
         name="control_chart_recompute"),
    path("improvement/charts/<int:chart_id>/signals/<int:signal_id>/<slug:action>/", charts.control_chart_signal,
         name="control_chart_signal"),
    path("improvement/pareto/", charts.pareto, name="pareto"),
]
