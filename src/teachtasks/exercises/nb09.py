"""Checks for notebook 09, "Use cases".

* 09.1 ``validate_product(row)``: one row of a products CSV, cleaned, or
  ``ValueError("why")``.
* 09.2 ``retry_after_seconds(value, now, cap=300)``: how long to wait after a
  429, from a ``Retry-After`` header in either of its two forms.
* 09.3 ``delete_old_files(folder, older_than, now)``: a cleanup job's file
  rule, through subfolders, deleting only files older than a cutoff.

No check needs a server; 09.3 makes (and removes) its own temporary folder.
"""

from __future__ import annotations

import math
import os
import shutil
import tempfile
import time
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path
from typing import Any

from . import NotSolved, exercise

# ---- 09.1 a row validator ---------------------------------------------------------------

_GOOD_PRODUCTS: list[tuple[dict[str, str], dict[str, Any], str]] = [
    ({"sku": "MUG-001", "name": "Mug", "price": "12.50", "stock": "40"},
     {"sku": "MUG-001", "name": "Mug", "price": 12.5, "stock": 40}, "a plain good row"),
    ({"sku": " TEE-042 ", "name": "  T-shirt, blue ", "price": "4.5", "stock": "0"},
     {"sku": "TEE-042", "name": "T-shirt, blue", "price": 4.5, "stock": 0},
     "spaces around the values are removed; a stock of 0 is fine"),
    ({"sku": "CAP-999", "name": "Cap", "price": "9999.99", "stock": " 7 "},
     {"sku": "CAP-999", "name": "Cap", "price": 9999.99, "stock": 7},
     "9999.99 is under 10 000"),
    ({"sku": "BAG-100", "name": "Bag", "price": "20", "stock": "1200"},
     {"sku": "BAG-100", "name": "Bag", "price": 20.0, "stock": 1200},
     "a price without a decimal point is a number too"),
]

_BAD_PRODUCTS: list[tuple[dict[str, str], str]] = [
    ({"sku": "mug-001", "name": "Mug", "price": "12.50", "stock": "4"}, "a sku in small letters"),
    ({"sku": "MUG001", "name": "Mug", "price": "12.50", "stock": "4"}, "a sku without its dash"),
    ({"sku": "MUGS-001", "name": "Mug", "price": "12.50", "stock": "4"},
     "a sku with four letters"),
    ({"sku": "MUG-01", "name": "Mug", "price": "12.50", "stock": "4"}, "a sku with two digits"),
    ({"sku": "MUG-0012", "name": "Mug", "price": "12.50", "stock": "4"},
     "a sku with four digits"),
    ({"sku": "", "name": "Mug", "price": "12.50", "stock": "4"}, "an empty sku"),
    ({"sku": "MUG-001", "name": "   ", "price": "12.50", "stock": "4"},
     "a name that is only spaces"),
    ({"sku": "MUG-001", "name": "Mug", "price": "twelve", "stock": "4"},
     "a price that is not a number"),
    ({"sku": "MUG-001", "name": "Mug", "price": "12,50", "stock": "4"},
     "a price with a comma for the decimal point"),
    ({"sku": "MUG-001", "name": "Mug", "price": "0", "stock": "4"}, "a price of 0"),
    ({"sku": "MUG-001", "name": "Mug", "price": "-3.00", "stock": "4"}, "a negative price"),
    ({"sku": "MUG-001", "name": "Mug", "price": "10000", "stock": "4"}, "a price of 10 000"),
    ({"sku": "MUG-001", "name": "Mug", "price": "4.505", "stock": "4"},
     "a price with 3 digits after the point"),
    ({"sku": "MUG-001", "name": "Mug", "price": "nan", "stock": "4"},
     "a price of 'nan' (float() reads it as not-a-number)"),
    ({"sku": "MUG-001", "name": "Mug", "price": "inf", "stock": "4"},
     "a price of 'inf' (float() reads it as infinity)"),
    ({"sku": "MUG-001", "name": "Mug", "price": "", "stock": "4"}, "an empty price"),
    ({"sku": "MUG-001", "name": "Mug", "price": "12.50", "stock": "-1"}, "a negative stock"),
    ({"sku": "MUG-001", "name": "Mug", "price": "12.50", "stock": "3.0"},
     "a stock that is not a whole number"),
    ({"sku": "MUG-001", "name": "Mug", "price": "12.50", "stock": "three"},
     "a stock in words"),
    ({"sku": "MUG-001", "name": "Mug", "price": "12.50", "stock": ""}, "an empty stock"),
]


def _show(row: dict[str, str]) -> str:
    return "{" + ", ".join(f"{k!r}: {v!r}" for k, v in row.items()) + "}"


