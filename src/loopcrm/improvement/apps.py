from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ImprovementConfig(AppConfig):
    name = "loopcrm.improvement"
    label = "improvement"
    verbose_name = _("Improvement")

    def ready(self) -> None:
        # The quality dashboard (analytics, a lower layer) shows open signals and cycles in progress
        # through slots that this app fills.
        from loopcrm.analytics.metrics.dashboard import register_slot
        from loopcrm.improvement.queries.charts import open_signals_for
        from loopcrm.improvement.queries.cycles import active_cycles_for

        register_slot("signals", "improvement/_dashboard_signals.html",
                      lambda user: {"signals": open_signals_for(user, limit=8)})
        register_slot("cycles", "improvement/_dashboard_cycles.html",
                      lambda user: {"cycles": active_cycles_for(user)})
