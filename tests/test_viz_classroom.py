"""The pictures in a classroom: projector mode, short bars, whole ticks, wall-clock times, a paced board.

A file of its own beside test_viz.py (which checks what the pictures show):
these tests check how they read from the back of a room and on a projector,
on the figures' artists, not their pixels.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch, Rectangle
from matplotlib.text import Text

from teachtasks import RealClock, Runner, SimulatedClock, Status, Step, TaskManager
from teachtasks.run import LifecycleEntry
from teachtasks.viz import (
    Board,
    Look,
    demo_manager,
    projector,
    run_timeline,
    statechart,
    summary_figure,
    throughput,
    timeline,
)
from teachtasks.viz.projector import DEFAULT, PROJECTOR, look
from teachtasks.viz.replay import caption
from teachtasks.viz.timeline import MIN_BAR_PIXELS


@pytest.fixture(scope="module")
def log() -> list[LifecycleEntry]:
    return demo_manager().lifecycle()


def texts(fig: Figure) -> list[Text]:
    return [t for t in fig.findobj(Text) if t.get_text() and t.get_visible()]


def one_a_minute(shift: float = 0.0) -> list[LifecycleEntry]:
    """Notebook 08's day: an order a minute for 12 minutes, each attempt 1 second."""
    entries, seq = [], 0
    for i in range(12):
        run, t = f"run-{i + 1}", shift + 60.0 * i
        for step, when, status, worker in ((Step.TRIGGERED, t, Status.PENDING, None),
                                           (Step.ITERATION_STARTED, t + 0.1, Status.RUNNING, "w1"),
                                           (Step.FINISHED, t + 1.1, Status.SUCCESS, "w1")):
            seq += 1
            entries.append(LifecycleEntry(run, "send-invoice", step, when, status, worker=worker,
                                          attempt=1 if worker else 0, iteration=1 if worker else 0,
                                          seq=seq))
    return entries


def bar_pixels(fig: Figure) -> list[float]:
    fig.draw_without_rendering()
    ax = fig.axes[0]
    out = []
    for rect in ax.patches:
        if isinstance(rect, Rectangle) and (rect.get_gid() or "").startswith("bar:"):
            x0 = ax.transData.transform((rect.get_x(), 0))[0]
            x1 = ax.transData.transform((rect.get_x() + rect.get_width(), 0))[0]
            out.append(x1 - x0)
    return out


# ---------------------------------------------------------------- projector mode

def test_default_look_is_unchanged_and_projector_is_larger(log: list[LifecycleEntry]) -> None:
    assert look() is DEFAULT
    plain = statechart(log)
    assert repr(plain) == "<Figure size 1000x480 with 1 Axes>"  # what nbval compares
    with projector() as chosen:
        assert chosen is PROJECTOR and look() is PROJECTOR
        big = statechart(log)
    assert look() is DEFAULT, "the with-block gives the default look back"
    assert big.get_figwidth() == pytest.approx(plain.get_figwidth() * PROJECTOR.size)
    plain_sizes = sorted(t.get_fontsize() for t in texts(plain))
    big_sizes = sorted(t.get_fontsize() for t in texts(big))
    assert len(plain_sizes) == len(big_sizes)
    # text grows more than the figure, so it is larger relative to the picture
    assert min(b / p for b, p in zip(big_sizes, plain_sizes, strict=True)) > PROJECTOR.size
    plain_lines = [a.get_linewidth() for a in plain.findobj(FancyArrowPatch)]
    big_lines = [a.get_linewidth() for a in big.findobj(FancyArrowPatch)]
    assert min(b / p for b, p in zip(big_lines, plain_lines, strict=True)) >= 1.5


def test_projector_switch_on_and_off() -> None:
    try:
        projector()
        assert look() is PROJECTOR
        assert "on" in repr(projector(True))
        projector(False)
        assert look() is DEFAULT
    finally:
        projector(False)


