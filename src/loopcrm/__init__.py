"""LoopCRM: an open-source CRM that closes the loop of customer quality."""

__version__ = "0.1.0"
