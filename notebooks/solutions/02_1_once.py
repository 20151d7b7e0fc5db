# Why it works: the wrapper unsubscribes itself before it calls the handler, so a second emit
# finds it gone; it keeps the function `subscribe` returned, and returns it so the caller can
# cancel early.
# The common wrong approach: calling the handler inside `once` (it must wait for an emit), or a
# flag that skips later calls but stays subscribed forever.

def once(bus, event, handler):
    """Subscribe handler to event so that it is called for the first emit only."""

    def wrapper(name, payload):
        unsubscribe()  # first: stop hearing this event...
        return handler(name, payload)  # ...then react, this one time

    unsubscribe = bus.subscribe(event, wrapper)
    return unsubscribe
