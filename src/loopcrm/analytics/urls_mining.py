"""Page URLs: mining."""

urlpatterns: list = []
