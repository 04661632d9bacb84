"""Pages of voice of the customer; their URL names join the "web" namespace."""

urlpatterns: list = []
