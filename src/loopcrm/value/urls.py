"""Pages of customer value; their URL names join the "web" namespace (web:value_dashboard, web:segment_list…)."""

from django.urls import path

from loopcrm.value import views

urlpatterns = [
    path("value/", views.value_dashboard, name="value_dashboard"),
    path("value/recompute/", views.value_recompute, name="value_recompute"),
    path("segments/", views.segment_list, name="segment_list"),
    path("segments/new/", views.segment_builder, name="segment_builder"),
    path("segments/preview/", views.segment_preview, name="segment_preview"),
    path("segments/row/", views.segment_row, name="segment_row"),
    path("segments/<int:segment_id>/", views.segment_detail, name="segment_detail"),
    path("segments/<int:segment_id>/delete/", views.segment_delete, name="segment_delete"),
    path("customers/<int:customer_id>/value/", views.customer_value_panel, name="customer_value_panel"),
]
