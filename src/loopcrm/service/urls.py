"""Pages of the service desk; their URL names join the "web" namespace."""

from loopcrm.service.views import config, intake, workbench

urlpatterns = [*workbench.urlpatterns, *config.urlpatterns, *intake.urlpatterns]