@exercise("09.1", solution="validate_product")
def check_validate_product(validate_product: Any) -> str:
    if not callable(validate_product):
        raise NotSolved("validate_product must be a function: def validate_product(row): ...")
    for row, want, what in _GOOD_PRODUCTS:
        given = dict(row)
        try:
            got = validate_product(given)
        except NotImplementedError:
            raise
        except ValueError as why:
            raise NotSolved(f"{_show(row)} is a good row ({what}), but it was rejected: "
                            f"{why}") from None
        if given != row:
            raise NotSolved("validate_product changed the row it was given; build a new dict")
        if not isinstance(got, dict):
            raise NotSolved(f"return a dict like {want!r}, not {type(got).__name__}")
        if got != want or type(got.get("price")) is not float or type(got.get("stock")) is not int:
            raise NotSolved(f"validate_product({_show(row)}) returned {got!r}; expected "
                            f"{want!r} (price a float, stock an int; {what})")
    for row, what in _BAD_PRODUCTS:
        try:
            got = validate_product(dict(row))
        except NotImplementedError:
            raise
        except ValueError as why:
            if not str(why).strip():
                raise NotSolved(f"{what}: say why in the error, ValueError(\"...\"), so the "
                                "import can report it") from None
            continue
        except Exception as exc:  # noqa: BLE001 - the learner's bug, reported
            raise NotSolved(f"{_show(row)} ({what}) raised {type(exc).__name__}: {exc}; the "
                            "import catches only ValueError, so raise ValueError for a bad "
                            "row") from None
        raise NotSolved(f"{_show(row)} should be rejected ({what}), but it returned {got!r}")
    return (f"{len(_GOOD_PRODUCTS)} good rows cleaned, {len(_BAD_PRODUCTS)} bad rows "
            "rejected with a reason")


# ---- 09.2 the wait a Retry-After asks for ----------------------------------------------------

_NOW = 1_790_000_000.0  # Monday 21 September 2026, 14:13:20 UTC, in seconds since 1970


def _http_date(seconds: float) -> str:
    return format_datetime(datetime.fromtimestamp(seconds, UTC), usegmt=True)


def _retry_after_cases() -> list[tuple[tuple[Any, ...], dict[str, Any], float, str]]:
    return [
        (("120", _NOW), {}, 120.0, "a number of seconds"),
        (("0", _NOW), {}, 0.0, "0 seconds: ask again at once"),
        (("7", _NOW + 12345.0), {}, 7.0, "a number of seconds does not depend on now"),
        (("600", _NOW), {}, 300.0, "600 seconds is over the cap of 300"),
        (("120", _NOW), {"cap": 60}, 60.0, "a cap given by the caller (cap=60)"),
        ((_http_date(_NOW + 90), _NOW), {}, 90.0, "a date 90 seconds after now"),
        ((_http_date(_NOW + 90), _NOW + 30), {}, 60.0,
         "the same date, asked 30 seconds later: 60 seconds are left"),
        ((_http_date(_NOW + 3600), _NOW), {}, 300.0, "a date an hour away, over the cap"),
        ((_http_date(_NOW + 3600), _NOW), {"cap": 7200}, 3600.0,
         "a date an hour away, under a cap of 7200"),
        ((_http_date(_NOW - 50), _NOW), {}, 0.0, "a date already past: no need to wait"),
        ((None, _NOW), {}, 1.0, "no header at all (None)"),
        (("", _NOW), {}, 1.0, "an empty header"),
        (("soon", _NOW), {}, 1.0, "a header that is neither a number nor a date"),
        (("-5", _NOW), {}, 1.0, "a negative number is not allowed by HTTP: treat it as unreadable"),
        (("Wed, 99 Foo 2026 99:00:00 GMT", _NOW), {}, 1.0, "a broken date"),
    ]


@exercise("09.2", solution="retry_after_seconds")
def check_retry_after_seconds(retry_after_seconds: Any) -> str:
    if not callable(retry_after_seconds):
        raise NotSolved("retry_after_seconds must be a function: "
                        "def retry_after_seconds(value, now, cap=300): ...")
    for args, kwargs, want, what in _retry_after_cases():
        try:
            got = retry_after_seconds(*args, **kwargs)
        except NotImplementedError:
            raise
        except Exception as exc:  # noqa: BLE001 - the learner's bug, reported
            call = ", ".join([repr(a) for a in args] + [f"{k}={v!r}" for k, v in kwargs.items()])
            raise NotSolved(f"retry_after_seconds({call}) raised {type(exc).__name__}: {exc} "
                            f"({what}); a header may be seconds or a date, and anything else means "
                            "a wait of 1.0") from None
        call = ", ".join([repr(a) for a in args] + [f"{k}={v!r}" for k, v in kwargs.items()])
        if isinstance(got, bool) or not isinstance(got, int | float) or not math.isfinite(got):
            raise NotSolved(f"retry_after_seconds({call}) returned {got!r}; return a number "
                            "of seconds")
        if abs(got - want) > 1e-6:
            raise NotSolved(f"retry_after_seconds({call}) returned {got!r}, expected {want!r} "
                            f"({what})")
    return "seconds or a date, never negative, never over the cap, 1 s when unreadable"


