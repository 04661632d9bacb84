"""Template context shared by every page: the navigation shell."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

# (url name, label, icon). Later domains add their entries here.
NAVIGATION = [
    ("web:home", _("Home"), "home"),
    ("web:customer_list", _("Customers"), "users"),
    ("web:order_list", _("Orders"), "cart"),
]


def navigation(request):
    return {"navigation": NAVIGATION}
