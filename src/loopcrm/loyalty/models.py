"""Loyalty programmes: membership tiers, memberships and the append-only points ledger.

The ledger (`PointsEntry`) is the truth: a membership's `balance` is a cache of the sum of its
entries, written in the same transaction as each entry while the membership row is locked. Points
are whole numbers. Entries are never changed or deleted (the model, its queryset and the admin
refuse; CHECK constraints hold the signs and keep every balance at or above zero).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from loopcrm.core.models import TimeStampedModel


class Programme(TimeStampedModel):
    """A loyalty programme: how many points a unit of money earns, what a survey answer earns, when points expire."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    description = models.TextField(_("description"), blank=True)
    currency = models.CharField(_("currency"), max_length=3, default="CNY")
    points_per_unit = models.DecimalField(
        _("points per currency unit"), max_digits=10, decimal_places=4, default=1,
        help_text=_("Points earned for each unit of money spent (before the tier's multiplier)."),
    )
    survey_points = models.PositiveIntegerField(
        _("points per survey answered"), default=0, help_text=_("Before the tier's multiplier; 0 gives none."),
    )
    expiry_months = models.PositiveSmallIntegerField(
        _("points expire after (months)"), default=0, help_text=_("0: points never expire."),
    )
    is_active = models.BooleanField(_("active"), default=True)
    version = models.PositiveIntegerField(_("version"), default=1)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
    )

    class Meta:
        verbose_name = _("loyalty programme")
        verbose_name_plural = _("loyalty programmes")
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(condition=Q(points_per_unit__gte=0), name="loyalty_programme_rate_gte_0"),
        ]

    def __str__(self) -> str:
        return self.name


