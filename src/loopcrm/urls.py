from django.contrib import admin
from django.urls import include, path

from loopcrm.api import api
from loopcrm.health import healthz
from loopcrm.web.urls import auth_urlpatterns
from loopcrm.web.views import set_language

admin.site.site_header = "LoopCRM"
admin.site.site_title = "LoopCRM"

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("api/", api.urls),
    path("admin/", admin.site.urls),
    # Django's language switch, wrapped so that a signed-in user's choice is saved on their account.
    path("i18n/setlang/", set_language, name="set_language"),
    path("", include("loopcrm.web.urls")),
    *auth_urlpatterns,
]
