from django.apps import AppConfig
from django.db.models.signals import pre_delete
from django.utils.translation import gettext_lazy as _


def _uncount_response(sender, instance, **kwargs) -> None:
    from loopcrm.feedback.services import rollup

    rollup.uncount_deleted_response(instance)


def _uncount_invitation(sender, instance, **kwargs) -> None:
    from loopcrm.feedback.services import rollup

    rollup.uncount_deleted_invitation(instance)


class FeedbackConfig(AppConfig):
    name = "loopcrm.feedback"
    label = "feedback"
    verbose_name = _("Voice of the customer")

    def ready(self) -> None:
        # Answers and invitations disappear mostly by cascade from other apps (a customer deleted or erased,
        # an import undone, the admin): a pre_delete receiver is the one hook every such path goes through
        # (Django's collector sends it inside the deleting transaction, also for QuerySet.delete()), so the
        # daily roll-up is counted down in the same transaction. Not business flow: derived counters, like an
        # index; the nightly check repairs anything that bypassed the ORM.
        from loopcrm.feedback import segment_fields, ticket_panel
        from loopcrm.feedback.models import Invitation, Response

        segment_fields.register()  # satisfaction as conditions of value's segment rules
        ticket_panel.register()  # the ticket page's satisfaction card
        pre_delete.connect(_uncount_response, sender=Response, dispatch_uid="feedback_uncount_response")
        pre_delete.connect(_uncount_invitation, sender=Invitation, dispatch_uid="feedback_uncount_invitation")
