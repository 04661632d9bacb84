"""Pages (thin), one module per area; each module has its own urlpatterns."""
