"""teachtasks: a small, real background-task engine, and the course that builds it.

The pieces, each in the module named after it:

* ``definition``: what a task is (``TaskDefinition``, ``@task``, ``RetryPolicy``)
* ``run``: one execution of it, its ``Status`` and the transition table, the
  lifecycle log
* ``lifecycle``: what each step of a run's life changes (claim, continue,
  retry, finish, abort, requeue), as pure functions every store applies
* ``events``: ``EventBus``, so that "something happened" starts work
* ``manager``: ``TaskManager``, the management API (trigger, emit, list, abort...)
* ``runner``: ``Runner``, the pool of workers that executes runs
* ``context`` / ``controller``: what a run sees, and how it steers itself
* ``clock``: ``RealClock`` and ``SimulatedClock``
* ``stores``: where runs live (``MemoryStore``, ``SQLiteStore``)
* ``errors``: every failure by name; ``checks``: the one number check at the edges
"""

from . import lifecycle
from .checks import check_number
from .clock import Clock, RealClock, SimulatedClock
from .context import Context, RunLogger, RunState
from .controller import Aborted, Continue, Controller, Done, Error, Response
from .definition import NO_RETRY, RetryPolicy, TaskDefinition, task
from .errors import (
    ConfigurationError,
    DefinitionInUseError,
    DuplicateDefinitionError,
    DuplicateRunIdError,
    IllegalTransitionError,
    InputValidationError,
    InvalidArgumentError,
    InvalidDefinitionError,
    LeaseLostError,
    MaxIterationsError,
    PayloadNotJSONError,
    RunNotFoundError,
    StoreError,
    TeachtasksError,
    TimeBudgetExceededError,
    TriggerRefusedError,
    UnknownDefinitionError,
)
from .events import EventBus
from .manager import Refusal, TaskManager, random_ids, sequential_ids
from .payload import check_json
from .run import (
    ACTIVE_STATUSES,
    FINAL_STATUSES,
    TRANSITIONS,
    LifecycleEntry,
    LogRecord,
    Run,
    Status,
    Step,
    can_transition,
    check_transition,
)
from .runner import Runner
from .simulation import Fault
from .stores import DefinitionRecord, MemoryStore, RunFilter, SQLiteStore, Store

__version__ = "0.1.0"


def __getattr__(name: str) -> object:
    """``teachtasks.RedisStore`` on first use: redis-py takes a fifth of a
    second to import, and most lessons never need it."""
    if name == "RedisStore":
        from .stores.redis import RedisStore

        return RedisStore
    raise AttributeError(f"module 'teachtasks' has no attribute {name!r}")


__all__ = [
    "ACTIVE_STATUSES", "FINAL_STATUSES", "NO_RETRY", "TRANSITIONS", "Aborted", "Clock",
    "ConfigurationError", "Context", "Continue", "Controller", "DefinitionInUseError",
    "DefinitionRecord", "Done", "DuplicateDefinitionError", "DuplicateRunIdError", "Error", "EventBus",
    "Fault",
    "IllegalTransitionError", "InputValidationError", "InvalidArgumentError",
    "InvalidDefinitionError", "LeaseLostError", "LifecycleEntry", "LogRecord",
    "MaxIterationsError", "MemoryStore", "PayloadNotJSONError", "RealClock", "Refusal",
    "RedisStore", "Response", "RetryPolicy", "Run", "RunFilter", "RunLogger", "RunNotFoundError", "RunState",
    "Runner", "SQLiteStore", "SimulatedClock", "Status", "Step", "Store", "StoreError",
    "TaskDefinition", "TaskManager", "TeachtasksError", "TimeBudgetExceededError",
    "TriggerRefusedError", "UnknownDefinitionError", "can_transition", "check_json",
    "check_number", "check_transition", "lifecycle", "random_ids", "sequential_ids", "task",
]
