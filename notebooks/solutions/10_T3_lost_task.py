# Why it works: (a): late acks keep the message until the task ends; `reject_on_worker_lost`
# gives it back when the process dies.
# The common wrong approach: (d): by default the message is acknowledged before the task runs,
# so it is lost with its worker.

t3 = "a"
