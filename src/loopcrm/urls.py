from django.contrib import admin
from django.urls import include, path

from loopcrm.api import api
from loopcrm.health import healthz
from loopcrm.web.urls import auth_urlpatterns

admin.site.site_header = "LoopCRM"
admin.site.site_title = "LoopCRM"

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("api/", api.urls),
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include("loopcrm.web.urls")),
    *auth_urlpatterns,
]
