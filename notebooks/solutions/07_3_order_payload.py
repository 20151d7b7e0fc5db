def order_payload(order):
    return {
        "id": order["id"],
        "placed_at": order["placed_at"].isoformat(),  # a datetime -> ISO 8601 text
        "total": str(order["total"]),                 # a Decimal -> text, every digit kept
        "tags": sorted(order["tags"]),                # a set -> a list, always in one order
    }
