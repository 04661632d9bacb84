"""Pages of the service desk; their URL names join the "web" namespace."""

from loopcrm.service.views import config, intake, sla, workbench

urlpatterns = [*workbench.urlpatterns, *config.urlpatterns, *sla.urlpatterns, *intake.urlpatterns]
