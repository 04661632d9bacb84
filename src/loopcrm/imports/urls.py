"""Pages of import and export; their URL names join the "web" namespace."""

urlpatterns: list = []
