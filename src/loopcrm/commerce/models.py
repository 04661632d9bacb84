"""What customers buy: products in categories, orders and their lines. Money is Decimal + currency."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from loopcrm.core.models import TimeStampedModel


class ProductCategory(models.Model):
    name = models.CharField(_("name"), max_length=100)
    code = models.SlugField(_("code"), max_length=50, unique=True)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children", verbose_name=_("parent")
    )

    class Meta:
        verbose_name = _("product category")
        verbose_name_plural = _("product categories")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Product(TimeStampedModel):
    sku = models.CharField(_("SKU"), max_length=64, unique=True)
    name = models.CharField(_("name"), max_length=200)
    category = models.ForeignKey(
        ProductCategory, null=True, blank=True, on_delete=models.PROTECT, related_name="products",
        verbose_name=_("category"),
    )
    price = models.DecimalField(_("price"), max_digits=12, decimal_places=2)
    currency = models.CharField(_("currency"), max_length=3, default="CNY")
    is_active = models.BooleanField(_("on sale"), default=True)
    description = models.TextField(_("description"), blank=True)

    class Meta:
        verbose_name = _("product")
        verbose_name_plural = _("products")
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.sku})"


class OrderChannel(models.TextChoices):
    ONLINE_STORE = "online_store", _("Online store")
    RETAIL_STORE = "retail_store", _("Retail store")
    PHONE = "phone", _("Phone")
    SALES_REP = "sales_rep", _("Sales representative")
    MARKETPLACE = "marketplace", _("Marketplace")
    WECHAT = "wechat", _("WeChat")
    OTHER = "other", _("Other")


class Order(TimeStampedModel):
    """A purchase by a customer, with its lines. Its customer decides who may see it."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        PAID = "paid", _("Paid")
        SHIPPED = "shipped", _("Shipped")
        DELIVERED = "delivered", _("Delivered")
        CANCELLED = "cancelled", _("Cancelled")
        RETURNED = "returned", _("Returned")

    number = models.CharField(_("order number"), max_length=64, unique=True)
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.PROTECT, related_name="orders", verbose_name=_("customer")
    )
    channel = models.CharField(_("channel"), max_length=20, choices=OrderChannel.choices, default=OrderChannel.OTHER)
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.PENDING)
    placed_at = models.DateTimeField(_("placed"))
    delivered_at = models.DateTimeField(_("delivered"), null=True, blank=True)
    currency = models.CharField(_("currency"), max_length=3, default="CNY")
    total = models.DecimalField(_("total"), max_digits=14, decimal_places=2, default=0)
    notes = models.TextField(_("notes"), blank=True)
    version = models.PositiveIntegerField(_("version"), default=1)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
    )

    class Meta:
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        indexes = [
            models.Index(fields=["customer", "-placed_at"], name="order_customer_idx"),
            models.Index(fields=["-placed_at", "-id"], name="order_placed_idx"),
            models.Index(fields=["status", "-placed_at"], name="order_status_idx"),
            models.Index(fields=["channel", "-placed_at"], name="order_channel_idx"),
            # Orders written since a moment (value.purchases: whose purchase summary is no longer current).
            models.Index(fields=["updated_at"], name="order_updated_idx"),
        ]

    def __str__(self) -> str:
        return self.number


class OrderLine(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines", verbose_name=_("order"))
    product = models.ForeignKey(
        Product, null=True, blank=True, on_delete=models.PROTECT, related_name="order_lines", verbose_name=_("product")
    )
    description = models.CharField(_("description"), max_length=200, blank=True)
    quantity = models.PositiveIntegerField(_("quantity"), default=1)
    unit_price = models.DecimalField(_("unit price"), max_digits=12, decimal_places=2)
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2)

    class Meta:
        verbose_name = _("order line")
        verbose_name_plural = _("order lines")
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.description or self.product_id}"