class MembershipTier(models.Model):
    """A rung of a programme (银卡 Silver, 金卡 Gold…): how a member qualifies and what it gives.

    A member qualifies for a tier when their points earned, or their spend, over the tier's rolling
    window reaches its threshold; the lowest rank (threshold 0) is where everyone starts. Upgrades
    take effect when found; a downgrade only after the member has stayed below for `grace_months`.
    """

    class Basis(models.TextChoices):
        POINTS = "points", _("Points earned")
        SPEND = "spend", _("Spend")

    programme = models.ForeignKey(Programme, on_delete=models.CASCADE, related_name="tiers",
                                  verbose_name=_("programme"))
    name = models.CharField(_("name"), max_length=50)
    rank = models.PositiveSmallIntegerField(_("rank"), help_text=_("0 is the entry tier; higher is better."))
    qualify_by = models.CharField(_("qualify by"), max_length=10, choices=Basis.choices, default=Basis.SPEND)
    threshold = models.DecimalField(_("threshold"), max_digits=14, decimal_places=2, default=0)
    window_months = models.PositiveSmallIntegerField(_("rolling window (months)"), default=12)
    grace_months = models.PositiveSmallIntegerField(_("downgrade grace (months)"), default=3)
    points_multiplier = models.DecimalField(_("points multiplier"), max_digits=5, decimal_places=2, default=1)
    priority_boost = models.PositiveSmallIntegerField(
        _("service priority boost"), default=0, help_text=_("Added to a ticket's routing priority (0–100)."),
    )
    dedicated_agent = models.BooleanField(_("dedicated agent"), default=False)

    class Meta:
        verbose_name = _("membership tier")
        verbose_name_plural = _("membership tiers")
        ordering = ["programme", "rank"]
        constraints = [
            models.UniqueConstraint(fields=["programme", "rank"], name="loyalty_tier_unique_rank"),
            models.UniqueConstraint(fields=["programme", "name"], name="loyalty_tier_unique_name"),
            models.CheckConstraint(condition=Q(threshold__gte=0), name="loyalty_tier_threshold_gte_0"),
            models.CheckConstraint(condition=Q(points_multiplier__gte=0), name="loyalty_tier_multiplier_gte_0"),
        ]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    """A customer enrolled in a programme: their tier and their points balance (a cache of the ledger)."""

    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, related_name="memberships",
                                 verbose_name=_("customer"))
    programme = models.ForeignKey(Programme, on_delete=models.PROTECT, related_name="memberships",
                                  verbose_name=_("programme"))
    tier = models.ForeignKey(MembershipTier, on_delete=models.PROTECT, related_name="members",
                             verbose_name=_("tier"))
    joined_at = models.DateTimeField(_("joined"))
    tier_since = models.DateTimeField(_("in this tier since"))
    # When the member was first found below their tier's threshold; a downgrade waits for the grace period.
    below_tier_since = models.DateTimeField(_("below the tier since"), null=True, blank=True)
    tier_evaluated_at = models.DateTimeField(_("tier evaluated"), null=True, blank=True)
    balance = models.IntegerField(_("points balance"), default=0)
    version = models.PositiveIntegerField(_("version"), default=1)

    class Meta:
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        constraints = [
            models.UniqueConstraint(fields=["customer", "programme"], name="loyalty_membership_unique"),
            models.CheckConstraint(condition=Q(balance__gte=0), name="loyalty_membership_balance_gte_0"),
        ]
        indexes = [
            models.Index(fields=["programme", "tier"], name="loyalty_member_tier_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.customer_id} @ {self.programme_id}"


class AppendOnly(models.QuerySet):
    """A queryset that refuses to change or delete rows: the ledger only grows."""

    def update(self, **kwargs):
        raise TypeError("The points ledger is append-only: post a correcting entry instead of updating.")

    def delete(self):
        raise TypeError("The points ledger is append-only: post a correcting entry instead of deleting.")


class PointsEntry(models.Model):
    """One movement of points: earned, redeemed, expired or adjusted; signed, with who, why and a key.

    The idempotency key is unique per programme: posting the same key again returns this entry and
    adds nothing. `balance_after` is the member's balance once this entry was applied.
    """

    class Kind(models.TextChoices):
        EARN = "earn", _("Earned")
        REDEEM = "redeem", _("Redeemed")
        EXPIRE = "expire", _("Expired")
        ADJUST = "adjust", _("Adjusted")

    programme = models.ForeignKey(Programme, on_delete=models.PROTECT, related_name="+", verbose_name=_("programme"))
    membership = models.ForeignKey(Membership, on_delete=models.PROTECT, related_name="entries",
                                   verbose_name=_("membership"))
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    amount = models.IntegerField(_("points"))
    balance_after = models.IntegerField(_("balance after"))
    reason = models.CharField(_("reason"), max_length=200, blank=True)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                           related_name="+", verbose_name=_("by"))
    order = models.ForeignKey("commerce.Order", null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                              verbose_name=_("order"))
    spend = models.DecimalField(_("spend"), max_digits=14, decimal_places=2, null=True, blank=True)
    survey_ref = models.CharField(_("survey response"), max_length=64, blank=True)
    idempotency_key = models.CharField(_("idempotency key"), max_length=120)
    created_at = models.DateTimeField(_("when"), default=timezone.now)

    objects = AppendOnly.as_manager()

    class Meta:
        verbose_name = _("points entry")
        verbose_name_plural = _("points ledger")
        constraints = [
            models.UniqueConstraint(fields=["programme", "idempotency_key"], name="loyalty_entry_unique_key"),
            models.CheckConstraint(
                condition=(Q(kind="earn", amount__gt=0) | Q(kind="redeem", amount__lt=0)
                           | Q(kind="expire", amount__lt=0) | (Q(kind="adjust") & ~Q(amount=0))),
                name="loyalty_entry_sign_by_kind",
            ),
            models.CheckConstraint(condition=Q(balance_after__gte=0), name="loyalty_entry_balance_gte_0"),
        ]
        indexes = [
            models.Index(fields=["membership", "created_at", "id"], name="loyalty_entry_member_idx"),
            models.Index(fields=["order"], name="loyalty_entry_order_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.amount:+d}"

    def save(self, *args, **kwargs) -> None:
        if not self._state.adding:
            raise TypeError("The points ledger is append-only: post a correcting entry instead of updating.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise TypeError("The points ledger is append-only: post a correcting entry instead of deleting.")


class TierChange(models.Model):
    """A member moved between tiers: upgrade, downgrade (after the grace period) or set by hand."""

    class Kind(models.TextChoices):
        ENROL = "enrol", _("Enrolled")
        UPGRADE = "upgrade", _("Upgrade")
        DOWNGRADE = "downgrade", _("Downgrade")

    membership = models.ForeignKey(Membership, on_delete=models.CASCADE, related_name="tier_changes")
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    from_tier = models.ForeignKey(MembershipTier, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    to_tier = models.ForeignKey(MembershipTier, on_delete=models.PROTECT, related_name="+")
    qualifying_value = models.DecimalField(_("qualifying value"), max_digits=16, decimal_places=2, default=0)
    at = models.DateTimeField(_("when"))
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                           related_name="+")

    class Meta:
        verbose_name = _("tier change")
        verbose_name_plural = _("tier changes")
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["membership", "-at"], name="loyalty_tierchange_idx")]

    def __str__(self) -> str:
        return f"{self.kind} → {self.to_tier_id}"
