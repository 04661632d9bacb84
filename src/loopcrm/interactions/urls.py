"""Interaction pages, included into the "web" namespace by loopcrm.web.urls."""

from django.urls import path

from loopcrm.interactions import views

urlpatterns = [
    path("interactions/", views.interaction_list, name="interaction_list"),
    path("customers/<int:customer_id>/interactions/", views.customer_timeline, name="customer_timeline"),
    path("customers/<int:customer_id>/interactions/new/", views.interaction_create, name="interaction_create"),
]
