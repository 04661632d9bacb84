"""Order pages, included into the "web" namespace by loopcrm.web.urls."""

from django.urls import path

from loopcrm.commerce import views

urlpatterns = [
    path("orders/", views.order_list, name="order_list"),
    path("orders/<int:order_id>/", views.order_detail, name="order_detail"),
]
