"""Pages of import and export; their URL names join the "web" namespace."""

from django.urls import path

from loopcrm.imports import views

urlpatterns = [
    path("imports/", views.import_list, name="import_list"),
    path("imports/new/", views.import_new, name="import_new"),
    path("imports/<int:job_id>/", views.import_detail, name="import_detail"),
    path("imports/<int:job_id>/mapping/", views.import_mapping, name="import_mapping"),
    path("imports/<int:job_id>/commit/", views.import_commit, name="import_commit"),
    path("imports/<int:job_id>/cancel/", views.import_cancel, name="import_cancel"),
    path("imports/<int:job_id>/rollback/", views.import_rollback, name="import_rollback"),
    path("imports/<int:job_id>/report.<str:fmt>", views.import_report, name="import_report"),
    path("imports/<int:job_id>/rejected.csv", views.import_rejected, name="import_rejected"),
    path("exports/<str:what>/", views.export_list, name="export"),
]