# ---- 09.3 a cleanup that deletes only old files ------------------------------------------------

_DAY = 86_400.0

#: path below the folder -> age in days at ``now`` (folders end with "/")
_TREE: dict[str, float] = {
    "old.csv": 10, "fresh.csv": 0.5, "yesterday.csv": 2, "thumbs/": 30,
    "thumbs/old.png": 8, "thumbs/new.png": 0.1, "2026/03/very-old.csv": 40,
    "2026/03/edge.csv": 3, "empty-old-folder/": 50, "notes.txt": 2.5,
}


def _build(root: Path, now: float) -> Path:
    folder = root / "exports"
    folder.mkdir()
    outside = root / "outside-old.csv"  # a sibling of the folder: never to be touched
    outside.write_text("x")
    os.utime(outside, (now - 100 * _DAY, now - 100 * _DAY))
    # files first, then folders' times (writing a file changes its folder's time)
    for name, age in sorted(_TREE.items(), key=lambda item: item[0].endswith("/")):
        path = folder / name.rstrip("/")
        if name.endswith("/"):
            path.mkdir(parents=True, exist_ok=True)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(name)
        os.utime(path, (now - age * _DAY, now - age * _DAY))
    return folder


def _expected(older_than: float) -> list[str]:
    return sorted(n for n, age in _TREE.items() if not n.endswith("/") and age * _DAY > older_than)


def _listing(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() + ("/" if p.is_dir() else "")
            for p in folder.rglob("*")}


@exercise("09.3", solution="delete_old_files")
def check_delete_old_files(delete_old_files: Any) -> str:
    if not callable(delete_old_files):
        raise NotSolved("delete_old_files must be a function: "
                        "def delete_old_files(folder, older_than, now): ...")
    # ``now`` is a month ahead of the real clock: a function that reads
    # time.time() instead of its ``now`` argument gets other answers
    # (whole seconds, so a time written to a file reads back exactly)
    now = float(int(time.time()) + 30 * 86_400)
    for older_than, edge in ((3 * _DAY, True), (1 * _DAY, False)):
        root = Path(tempfile.mkdtemp(prefix="check-09-3-"))
        try:
            folder = _build(root, now)
            if edge:  # exactly at the cutoff: not older than it, so it stays
                os.utime(folder / "2026/03/edge.csv", (now - older_than, now - older_than))
            before = _listing(folder)
            got = delete_old_files(folder, older_than, now)
            want = _expected(older_than)
            if edge:
                want = [n for n in want if n != "2026/03/edge.csv"]
            after = _listing(folder)
            if not (root / "outside-old.csv").exists():
                raise NotSolved("a file outside the folder was deleted; look only inside folder")
            folders_gone = sorted(n for n in before - after if n.endswith("/"))
            if folders_gone:
                raise NotSolved(f"folders were deleted: {folders_gone}; delete files only "
                                "(path.is_file())")
            deleted = sorted(n for n in before - after if not n.endswith("/"))
            if deleted != want:
                kept_old = sorted(set(want) - set(deleted))
                gone_new = sorted(set(deleted) - set(want))
                if "2026/03/edge.csv" in gone_new:
                    raise NotSolved("a file changed exactly older_than seconds before now was "
                                    "deleted; only files *older* than the cutoff go "
                                    "(st_mtime < now - older_than)")
                if kept_old:
                    raise NotSolved(f"with older_than={older_than / _DAY:g} days, these old "
                                    f"files were kept: {kept_old} (look in subfolders too: "
                                    "folder.rglob('*'); compare with now, not time.time())")
                raise NotSolved(f"with older_than={older_than / _DAY:g} days, these files "
                                f"were too new to delete: {gone_new} (compare with the now "
                                "you are given, not time.time())")
            if isinstance(got, str | bytes) or not hasattr(got, "__iter__"):
                raise NotSolved("return the deleted files as a list of strings")
            got = list(got)
            if got != want:
                if sorted(map(str, got)) == want:
                    raise NotSolved(f"sort the list you return: {want}")
                raise NotSolved(f"returned {got!r}; expected {want!r} (paths relative to "
                                "folder, with '/': path.relative_to(folder).as_posix())")
        finally:
            shutil.rmtree(root, ignore_errors=True)
    return "only old files, in subfolders too, no folders, nothing outside; sorted names back"


__all__ = ["check_delete_old_files", "check_retry_after_seconds", "check_validate_product"]
