"""Page URLs: charts."""

urlpatterns: list = []
