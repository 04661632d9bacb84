"""Pages of loyalty programme; their URL names join the "web" namespace."""

urlpatterns: list = []
