"""Page URLs: journey."""

urlpatterns: list = []
