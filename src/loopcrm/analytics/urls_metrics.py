"""Page URLs: metrics."""

urlpatterns: list = []