def test_projector_darkens_faded_arrows_and_greys(log: list[LifecycleEntry]) -> None:
    run_id = log[-1].run_id
    plain = statechart(log, highlight_run=run_id)
    with projector():
        big = statechart(log, highlight_run=run_id)

    def faded(fig: Figure) -> list[float]:
        return [a.get_alpha() for a in fig.findobj(FancyArrowPatch)
                if a.get_alpha() is not None and a.get_alpha() < 1]

    assert faded(plain) and max(faded(plain)) <= 0.3
    assert faded(big) and min(faded(big)) >= 0.7, "inactive arrows must show on a projector"
    assert isinstance(PROJECTOR, Look)
    for grey in (PROJECTOR.grid, PROJECTOR.wait, PROJECTOR.rule):  # darker than the default's
        assert int(grey[1:3], 16) < int(DEFAULT.grid[1:3], 16)


def test_every_figure_draws_in_projector_mode(log: list[LifecycleEntry], tmp_path: Path) -> None:
    manager = demo_manager()
    with projector():
        figs = [timeline(log), run_timeline(log), throughput(log), summary_figure(manager)]
    for i, fig in enumerate(figs):
        fig.savefig(tmp_path / f"{i}.png")
        ticks = [t.get_fontsize() for ax in fig.axes for t in ax.get_xticklabels() if t.get_text()]
        assert ticks and min(ticks) >= 10 * PROJECTOR.font - 1e-9, "tick labels grow too"


@pytest.mark.parametrize("on", [False, True], ids=["default", "projector"])
def test_legends_stay_inside_the_figure(log: list[LifecycleEntry], on: bool) -> None:
    with projector(on):
        figs = [timeline(log), run_timeline(log), summary_figure(demo_manager())]
    for fig in figs:
        fig.draw_without_rendering()
        for legend in fig.legends + [ax.get_legend() for ax in fig.axes if ax.get_legend()]:
            box = legend.get_window_extent()
            assert box.x0 >= -1 and box.x1 <= fig.bbox.width + 1, \
                f"a legend spills out of {fig}: {box.x0:.0f}..{box.x1:.0f} px"


# ---------------------------------------------------------------- issue 16's pictures

def test_one_second_attempts_on_a_twelve_minute_axis_show() -> None:
    for fig in (run_timeline(one_a_minute()), timeline(one_a_minute())):
        widths = bar_pixels(fig)
        assert len(widths) == 12
        assert min(widths) >= MIN_BAR_PIXELS - 0.5, f"bars {min(widths):.2f} px wide"


def test_run_timeline_end_marker_sits_after_the_bar() -> None:
    fig = run_timeline(one_a_minute())
    fig.draw_without_rendering()
    ax = fig.axes[0]
    ends = {line.get_gid(): line for line in ax.get_lines() if (line.get_gid() or "").startswith("end:")}
    bar = next(r for r in ax.patches if r.get_gid() == "bar:run-1:1:1")
    bar_right = ax.transData.transform((bar.get_x() + bar.get_width(), 0))[0]
    marker = ends["end:run-1"]
    marker_x = marker.get_transform().transform((marker.get_xdata()[0], 0))[0]
    assert marker_x > bar_right, "the end marker must not cover a short last attempt"


def test_timeline_step_markers_touch_their_bars(log: list[LifecycleEntry]) -> None:
    fig = timeline(log)
    ax = fig.axes[0]
    rows = {r.get_y() + r.get_height() / 2 for r in ax.patches if (r.get_gid() or "").startswith("bar:")}
    tops = {y - 0.62 / 2 for y in rows}  # the bars are 0.62 rows high
    markers = [line for line in ax.get_lines()
               if line.get_gid() in ("marker:continued", "marker:retry scheduled")]
    assert markers
    for line in markers:
        for y in line.get_ydata():
            assert any(abs(y - top) < 1e-9 for top in tops), "a marker floats above its row"


def test_throughput_counts_have_whole_ticks(log: list[LifecycleEntry]) -> None:
    fig = throughput(log, bin_seconds=1.0)
    fig.draw_without_rendering()
    rate_axis, line_axis = fig.axes[1], fig.axes[2]
    for ax in (rate_axis, line_axis):
        ticks = [t for t in ax.get_yticks() if ax.get_ylim()[0] <= t <= ax.get_ylim()[1]]
        assert ticks and all(float(t).is_integer() for t in ticks), ticks


