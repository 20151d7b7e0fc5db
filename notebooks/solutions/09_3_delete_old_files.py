# Why it works: `rglob` walks subfolders; only files go, only those changed strictly before `now
# - older_than`, and the names returned are relative and sorted.
# The common wrong approach: `iterdir` (top folder only), deleting folders, `<=` at the cutoff,
# or `time.time()` instead of the `now` given.

from pathlib import Path


def delete_old_files(folder, older_than, now):
    """Delete the files below folder (subfolders too) last changed more than
    older_than seconds before now; return their relative names, sorted."""
    folder = Path(folder)
    cutoff = now - older_than
    deleted = []
    for path in folder.rglob("*"):
        if path.is_file() and path.stat().st_mtime < cutoff:
            path.unlink()
            deleted.append(path.relative_to(folder).as_posix())
    return sorted(deleted)
