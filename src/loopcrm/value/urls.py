"""Pages of customer value; their URL names join the "web" namespace."""

urlpatterns: list = []
