"""Pages of the loyalty programme; their URL names join the "web" namespace (web:loyalty_programmes…)."""

from django.urls import path

from loopcrm.loyalty import views

urlpatterns = [
    path("loyalty/", views.programme_list, name="loyalty_programmes"),
    path("loyalty/programmes/<int:programme_id>/", views.programme_detail, name="loyalty_programme"),
    path("loyalty/members/enrol/", views.member_enrol, name="loyalty_enrol"),
    path("loyalty/members/<int:member_id>/", views.member_detail, name="loyalty_member"),
    path("loyalty/members/<int:member_id>/statement/", views.member_statement, name="loyalty_statement"),
    path("loyalty/members/<int:member_id>/redeem/", views.member_redeem, name="loyalty_redeem"),
    path("loyalty/members/<int:member_id>/adjust/", views.member_adjust, name="loyalty_adjust"),
]
