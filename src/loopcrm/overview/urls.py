"""The customer 360° page and its personal-data download, included into the "web" namespace by loopcrm.web.urls."""

from django.urls import path

from loopcrm.overview import views

urlpatterns = [
    path("customers/<int:customer_id>/", views.customer_detail, name="customer_detail"),
    path("customers/<int:customer_id>/personal-data/", views.customer_personal_data, name="customer_personal_data"),
    path("customers/<int:customer_id>/erase/", views.customer_erase, name="customer_erase"),
    path("customers/<int:customer_id>/legal-hold/", views.customer_legal_hold, name="customer_legal_hold"),
    path("privacy/retention/", views.retention_rules, name="retention_rules"),
]
