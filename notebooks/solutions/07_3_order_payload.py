# Why it works: JSON holds text, numbers, lists and dicts: a datetime becomes ISO 8601 text, a
# Decimal text with every digit, a set a sorted list.
# The common wrong approach: `float(total)` (loses cents: 0.1 + 0.2), `list(tags)` (a different
# order on each run), or changing the order passed in.

def order_payload(order):
    return {
        "id": order["id"],
        "placed_at": order["placed_at"].isoformat(),  # a datetime -> ISO 8601 text
        "total": str(order["total"]),                 # a Decimal -> text, every digit kept
        "tags": sorted(order["tags"]),                # a set -> a list, always in one order
    }
