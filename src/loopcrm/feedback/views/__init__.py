"""Pages of voice of the customer: the public answer page and the staff pages (thin)."""
