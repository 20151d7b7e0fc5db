# Why it works: (b): the dead worker renews nothing, so its lease runs out and a reaper requeues
# the run.
# The common wrong approach: (a): `SIGKILL` cannot be caught, so no code of the dead process
# runs.

t2 = "b"
