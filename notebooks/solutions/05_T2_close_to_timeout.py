# Why it works: (b): `continue_` ends this iteration in time and asks for another, which starts
# from the checkpoint.
# The common wrong approach: (a): `done` would leave the other 60 emails unsent.

t2 = "b"
