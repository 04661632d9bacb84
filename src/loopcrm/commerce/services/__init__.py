"""Writes on products and orders: the one place their business rules live.

Money is Decimal with a currency and never passes through float arithmetic. The catalogue's rules
are in `catalogue`, the order's (lines, totals, numbers, lifecycle) in `orders`, and what both
share (money, currencies, times, who may write) in `rules`.
"""

from loopcrm.commerce.services.catalogue import (
    PRODUCT_FIELDS,
    create_category,
    create_product,
    update_category,
    update_product,
    validate_category,
    validate_product,
)
from loopcrm.commerce.services.orders import (
    MAX_LINES,
    MAX_QUANTITY,
    TRANSITIONS,
    change_order_status,
    create_order,
)
from loopcrm.commerce.services.rules import (
    CLOCK_SKEW,
    currency_code,
    moment,
    money,
    require_customer_change,
)

__all__ = [
    "CLOCK_SKEW", "MAX_LINES", "MAX_QUANTITY", "PRODUCT_FIELDS", "TRANSITIONS", "change_order_status",
    "create_category", "create_order", "create_product", "currency_code", "moment", "money",
    "require_customer_change", "update_category", "update_product", "validate_category", "validate_product",
]
