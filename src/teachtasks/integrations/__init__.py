"""Integrations: teachtasks definitions running on other engines.

Each integration is its own module and imports its engine only when you
import it, so ``import teachtasks`` never needs them:

* ``teachtasks.integrations.celery``: run an unchanged ``TaskDefinition`` as a
  Celery task on real worker processes (Redis as broker and result backend),
  and start a local Redis and local workers for the course.
"""
