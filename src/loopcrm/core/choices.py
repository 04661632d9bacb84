"""Vocabularies shared by several domains (see shared/GLOSSARY.md for the words)."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Channel(models.TextChoices):
    PHONE = "phone", _("Phone")
    EMAIL = "email", _("Email")
    WEB_CHAT = "web_chat", _("Web chat")
    WEB_FORM = "web_form", _("Web form")
    WECHAT = "wechat", _("WeChat")
    VISIT = "visit", _("Visit")
    SMS = "sms", _("SMS")
    SOCIAL = "social", _("Social media")
    OTHER = "other", _("Other")


class JourneyStage(models.TextChoices):
    AWARENESS = "awareness", _("Awareness")
    CONSIDERATION = "consideration", _("Consideration")
    PURCHASE = "purchase", _("Purchase")
    DELIVERY = "delivery", _("Delivery")
    USE = "use", _("Use")
    SERVICE = "service", _("Service")
    LOYALTY = "loyalty", _("Loyalty")


class Touchpoint(models.TextChoices):
    WEBSITE = "website", _("Website")
    APP = "app", _("Mobile app")
    STORE = "store", _("Store")
    HOTLINE = "hotline", _("Hotline")
    DELIVERY = "delivery", _("Delivery")
    INSTALLATION = "installation", _("Installation")
    EMAIL = "email", _("Email")
    WECHAT = "wechat", _("WeChat")
    SOCIAL = "social", _("Social media")
    SALES_VISIT = "sales_visit", _("Sales visit")
    EVENT = "event", _("Event")
    OTHER = "other", _("Other")
