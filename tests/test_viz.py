"""The pictures of the lifecycle: checked on their content, not their pixels.

Every figure is rendered to a PNG (headless, Agg) so drawing errors surface;
the assertions read the figure's artists (each bar, arrow and box carries a
``gid``) and the pure helpers (``bars``, ``transition_counts``, ``state_at``...).
"""

from __future__ import annotations

import subprocess
import sys
import threading
from collections import Counter
from pathlib import Path

import pytest
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch, Rectangle
from matplotlib.text import Text

from teachtasks import (
    TRANSITIONS,
    RealClock,
    RetryPolicy,
    Runner,
    SimulatedClock,
    Status,
    Step,
    TaskManager,
)
from teachtasks.run import LifecycleEntry
from teachtasks.viz import (
    OKABE_ITO,
    STATUS_COLORS,
    STATUS_HATCHES,
    STATUS_MARKERS,
    STEP_MARKERS,
    Board,
    Replay,
    bars,
    busy_manager,
    demo_manager,
    edges,
    finished_per_second,
    replay_figure,
    run_timeline,
    run_times,
    state_at,
    statechart,
    summary_figure,
    throughput,
    timeline,
    transition_at,
    transition_counts,
)


@pytest.fixture(scope="module")
def demo() -> TaskManager:
    return demo_manager()


@pytest.fixture(scope="module")
def log(demo: TaskManager) -> list[LifecycleEntry]:
    return demo.lifecycle()


@pytest.fixture(scope="module")
def busy_log() -> list[LifecycleEntry]:
    return busy_manager().lifecycle()


def save(fig: Figure, path: Path) -> Path:
    """Render to PNG, as a notebook or the docs would, and check it is a small PNG."""
    fig.savefig(path)
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(data) < 200_000, f"{path.name} is {len(data)} bytes"
    return path


def with_gid(fig: Figure, prefix: str) -> list:
    return [a for a in fig.findobj() if (a.get_gid() or "").startswith(prefix)]


def attempts_in(entries: list[LifecycleEntry]) -> int:
    return sum(1 for e in entries if e.step is Step.ITERATION_STARTED)


# ---- the scenario --------------------------------------------------------------------
def test_demo_has_every_kind_of_step_and_repeats_exactly(log: list[LifecycleEntry]) -> None:
    steps = {e.step for e in log}
    assert steps >= set(Step) - {Step.HOOK_FAILED}
    final = {e.run_id: e for e in log if e.step is Step.FINISHED}
    reasons = [e.detail.get("reason") for e in final.values() if e.status is Status.ABORTED]
    assert "aborted before a worker took it" in reasons  # the pending abort
    assert "the run returned aborted()" in reasons  # the running abort
    assert any(e.step is Step.REQUEUED and e.detail == {"reason": "lease expired"} for e in log)
    assert {e.status for e in final.values()} == {Status.SUCCESS, Status.FAILED, Status.ABORTED}
    assert demo_manager().lifecycle() == log


# ---- the palette ------------------------------------------------------------------------
def test_one_palette_covers_every_status_with_colour_hatch_and_marker() -> None:
    for table in (STATUS_COLORS, STATUS_HATCHES, STATUS_MARKERS):
        assert set(table) == set(Status)
        assert len(set(table.values())) == len(Status), "two statuses look alike"
    assert set(STATUS_COLORS.values()) <= set(OKABE_ITO.values())
    assert set(STEP_MARKERS) >= {Step.TRIGGERED, Step.RETRY_SCHEDULED, Step.CONTINUED,
                                 Step.ABORT_REQUESTED, Step.REQUEUED}


# ---- bars and timelines -------------------------------------------------------------------------
def test_bars_are_one_per_attempt_and_end_where_the_attempt_ended(
    log: list[LifecycleEntry],
) -> None:
    found = bars(log)
    assert len(found) == attempts_in(log) == 15
    by_run: dict[str, list] = {}
    for bar in found:
        assert bar.start <= bar.end
        by_run.setdefault(bar.run_id, []).append(bar)
    assert [b.outcome for b in by_run["run-8"]] == ["continued", "continued", "success"]
    assert [b.iteration for b in by_run["run-8"]] == [1, 2, 3]
    assert [b.outcome for b in by_run["run-6"]] == ["retry scheduled"] * 2 + ["failed"]
    assert [b.attempt for b in by_run["run-6"]] == [1, 2, 3]
    crashed, finished = by_run["run-1"]
    assert (crashed.worker, crashed.outcome, crashed.status) == (
        "worker-9", "requeued", Status.PENDING)
    assert (crashed.start, crashed.end) == (0.0, 3.5)
    assert finished.outcome == "success" and finished.worker != "worker-9"
    assert by_run["run-7"][0].outcome == "failed"  # error() response
    assert by_run["run-9"][0].outcome == "aborted"
    assert "run-10" not in by_run  # aborted while pending: it never ran


