# Why it works: one rule per field, each raising `ValueError` with the reason, so the import
# reports the bad row and goes on; a new dict with typed values is returned.
# The common wrong approach: `float(row["price"])` without a pattern (accepts "nan" and "1e3"),
# raising another exception type (the import catches ValueError only), or editing the row passed
# in.

import re

SKU = re.compile(r"[A-Z]{3}-[0-9]{3}")  # three capital letters, a dash, three digits
PRICE = re.compile(r"[0-9]+(\.[0-9]{1,2})?")  # digits, then at most 2 after the point
STOCK = re.compile(r"[0-9]+")  # a whole number, 0 or more


def validate_product(row):
    """One row of products.csv -> a clean product, or ValueError("why")."""
    sku = row["sku"].strip()
    if not SKU.fullmatch(sku):
        raise ValueError(f"sku {row['sku']!r} is not like MUG-001")
    name = row["name"].strip()
    if not name:
        raise ValueError("the name is empty")
    price_text = row["price"].strip()
    if not PRICE.fullmatch(price_text):
        raise ValueError(f"price {row['price']!r} is not a number with at most 2 decimals")
    price = float(price_text)
    if not 0 < price < 10_000:
        raise ValueError(f"price {price} is not between 0 and 10 000")
    stock_text = row["stock"].strip()
    if not STOCK.fullmatch(stock_text):
        raise ValueError(f"stock {row['stock']!r} is not a whole number, 0 or more")
    return {"sku": sku, "name": name, "price": price, "stock": int(stock_text)}
