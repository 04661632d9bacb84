"""Every page URL lives in the "web" namespace: the shell's own pages and each domain's pages."""

from django.contrib.auth import views as auth_views
from django.urls import include, path

from loopcrm.web import views

app_name = "web"

urlpatterns = [
    path("", views.home, name="home"),
    # Each domain's pages, with their full paths; their URL names join this namespace
    # (web:customer_list, web:customer_detail, web:order_list…).
    path("", include("loopcrm.customers.urls")),
    path("", include("loopcrm.overview.urls")),
    path("", include("loopcrm.interactions.urls")),
    path("", include("loopcrm.commerce.urls")),
    path("", include("loopcrm.service.urls")),
    path("", include("loopcrm.feedback.urls")),
    path("", include("loopcrm.value.urls")),
    path("", include("loopcrm.loyalty.urls")),
    path("", include("loopcrm.imports.urls")),
    path("", include("loopcrm.analytics.urls")),
    path("", include("loopcrm.improvement.urls")),
]

# Sign-in pages live outside the "web" namespace so LOGIN_URL = "login" works everywhere.
auth_urlpatterns = [
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
]