def test_an_attempt_the_log_has_not_seen_end_is_still_running(
    log: list[LifecycleEntry],
) -> None:
    k = next(i for i, e in enumerate(log) if e.run_id == "run-8" and e.step is Step.CONTINUED)
    cut = log[:k]
    open_bars = [b for b in bars(cut) if b.outcome == "running"]
    # at t=6 run-8 is in its first iteration, run-1 and run-6 in their second try
    assert sorted(b.run_id for b in open_bars) == ["run-1", "run-6", "run-8"]
    assert all(b.end == cut[-1].time == 6.0 for b in open_bars)
    assert len(bars(cut)) == attempts_in(cut)


def test_timeline_draws_a_bar_per_attempt_in_its_status_colour(
    log: list[LifecycleEntry], tmp_path: Path
) -> None:
    fig = timeline(log)
    save(fig, tmp_path / "timeline.png")
    expected = {b.gid: b for b in bars(log)}
    drawn = with_gid(fig, "bar:")
    assert len(drawn) == len(expected) == attempts_in(log)
    for rect in drawn:
        bar = expected[rect.get_gid()]
        assert isinstance(rect, Rectangle)
        assert rect.get_facecolor() == to_rgba(STATUS_COLORS[bar.status]), bar
        assert (rect.get_hatch() or "") == STATUS_HATCHES[bar.status]
    # one row per worker, plus the queue row for triggers and the pending abort
    ax = fig.axes[0]
    rows = [t.get_text() for t in ax.get_yticklabels()]
    assert rows == ["queue", "worker-1", "worker-2", "worker-3", "worker-9"]
    assert ax.get_xlabel() == "time (seconds on the clock)"
    markers = {m.get_gid(): len(m.get_xdata()) for m in with_gid(fig, "marker:")}
    assert markers["marker:retry scheduled"] == 3
    assert markers["marker:continued"] == 2
    assert markers["marker:requeued"] == 1
    assert markers["marker:abort requested"] == 2
    assert markers["marker:triggered"] == 10
    assert fig.legends, "a legend explains colours and markers"


def test_timeline_names_bars_only_where_the_name_fits(
    busy_log: list[LifecycleEntry], tmp_path: Path
) -> None:
    fig = timeline(busy_log)
    save(fig, tmp_path / "timeline_200.png")
    assert len(with_gid(fig, "bar:")) == attempts_in(busy_log) > 200
    ax = fig.axes[0]
    fig.draw_without_rendering()
    labels = [t for t in ax.texts if t.get_text().startswith("run-")]
    boxes = [t.get_window_extent() for t in labels]
    for i, a in enumerate(boxes):
        assert not any(a.overlaps(b) for b in boxes[i + 1:]), "two run names collide"
    rects = [(r.get_gid().split(":")[1], r) for r in with_gid(fig, "bar:")]
    for label, box in zip(labels, boxes, strict=True):
        x, y = label.get_position()
        owners = [r for g, r in rects if g == label.get_text().split()[0]
                  and r.get_x() <= x <= r.get_x() + r.get_width()]
        assert owners, label.get_text()
        bar_box = owners[0].get_window_extent()
        assert bar_box.x0 <= box.x0 and box.x1 <= bar_box.x1, "a name spills out of its bar"
    # the small demo has room for every name
    small = timeline(demo_manager().lifecycle())
    named = [t.get_text().split()[0] for t in small.axes[0].texts]
    assert sorted(named) == sorted(b.run_id for b in bars(demo_manager().lifecycle()))


