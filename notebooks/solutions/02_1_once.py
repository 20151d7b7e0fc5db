def once(bus, event, handler):
    """Subscribe handler to event so that it is called for the first emit only."""

    def wrapper(name, payload):
        unsubscribe()  # first: stop hearing this event...
        return handler(name, payload)  # ...then react, this one time

    unsubscribe = bus.subscribe(event, wrapper)
    return unsubscribe
