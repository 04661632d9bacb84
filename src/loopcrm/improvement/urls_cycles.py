"""Page URLs: cycles."""

urlpatterns: list = []
