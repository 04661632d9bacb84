"""Page URLs: diagrams."""

urlpatterns: list = []
