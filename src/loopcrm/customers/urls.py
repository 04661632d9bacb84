"""Customer pages, included into the "web" namespace by loopcrm.web.urls (web:customer_list…)."""

from django.urls import path

from loopcrm.customers import views

urlpatterns = [
    path("customers/", views.customer_list, name="customer_list"),
    path("customers/new/", views.customer_create, name="customer_create"),
    path("customers/<int:customer_id>/edit/", views.customer_edit, name="customer_edit"),
    path("customers/<int:customer_id>/consents/new/", views.consent_create, name="consent_create"),
    path("customers/<int:customer_id>/contacts/new/", views.contact_create, name="contact_create"),
]
