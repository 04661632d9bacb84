"""What LoopCRM knows about a customer's value, the saved segments, and the cross-sell rules.

Rows of CustomerValue and ProductAssociation are *computed* (by services.recompute_all), never typed
in; a Segment is a user's saved rule over customers.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Tier(models.TextChoices):
    HIGH = "high", _("High value")
    MEDIUM = "medium", _("Medium value")
    LOW = "low", _("Low value")


class Stage(models.TextChoices):
    PROSPECT = "prospect", _("Prospect")
    NEW = "new", _("New")
    ACTIVE = "active", _("Active")
    AT_RISK = "at_risk", _("At risk")
    CHURNED = "churned", _("Churned")
    WON_BACK = "won_back", _("Won back")


class RfmSegment(models.TextChoices):
    CHAMPIONS = "champions", _("Champions")
    LOYAL = "loyal", _("Loyal")
    POTENTIAL_LOYALIST = "potential_loyalist", _("Potential loyalist")
    NEW = "new", _("New customers")
    PROMISING = "promising", _("Promising")
    NEED_ATTENTION = "need_attention", _("Need attention")
    ABOUT_TO_SLEEP = "about_to_sleep", _("About to sleep")
    AT_RISK = "at_risk", _("At risk")
    CANT_LOSE = "cant_lose", _("Can't lose")
    HIBERNATING = "hibernating", _("Hibernating")
    LOST = "lost", _("Lost")


class CustomerValue(models.Model):
    """A customer's value as of the last recompute: RFM, tier, CLV, P(alive), lifecycle stage.

    One row per live customer. Scores and predictions are empty for customers without a counted
    order in the window (prospects, or buyers from before it).
    """

    # Computed from orders, so when two valued customers merge the duplicate's row is dropped, not
    # moved: the next recompute values the kept customer with both histories (customers.merge_customers).
    merge_drops_duplicate = True

    customer = models.OneToOneField("customers.Customer", on_delete=models.CASCADE, primary_key=True,
                                    related_name="value", verbose_name=_("customer"))
    recency_days = models.IntegerField(_("days since the last order"), null=True, blank=True)
    frequency = models.IntegerField(_("orders in the window"), default=0)
    monetary = models.DecimalField(_("spend in the window"), max_digits=16, decimal_places=2, default=0)
    r_score = models.PositiveSmallIntegerField(_("R score"), null=True, blank=True)
    f_score = models.PositiveSmallIntegerField(_("F score"), null=True, blank=True)
    m_score = models.PositiveSmallIntegerField(_("M score"), null=True, blank=True)
    segment = models.CharField(_("RFM segment"), max_length=20, choices=RfmSegment.choices, blank=True)
    tier = models.CharField(_("value tier"), max_length=10, choices=Tier.choices, blank=True)
    vip_suggested = models.BooleanField(_("suggested VIP"), default=False)
    clv = models.DecimalField(_("predicted CLV"), max_digits=16, decimal_places=2, null=True, blank=True)
    p_alive = models.FloatField(_("P(alive)"), null=True, blank=True)
    expected_purchases = models.FloatField(_("expected purchases"), null=True, blank=True)
    stage = models.CharField(_("lifecycle stage"), max_length=10, choices=Stage.choices, default=Stage.PROSPECT)
    first_order_at = models.DateTimeField(_("first order"), null=True, blank=True)
    last_order_at = models.DateTimeField(_("last order"), null=True, blank=True)
    lifetime_orders = models.IntegerField(_("orders ever"), default=0)
    lifetime_spend = models.DecimalField(_("spend ever"), max_digits=16, decimal_places=2, default=0)
    computed_at = models.DateTimeField(_("computed"))

    class Meta:
        verbose_name = _("customer value")
        verbose_name_plural = _("customer values")
        # For segment counts on this table alone (value.segments.compile_value_rule): each common test is one
        # index scan, and after the recompute's VACUUM a count reads no table page. Stage with tier answers
        # "at risk and high value" in the index; rebuilt after each recompute's load (value.bulk). Tier and RFM
        # segment carry the customer id (PostgreSQL INCLUDE) so that joining them with a tag, a purchase or a
        # customer field reads ids from the index, not 13,000 scattered table pages for "high tier".
        indexes = [
            models.Index(fields=["tier"], include=["customer"], name="value_tier_idx"),
            models.Index(fields=["stage", "tier"], name="value_stage_tier_idx"),
            models.Index(fields=["segment"], include=["customer"], name="value_segment_idx"),
            models.Index(fields=["r_score", "f_score", "m_score"], name="value_rfm_idx"),
            models.Index(fields=["clv"], name="value_clv_idx"),
            models.Index(fields=["p_alive"], name="value_p_alive_idx"),
            models.Index(fields=["customer"], condition=models.Q(vip_suggested=True), name="value_vip_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.customer_id}: {self.tier or '-'} / {self.stage}"


class LastPurchase(models.Model):
    """When a customer last bought anything (no category) or something in a product category, counting the
    orders placed up to the last recompute's `orders_until` as they stood then.

    Computed, like CustomerValue. The segment counts "ordered in the last N days" and "bought category X
    in the last N days" read it for the customers whose orders did not change since, and ask the orders
    about the others (value.purchases).
    """

    # Derived from orders: a merge drops the duplicate's rows when the kept customer has its own, and the
    # counts ask the orders about a customer who took in a duplicate since the recompute.
    merge_drops_duplicate = True

    # No single-column indexes: the unique pair leads with the customer, the count index with the category.
    # A named reverse relation: the customers' merge moves or drops the rows of every relation it can see.
    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, related_name="last_purchases",
                                 db_index=False, verbose_name=_("customer"))
    category = models.ForeignKey("commerce.ProductCategory", null=True, blank=True, on_delete=models.CASCADE,
                                 related_name="+", db_index=False, verbose_name=_("category"))
    last_at = models.DateTimeField(_("last bought"))

    class Meta:
        verbose_name = _("last purchase")
        verbose_name_plural = _("last purchases")
        constraints = [models.UniqueConstraint(fields=["customer", "category"], name="value_lastbuy_uniq")]
        # A count is one index-only range scan per category (the customer id rides in the index).
        indexes = [models.Index(fields=["category", "last_at"], include=["customer"], name="value_lastbuy_idx")]

    def __str__(self) -> str:
        return f"{self.customer_id} / {self.category_id or '*'}: {self.last_at:%Y-%m-%d}"


class ValueRun(models.Model):
    """One recompute: when, by whom, how many customers, and the fitted model parameters."""

    started_at = models.DateTimeField(_("started"))
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    customers = models.IntegerField(_("customers"), default=0)
    buyers = models.IntegerField(_("buyers"), default=0)
    parameters = models.JSONField(_("model parameters"), default=dict, blank=True)
    # The `at` the orders were read up to; empty for runs from before the purchase summary existed.
    orders_until = models.DateTimeField(_("orders read up to"), null=True, blank=True)
    # {product id: category id} as the purchase summary files purchases (value.purchases); empty before it.
    purchase_categories = models.JSONField(_("categories of the purchase summary"), null=True, blank=True)
    note = models.CharField(_("note"), max_length=500, blank=True)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                           related_name="+", verbose_name=_("by"))

    class Meta:
        verbose_name = _("value recompute")
        verbose_name_plural = _("value recomputes")
        ordering = ["-started_at", "-id"]

    def __str__(self) -> str:
        return f"{self.started_at:%Y-%m-%d %H:%M}: {self.customers}"


class ProductAssociation(models.Model):
    """A cross-sell rule "customers who bought `antecedent` also bought `consequent`", from co-purchases.

    A row with antecedent = consequent carries the product's popularity (pair_count = its buyers).
    """

    antecedent = models.ForeignKey("commerce.Product", on_delete=models.CASCADE, related_name="+",
                                   verbose_name=_("bought"))
    consequent = models.ForeignKey("commerce.Product", on_delete=models.CASCADE, related_name="+",
                                   verbose_name=_("also bought"))
    pair_count = models.IntegerField(_("customers who bought both"))
    support = models.FloatField(_("support"))
    confidence = models.FloatField(_("confidence"))
    lift = models.FloatField(_("lift"))
    computed_at = models.DateTimeField(_("computed"))

    class Meta:
        verbose_name = _("product association")
        verbose_name_plural = _("product associations")
        constraints = [models.UniqueConstraint(fields=["antecedent", "consequent"], name="value_assoc_pair_uniq")]
        indexes = [models.Index(fields=["antecedent", "-confidence"], name="value_assoc_best_idx")]

    def __str__(self) -> str:
        return f"{self.antecedent_id} → {self.consequent_id}"


class Segment(models.Model):
    """A saved rule over customers (JSON, see value.segments), used by campaigns, surveys and exports."""

    name = models.CharField(_("name"), max_length=100)
    description = models.CharField(_("description"), max_length=500, blank=True)
    rule = models.JSONField(_("rule"))
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="segments", verbose_name=_("owner"))
    department = models.ForeignKey("accounts.Department", null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+", verbose_name=_("department"))
    version = models.PositiveIntegerField(_("version"), default=1)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("segment")
        verbose_name_plural = _("segments")
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name
