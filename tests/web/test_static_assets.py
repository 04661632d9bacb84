"""Front-end libraries shipped inside Python packages are served as our own static files."""

from django.contrib.staticfiles import finders


def test_plotly_is_found_in_the_installed_package():
    found = finders.find("vendor/plotly.min.js")
    assert found and found.endswith("plotly.min.js")
    assert finders.find("vendor/not-shipped.js") is None


def test_plotly_is_served_to_a_page(client):
    response = client.get("/static/vendor/plotly.min.js")
    assert response.status_code == 200
    assert b"plotly" in b"".join(response.streaming_content)[:2000].lower()