def test_wall_clock_times_are_counted_from_the_first_entry() -> None:
    wall = one_a_minute(shift=1_795_508_951.928)
    fig = timeline(wall)
    ax = fig.axes[0]
    assert ax.get_xlim()[0] < 0 < ax.get_xlim()[1] < 1000
    assert "since the first entry" in ax.get_xlabel()
    assert "seconds on the clock" in timeline(one_a_minute()).axes[0].get_xlabel()
    assert caption(wall, 1).split("t=")[1].startswith("0s")
    assert caption(wall, 4).split("t=")[1].startswith("60s")


# ---------------------------------------------------------------- a slower live board

def _quick_tasks(n: int) -> TaskManager:
    tasks = TaskManager(clock=RealClock())

    @tasks.task("quick")
    def quick(ctx, ctl):  # type: ignore[no-untyped-def]
        return ctl.response.done(None)

    for i in range(n):
        tasks.trigger("quick", {"i": i})
    return tasks


def test_follow_with_pace_slows_a_threaded_runner_and_restores_it() -> None:
    tasks = _quick_tasks(4)
    runner = Runner(tasks, workers=2, poll_interval=0.01)
    began = time.monotonic()
    Board(tasks).follow(runner, interval=0.01, show=False, pace=0.15)
    took = time.monotonic() - began
    assert tasks.count_runs()[Status.SUCCESS] == 4
    assert took >= 0.3, f"4 runs on 2 workers at 0.15 s each took only {took:.3f} s"
    assert "step" not in vars(runner), "the runner's own step method is back"


def test_follow_with_pace_on_a_simulated_clock_and_bad_pace() -> None:
    tasks = TaskManager(clock=SimulatedClock())

    @tasks.task("quick")
    def quick(ctx, ctl):  # type: ignore[no-untyped-def]
        return ctl.response.done(None)

    for i in range(3):
        tasks.trigger("quick", {"i": i})
    board = Board(tasks)
    began = time.monotonic()
    board.follow(Runner(tasks, workers=1), show=False, pace=0.05)
    assert time.monotonic() - began >= 0.15
    assert board.pause == 0.0, "the board's own pause is given back"
    with pytest.raises(ValueError, match="pace"):
        board.follow(Runner(tasks, workers=1), show=False, pace=-1)



def test_a_board_made_in_projector_mode_has_larger_text() -> None:
    manager = demo_manager()
    plain = Board(manager)
    with projector():
        big = Board(manager)
    plain.update()
    big.update()
    assert "font-size:11px" in plain.log.value
    assert f"font-size:{11 * PROJECTOR.font:g}px" in big.log.value
    assert "font-size" not in next(iter(plain.tiles.values())).value.split("<span")[0]
    assert "font-size" in next(iter(big.tiles.values())).value.split("<span")[0]
    assert big.bars[0].layout.width == f"{260 * PROJECTOR.font:g}px" != plain.bars[0].layout.width


def test_backoff_is_not_drawn_as_waiting_for_a_worker_and_unstarted_runs_are_not_plotted() -> None:
    """Issue 16's pictures: a retry's backoff has its own look and legend entry, and a run
    aborted before it started is left out of the waiting-vs-working panel (it has no wait)."""
    from teachtasks import RetryPolicy, Runner, SimulatedClock, TaskManager
    from teachtasks.viz import run_timeline, throughput

    m = TaskManager(clock=SimulatedClock())
    tries = {"n": 0}

    @m.task("flaky", retry=RetryPolicy(max_attempts=3, backoff=2.0, factor=2.0, jitter=0.0))
    def flaky(ctx, ctl):
        ctx.sleep(1)
        tries["n"] += 1
        if tries["n"] < 3:
            raise ConnectionError("no answer")
        return ctl.response.done()

    m.trigger("flaky")
    late = m.trigger("flaky", delay=30)
    m.abort(late.id)
    Runner(m, workers=1).run_until_idle()
    fig = run_timeline(m.lifecycle())
    labels = [t.get_text() for t in fig.legends[0].get_texts()] if fig.legends else [
        t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert "waiting for a worker" in labels
    assert any(label.startswith("waiting to try again") for label in labels)
    fig = throughput(m.lifecycle())
    left = fig.axes[0]
    plotted = sum(len(c.get_offsets()) for c in left.collections)
    assert plotted == 1
    assert any(t.get_gid() == "never-started" for t in left.texts)