def test_run_timeline_has_a_row_per_run_waits_and_attempts(
    log: list[LifecycleEntry], busy_log: list[LifecycleEntry], tmp_path: Path
) -> None:
    fig = run_timeline(log)
    save(fig, tmp_path / "run_timeline.png")
    ax = fig.axes[0]
    assert [t.get_text().split()[0] for t in ax.get_yticklabels()] == [
        f"run-{i}" for i in range(1, 11)]
    assert len(with_gid(fig, "bar:")) == attempts_in(log)
    waits = with_gid(fig, "wait:run-6:")
    assert len(waits) == 3  # the queue, then two retry backoffs
    ends = {a.get_gid() for a in with_gid(fig, "end:")}
    assert ends == {f"end:run-{i}" for i in range(1, 11)}
    big = run_timeline(busy_log)
    save(big, tmp_path / "run_timeline_200.png")
    assert big.get_figheight() <= 14
    shown = big.axes[0].get_yticklabels()
    assert 20 <= len(shown) < 201  # thinned out so they do not touch


# ---- the state chart -------------------------------------------------------------------------
def test_statechart_draws_every_transition_of_the_table(tmp_path: Path) -> None:
    fig = statechart()
    save(fig, tmp_path / "statechart.png")
    arrows = {a.get_gid() for a in fig.findobj(FancyArrowPatch)}
    table = {f"transition:{a.value}->{b.value}" for a, nexts in TRANSITIONS.items()
             for b in nexts}
    assert table <= arrows
    assert arrows - table == {"transition:start->pending", "loop:running"}
    boxes = {b.get_gid() for b in fig.findobj(FancyBboxPatch) if b.get_gid()}
    assert boxes == {f"status:{s.value}" for s in Status}
    labels = {t.get_gid(): t.get_text() for t in fig.findobj(Text) if t.get_gid()}
    assert "lease expired" in labels["label:transition:running->pending"]
    assert "claimed" in labels["label:transition:pending->running"]
    assert {(a, b) for a, b, _ in edges()} == {
        (a, b) for a, nexts in TRANSITIONS.items() for b in nexts}


