# Why it works: (b): `ctx.state` belongs to the run and is kept, as JSON, from one iteration to
# the next.
# The common wrong approach: (c): a local variable ends with the function call, so every
# iteration would start from the top.

t1 = "b"
