"""Self-checks of notebook 00 (start here)."""

from __future__ import annotations

from typing import Any

from . import NotSolved, exercise


@exercise("00.1", solution="double")
def check_double(double: Any) -> str:
    for x, want in ((0, 0), (2, 4), (-3, -6), (2.5, 5.0)):
        got = double(x)
        if got != want:
            raise NotSolved(f"double({x!r}) gave {got!r}, expected {want!r}")
    return "double works for 0, 2, -3 and 2.5"


@exercise("00.2", solution="answer_task")
def check_answer_task(answer_task: Any) -> str:
    from .. import Runner, SimulatedClock, Status, TaskDefinition, TaskManager
    from ..controller import Done

    answered: list[Any] = []

    def recorded(ctx: Any, ctl: Any) -> Any:
        response = answer_task(ctx, ctl)
        answered.append(response)
        return response

    tasks = TaskManager(clock=SimulatedClock())
    tasks.register(TaskDefinition("answer", recorded))
    run = tasks.trigger("answer")
    Runner(tasks).run_until_idle()
    final = tasks.get_run(run.id)
    if final.error and final.error["type"] == "NotImplementedError":
        raise NotImplementedError
    if final.status is not Status.SUCCESS:
        detail = f" ({final.error['type']}: {final.error['message']})" if final.error else ""
        raise NotSolved(f"the run ended {final.status.value}{detail}, not success")
    if answered and not isinstance(answered[0], Done):
        raise NotSolved(f"your function returned {answered[0]!r} itself; answer with "
                        "ctl.response.done(...), as in the taste above: it tells the runner "
                        "in so many words that the run is finished")
    if final.output != {"answer": 42}:
        raise NotSolved(f"the run's output was {final.output!r}, expected {{'answer': 42}}")
    return "the run succeeded with output {'answer': 42}"
