"""The customer 360° page, included into the "web" namespace by loopcrm.web.urls."""

from django.urls import path

from loopcrm.overview import views

urlpatterns = [
    path("customers/<int:customer_id>/", views.customer_detail, name="customer_detail"),
]
