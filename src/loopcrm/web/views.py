"""Pages (thin): load through queries, validate with a form, call one service, render."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect


@login_required
def home(request):
    return redirect("web:customer_list")
