"""The pictures of notebook 01, kept here so the notebook's cells stay short.

Colours come from ``teachtasks.viz.colors`` (Okabe-Ito, colour-blind safe):
work being done is drawn like the "running" status (sky blue, hatched),
waiting like the "pending" status (orange, dotted) or in the neutral wait
grey, so a printout in grey still reads.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

import matplotlib.pyplot as plt
from matplotlib.figure import Figure
from matplotlib.patches import Patch, Rectangle

from teachtasks.run import Status
from teachtasks.viz.colors import INK, OKABE_ITO, WAIT_COLOR, status_patch, status_style

CYCLE_COLOR = OKABE_ITO["yellow"]


def _lane(ax, x: float, label: str, bottom: float) -> None:
    ax.plot([x, x], [0, bottom], color=INK, linewidth=0.8, linestyle=(0, (2, 3)), zorder=1)
    ax.text(x, -0.04, label, ha="center", va="bottom", fontsize=10, color=INK,
            fontweight="bold")


def _box(ax, x: float, top: float, bottom: float, label: str, **style) -> None:
    ax.add_patch(Rectangle((x - 0.17, top), 0.34, bottom - top, zorder=3, **style))
    ax.text(x, (top + bottom) / 2, label, ha="center", va="center", fontsize=9, color=INK,
            zorder=4, bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.85,
                            "pad": 1.5})


def _arrow(ax, x0: float, x1: float, y: float, label: str) -> None:
    ax.annotate("", xy=(x1, y), xytext=(x0, y), zorder=5,
                arrowprops={"arrowstyle": "-|>", "color": INK, "linewidth": 1.4})
    ax.text((x0 + x1) / 2, y - 0.012, label, ha="center", va="bottom", fontsize=9, color=INK,
            zorder=5)


def draw_request_cycle(email_seconds: float = 0.5, save_seconds: float = 0.05) -> Figure:
    """Two sequence diagrams side by side: the email sent inside the
    request/response cycle, and handed to a background task. Time runs down."""
    client_x, server_x, background_x = 0.0, 1.0, 2.0
    bottom = save_seconds + email_seconds + 0.12
    fig, axes = plt.subplots(1, 2, figsize=(12, 5.4), sharey=True)
    panels = (("The email inside the request", True),
              ("The email as a background task", False))
    for ax, (title, inside) in zip(axes, panels, strict=True):
        answer_at = save_seconds + email_seconds if inside else save_seconds
        # the request/response cycle: from the request until the response arrives
        ax.add_patch(Rectangle((client_x - 0.3, 0), server_x - client_x + 0.6, answer_at,
                               facecolor=CYCLE_COLOR, alpha=0.25, edgecolor="none", zorder=0))
        for x, label in ((client_x, "client\n(the browser)"), (server_x, "web server\n(endpoint)"),
                         (background_x, "background\n(after the response)")):
            _lane(ax, x, label, bottom)
        # the client waits for the whole cycle
        ax.add_patch(Rectangle((client_x - 0.06, 0), 0.12, answer_at, facecolor=WAIT_COLOR,
                               hatch="..", edgecolor=INK, linewidth=0.6, zorder=3))
        ax.text(client_x - 0.1, max(answer_at / 2, 0.035), f"waits\n{answer_at:.2f} s",
                ha="right", va="center", fontsize=9, color=INK, zorder=4)
        _arrow(ax, client_x + 0.06, server_x - 0.17, 0.0, "POST /signup")
        work = status_style(Status.RUNNING, edgecolor=INK)
        _box(ax, server_x, 0.0, save_seconds, "save user", **{**work, "hatch": ""})
        email_x = server_x if inside else background_x
        _box(ax, email_x, save_seconds, save_seconds + email_seconds,
             f"send welcome\nemail\n({email_seconds:g} s)", **work)
        _arrow(ax, server_x - 0.17, client_x + 0.06, answer_at, "200 OK")
        ax.set_title(title, fontsize=12)
        ax.set_xlim(-0.45, 2.45)
        ax.set_ylim(bottom, -0.12)
        ax.set_xticks([])
        for side in ("top", "right", "bottom"):
            ax.spines[side].set_visible(False)
    axes[0].set_ylabel("time since the request was sent (seconds)")
    axes[0].set_yticks([0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6])
    fig.legend(handles=[
        Patch(facecolor=CYCLE_COLOR, alpha=0.25, label="the request/response cycle"),
        Patch(facecolor=WAIT_COLOR, hatch="..", edgecolor=INK, label="client waiting"),
        Patch(**status_style(Status.RUNNING, edgecolor=INK), label="slow work (the email)"),
    ], loc="lower center", ncol=3, frameon=False)
    fig.suptitle("Where the slow part runs decides how long the client waits", fontsize=13)
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    return fig


def plot_latencies(inside: Sequence[float], background: Sequence[float],
                   email_seconds: float = 0.5) -> Figure:
    """One column of points per variant (each point one request), with a box
    showing the middle half and the median."""
    rng = random.Random(0)  # the sideways spread only, so points do not hide each other
    fig, ax = plt.subplots(figsize=(8, 4.8))
    groups = (("email inside\nthe request", inside, "o"),
              ("email as a\nbackground task", background, "s"))
    for x, (_, values, marker) in enumerate(groups):
        ax.boxplot([list(values)], positions=[x], widths=0.45, showfliers=False,
                   medianprops={"color": INK, "linewidth": 2},
                   boxprops={"color": INK}, whiskerprops={"color": INK},
                   capprops={"color": INK})
        xs = [x + rng.uniform(-0.15, 0.15) for _ in values]
        ax.scatter(xs, values, marker=marker, s=36, color=OKABE_ITO["blue"], alpha=0.75,
                   edgecolor=INK, linewidth=0.5, zorder=3)
    ax.axhline(email_seconds, color=OKABE_ITO["vermillion"], linestyle="--", linewidth=1.2)
    ax.text(1.45, email_seconds + 0.01, f"sending one email takes {email_seconds:g} s",
            ha="right", va="bottom", fontsize=9, color=OKABE_ITO["vermillion"])
    ax.set_xticks(range(len(groups)), [name for name, _, _ in groups])
    ax.set_xlim(-0.6, 1.6)
    top = max(max(inside), max(background), email_seconds)
    ax.set_ylim(0, top * 1.15)
    ax.set_ylabel("latency: seconds from request to response")
    ax.set_title(f"{len(inside)} sign-ups at the same moment, two ways (one point per request)")
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    return fig


def plot_email_timelines(
    left: Sequence[tuple[float, float, float]],
    right: Sequence[tuple[float, float, float]],
    left_title: str,
    right_title: str,
) -> Figure:
    """Two timelines of email sends, one row per email. Each row is
    ``(asked_at, started_at, finished_at)``: waiting (pending) from asked to
    started, sending (running) from started to finished."""
    fig, axes = plt.subplots(1, 2, figsize=(12, 5.2), sharey=True)
    for ax, rows, title in ((axes[0], left, left_title), (axes[1], right, right_title)):
        origin = min(asked for asked, _, _ in rows)
        for i, (asked, started, finished) in enumerate(sorted(rows, key=lambda r: r[1])):
            if started - asked > 0.005:
                ax.barh(i, started - asked, left=asked - origin, height=0.75,
                        **status_style(Status.PENDING))
            ax.barh(i, finished - started, left=started - origin, height=0.75,
                    **status_style(Status.RUNNING))
        ax.set_title(title, fontsize=11)
        ax.set_xlabel("seconds since the first email was asked for")
        ax.grid(axis="x", alpha=0.3)
        ax.set_xlim(0, None)
    axes[0].set_ylabel("one row per welcome email")
    axes[0].set_yticks([])
    axes[0].invert_yaxis()
    right_end = max(finished for _, _, finished in right) - min(a for a, _, _ in right)
    for ax in axes:
        ax.set_xlim(0, right_end * 1.05)
    fig.legend(handles=[status_patch(Status.PENDING, "waiting for a worker (pending)"),
                        status_patch(Status.RUNNING, "being sent (running)")],
               loc="lower center", ncol=2, frameon=False)
    fig.suptitle("The same 20 sign-ups: every email at once, or four at a time", fontsize=13)
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    return fig


def plot_start_delays(signups: Sequence[float], event_delays: Sequence[float],
                      poll_delays: Sequence[float], polls: Sequence[tuple[float, int]]) -> Figure:
    """Notebook 02: one hour of sign-ups, started two ways. Each row is a way
    of starting the work; marks on top are the sign-ups, hatched bars the
    wait, triangles the moments the emails start; ticks on the polling row
    are polls (black: found work, grey: found nothing)."""
    from matplotlib.lines import Line2D

    from teachtasks.viz.colors import STATUS_COLORS, STATUS_MARKERS

    start_style = dict(marker=STATUS_MARKERS[Status.RUNNING], markersize=9, linestyle="",
                       markerfacecolor=STATUS_COLORS[Status.RUNNING], markeredgecolor=INK)
    fig, ax = plt.subplots(figsize=(11, 3.6))
    rows = {"event-driven": (0, event_delays), "polling\nevery 5 min": (1, poll_delays)}
    for y, delays in rows.values():
        for t, delay in zip(signups, delays, strict=True):
            ax.barh(y, delay / 60, left=t / 60, height=0.3, **status_style(Status.PENDING))
            ax.plot((t + delay) / 60, y, zorder=5, **start_style)
        ax.plot([t / 60 for t in signups], [y + 0.32] * len(signups), "v", color=INK, markersize=7)
    for tick, found in polls:
        ax.plot(tick / 60, 1, "|", markersize=26, markeredgewidth=2, color=INK if found else WAIT_COLOR)
    ax.set_yticks([0, 1], list(rows))
    ax.set_ylim(-0.55, 1.6)
    ax.set_xlim(-1, 61)
    ax.set_xticks(range(0, 61, 5), [f"9:{m:02d}" if m < 60 else "10:00" for m in range(0, 61, 5)])
    ax.set_xlabel("time of day (one hour of sign-ups)")
    ax.set_ylabel("how the work is started")
    ax.set_title("When does the welcome email start? The same sign-ups, two ways of starting the work",
                 loc="left")
    poll_mark = dict(marker="|", linestyle="", markersize=12, markeredgewidth=2)
    ax.legend(handles=[
        Line2D([], [], marker="v", linestyle="", color=INK, label="a user signs up (the event)"),
        status_patch(Status.PENDING, "waiting to start (pending)"),
        Line2D([], [], label="welcome email starts", **start_style),
        Line2D([], [], color=INK, label="poll that found work", **poll_mark),
        Line2D([], [], color=WAIT_COLOR, label="poll that found nothing", **poll_mark),
    ], loc="upper center", bbox_to_anchor=(0.5, -0.22), ncol=3, frameon=False)
    fig.tight_layout()
    return fig


def show_thumbnails(outputs: dict, thumbs) -> Figure:
    """Notebook 09: each thumbnail drawn in a 128 x 128 pixel box, so their
    sizes compare. ``outputs`` maps a file name to the thumbnail run's output
    (``{"from": (w, h), "size": (w, h)}``); ``thumbs`` is their folder."""
    from pathlib import Path

    from PIL import Image

    fig, axes = plt.subplots(1, len(outputs), figsize=(10, 2.8), layout="constrained")
    for ax, name in zip(axes, sorted(outputs), strict=True):
        (w0, h0), (w, h) = outputs[name]["from"], outputs[name]["size"]
        with Image.open(Path(thumbs) / name) as thumb:
            ax.imshow(thumb, extent=(0, w, h, 0))
        ax.set(xlim=(0, 128), ylim=(128, 0), xticks=[0, 64, 128], yticks=[0, 64, 128])
        ax.set_title(f"{name}\n{w0} x {h0} -> {w} x {h}", fontsize=9)
    fig.suptitle("The five thumbnails, each in a 128 x 128 pixel box")
    fig.supxlabel("pixels across")
    fig.supylabel("pixels down")
    return fig


def draw_report(runs: Sequence) -> Figure:
    """Notebook 09's daily report. Left: runs per task, one bar segment per
    status. Right: each run's duration. Made on a ``Figure`` directly, not
    through pyplot, because a task draws it in a worker thread."""
    from collections import Counter

    from teachtasks.viz.colors import STATUS_COLORS, STATUS_MARKERS, status_marker_handle

    kinds = sorted({run.definition_id for run in runs})
    endings = [s for s in (Status.SUCCESS, Status.FAILED, Status.ABORTED)
               if any(run.status is s for run in runs)]
    fig = Figure(figsize=(10, 4.2), dpi=100, layout="constrained")
    left, right = fig.subplots(1, 2, sharey=True, width_ratios=[1, 1.4])
    for y, kind in enumerate(kinds):
        mine = [run for run in runs if run.definition_id == kind]
        x = 0
        for status in endings:
            n = sum(1 for run in mine if run.status is status)
            if n:
                left.barh(y, n, left=x, height=0.6, **status_style(status))
                left.text(x + n / 2, y, str(n), ha="center", va="center",
                          bbox={"boxstyle": "round,pad=0.15", "facecolor": "white", "linewidth": 0})
                x += n
        took = Counter(run.finished_at - run.started_at for run in mine)
        drawn: Counter = Counter()
        for run in mine:  # runs that took as long are drawn one above the other
            seconds = run.finished_at - run.started_at
            offset = (drawn[seconds] - (took[seconds] - 1) / 2) * 0.2
            drawn[seconds] += 1
            right.plot(seconds, y + offset, linestyle="", marker=STATUS_MARKERS[run.status],
                       markersize=7, color=STATUS_COLORS[run.status], markeredgecolor="black",
                       markeredgewidth=0.6)
    left.set(yticks=range(len(kinds)), yticklabels=kinds, ylabel="task", xlabel="number of runs",
             title="Runs per task, by how they ended")
    left.invert_yaxis()
    right.set(xlabel="seconds from start to finish (task clock)", title="How long each run took")
    right.grid(axis="x", color="#dddddd")
    for ax, handles in ((left, [status_patch(s) for s in endings]),
                        (right, [status_marker_handle(s, f"{s.value} (one run)") for s in endings])):
        ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncols=3,
                  frameon=False)
    fig.suptitle(f"The shop's background work: {len(runs)} finished runs")
    return fig
