# Why it works: PENDING: the result backend has no key for that id, and Celery reads no key as
# `PENDING`.
# The common wrong approach: `"FAILURE"`: Celery cannot tell an unknown id from a waiting one.

t2 = "PENDING"