def test_statechart_follows_a_change_to_the_table(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(TRANSITIONS, Status.FAILED, frozenset({Status.PENDING}))
    fig = statechart()
    arrows = {a.get_gid() for a in fig.findobj(FancyArrowPatch)}
    assert "transition:failed->pending" in arrows
    labels = [t.get_text() for t in fig.findobj(Text)]
    assert "failed -> pending" in labels


def test_transition_counts_come_from_consecutive_statuses(log: list[LifecycleEntry]) -> None:
    counts = transition_counts(log)
    assert counts == {
        (Status.PENDING, Status.RUNNING): 10,  # nine runs, and run-1 again after its requeue
        (Status.PENDING, Status.ABORTED): 1,
        (Status.RUNNING, Status.SUCCESS): 6,
        (Status.RUNNING, Status.FAILED): 2,
        (Status.RUNNING, Status.ABORTED): 1,
        (Status.RUNNING, Status.PENDING): 1,
    }
    finals = Counter(e.status for e in log if e.step is Step.FINISHED)
    for status in (Status.SUCCESS, Status.FAILED, Status.ABORTED):
        into = sum(n for (_, new), n in counts.items() if new is status)
        assert into == finals[status]


def test_statechart_with_a_log_counts_and_highlights(
    log: list[LifecycleEntry], tmp_path: Path
) -> None:
    fig = statechart(log)
    save(fig, tmp_path / "statechart_counts.png")
    labels = {t.get_gid(): t.get_text() for t in fig.findobj(Text) if t.get_gid()}
    assert labels["label:transition:pending->running"].endswith("10 times")
    assert labels["label:transition:running->pending"].endswith("1 time")
    lit = statechart(log, highlight_run="run-1")
    save(lit, tmp_path / "statechart_run1.png")
    widths = {a.get_gid(): a.get_linewidth() for a in lit.findobj(FancyArrowPatch)}
    path = {"transition:pending->running", "transition:running->pending",
            "transition:running->success"}
    assert min(widths[g] for g in path) > max(w for g, w in widths.items()
                                              if g not in path | {"transition:start->pending"})


# ---- replay ------------------------------------------------------------------------------------
def derived_state(entries: list[LifecycleEntry], k: int) -> dict[str, Status]:
    """The state after the first k entries, worked out here independently."""
    ordered = sorted(entries, key=lambda e: (e.time, e.seq))
    state: dict[str, Status] = {}
    for entry in ordered[:k]:
        state[entry.run_id] = entry.status
    return state


def test_state_at_every_step_and_at_the_end(demo: TaskManager,
                                            log: list[LifecycleEntry]) -> None:
    assert state_at(log, 0) == {}
    for k in range(len(log) + 1):
        assert state_at(log, k) == derived_state(log, k), k
    final = {r.id: r.status for r in demo.list_runs(limit=1000)}
    assert state_at(log, len(log)) == final
    assert state_at(log, len(log) + 50) == final
    shuffled = list(reversed(log))  # state_at reads the log in the clock's order
    assert state_at(shuffled, len(log)) == final


def test_transition_at_names_what_each_step_did(log: list[LifecycleEntry]) -> None:
    def step_of(run_id: str, step: Step) -> int:
        return next(i + 1 for i, e in enumerate(log) if e.run_id == run_id and e.step is step)

    assert transition_at(log, step_of("run-1", Step.TRIGGERED)) == (None, Status.PENDING)
    assert transition_at(log, step_of("run-1", Step.REQUEUED)) == (Status.RUNNING,
                                                                  Status.PENDING)
    assert transition_at(log, step_of("run-8", Step.CONTINUED)) == (Status.RUNNING,
                                                                   Status.RUNNING)
    assert transition_at(log, step_of("run-8", Step.PROGRESS)) is None
    assert transition_at(log, step_of("run-10", Step.FINISHED)) == (Status.PENDING,
                                                                   Status.ABORTED)
    assert transition_at(log, 0) is None


def test_replay_widget_steps_through_the_log(log: list[LifecycleEntry], tmp_path: Path) -> None:
    replay = Replay(log)
    assert replay.slider.max == len(log) and replay.step == 0
    k = next(i + 1 for i, e in enumerate(log) if e.step is Step.REQUEUED)
    replay.go(k)
    assert replay.state() == derived_state(log, k)
    assert replay.image.value[:8] == b"\x89PNG\r\n\x1a\n"
    assert "requeued" in replay.caption.value
    replay.next_button.click()
    assert replay.step == k + 1 and replay.state() == derived_state(log, k + 1)
    replay.prev_button.click()
    replay.prev_button.click()
    assert replay.step == k - 1
    replay.go(10_000)
    assert replay.step == len(log)
    bundle = replay._repr_mimebundle_()
    assert bundle["text/plain"].startswith(f"Replay of {len(log)} lifecycle entries")
    assert "image/png" in bundle
    fig = replay_figure(log, k)
    save(fig, tmp_path / "replay.png")
    lit = [a for a in fig.findobj(FancyArrowPatch)
           if a.get_gid() == "transition:running->pending"]
    assert lit and lit[0].get_linewidth() > 2
    tiles = {t.get_gid(): t for t in fig.findobj(FancyBboxPatch)
             if (t.get_gid() or "").startswith("run:")}
    assert len(tiles) == 10
    for run_id, status in derived_state(log, k).items():
        assert tiles[f"run:{run_id}"].get_facecolor() == to_rgba(STATUS_COLORS[status])


# ---- the board -------------------------------------------------------------------------------
def test_board_follows_a_threaded_runner_to_the_end() -> None:
    tasks = TaskManager(clock=RealClock())

    @tasks.task("quick")
    def quick(ctx, ctl):  # type: ignore[no-untyped-def]
        for i in range(3):
            ctx.sleep(0.01)
            ctl.progress(i + 1, 3, f"{i + 1} of 3")
        if ctx.input["i"] == 3:
            return ctl.response.error("no such customer")
        return ctl.response.done(None)

    for i in range(6):
        tasks.trigger("quick", {"i": i})
    runner = Runner(tasks, workers=3, poll_interval=0.01)
    board = Board(tasks)
    assert board.counts[Status.SUCCESS] == 0
    board.follow(runner, interval=0.01, show=False)
    assert board.counts == tasks.count_runs()
    assert board.counts[Status.SUCCESS] == 5 and board.counts[Status.FAILED] == 1
    assert not runner.running, "follow stops the runner it started"
    assert not [t for t in threading.enumerate() if t.name == "board-poller"]
    assert board.errors == []
    assert board._updates >= 2
    assert board.summary().startswith("6 runs: 5 success, 1 failed, 0 aborted")
    assert all(bar.layout.visibility == "hidden" for bar in board.bars)  # nothing active


def test_board_in_step_mode_and_its_static_summary(tmp_path: Path) -> None:
    def scenario() -> tuple[TaskManager, Runner]:
        tasks = TaskManager(clock=SimulatedClock())

        @tasks.task("send-email", retry=RetryPolicy(max_attempts=2, backoff=1))
        def send(ctx, ctl):  # type: ignore[no-untyped-def]
            ctx.sleep(1.5)
            ctl.progress(1, 1, "sent")
            if ctx.input["n"] == 1 and ctx.attempt == 1:
                raise ConnectionError("try again")
            return ctl.response.done({"ok": True})

        for i in range(4):
            tasks.trigger("send-email", {"n": i})
        return tasks, Runner(tasks, workers=2)

    tasks, runner = scenario()
    board = Board(tasks)
    seen: list[dict[Status, int]] = []

    def on_step(run):  # type: ignore[no-untyped-def]
        board.update(run)
        seen.append(board.counts)
        if board.counts[Status.RUNNING]:
            assert any(bar.layout.visibility == "visible" for bar in board.bars)

    runner.run_until_idle(on_step=on_step)
    board.finish(show=False)
    assert board.counts == tasks.count_runs()
    assert seen[0][Status.SUCCESS] < seen[-1][Status.SUCCESS] == 4
    assert "t=" in board.log.value and "finished" in board.log.value
    text = board.summary()
    assert text == (
        "4 runs: 4 success, 0 failed, 0 aborted (0 pending, 0 running)\n"
        "  send-email    4 runs: 4 success\n"
        "23 lifecycle entries, 5 attempts, 1 retry scheduled, 0 continues, 0 requeued\n"
        "last entry at t=4.5 s on the simulated clock"
    )
    again, runner2 = scenario()
    runner2.run_until_idle()
    assert Board(again).summary() == text  # deterministic
    fig = board.summary_figure()
    save(fig, tmp_path / "board_summary.png")
    segments = {r.get_gid(): r.get_width() for r in with_gid(fig, "count:")}
    assert segments == {"count:all runs:success": 4, "count:send-email:success": 4}
    assert board._repr_mimebundle_()["text/plain"].startswith("Board(")


def test_board_summary_of_the_demo(demo: TaskManager, tmp_path: Path) -> None:
    board = Board(demo)
    board.update()
    assert board.counts == demo.count_runs()
    assert board.summary().splitlines()[0] == (
        "10 runs: 6 success, 2 failed, 2 aborted (0 pending, 0 running)")
    save(summary_figure(demo), tmp_path / "summary.png")


# ---- throughput --------------------------------------------------------------------------
def test_run_times_and_finished_per_second(log: list[LifecycleEntry], tmp_path: Path) -> None:
    times = {t.run_id: t for t in run_times(log)}
    assert len(times) == 10
    assert (times["run-2"].queue_wait, times["run-2"].working) == (0.5, 1.0)
    assert times["run-8"].working == 8.0 and times["run-8"].attempts == 3
    assert times["run-10"].first_started is None and times["run-10"].status is Status.ABORTED
    assert times["run-10"].due == 5.0 and times["run-10"].queue_wait == 0.0
    six = times["run-6"]
    assert six.total == pytest.approx(six.queue_wait + six.working + six.waiting_between)
    slices = finished_per_second(log, 1.0)
    assert sum(sum(c.values()) for _, c in slices) == 10
    assert slices[0][0] == 0.0 and all(b - a == 1.0 for (a, _), (b, _) in
                                        zip(slices, slices[1:], strict=False))
    with pytest.raises(ValueError):
        finished_per_second(log, 0)
    fig = throughput(log)
    save(fig, tmp_path / "throughput.png")
    points = sum(len(c.get_offsets()) for c in with_gid(fig, "runs:"))
    assert points == 9  # run-10 never started: it has no queue wait to plot


def test_throughput_with_many_runs(busy_log: list[LifecycleEntry], tmp_path: Path) -> None:
    fig = throughput(busy_log)
    save(fig, tmp_path / "throughput_200.png")
    finished = sum(sum(c.values()) for _, c in finished_per_second(busy_log, 2.0))
    assert finished == len({e.run_id for e in busy_log})


# ---- packaging ----------------------------------------------------------------------------
def test_import_teachtasks_does_not_import_matplotlib_or_ipywidgets() -> None:
    code = ("import sys, teachtasks; "
            "bad = [m for m in ('matplotlib', 'ipywidgets') if m in sys.modules]; "
            "print(bad); sys.exit(1 if bad else 0)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=False)
    assert result.returncode == 0, result.stdout + result.stderr
