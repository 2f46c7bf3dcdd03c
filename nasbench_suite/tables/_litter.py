"""Stale temporary files left by killed atomic rewrites ("litter").

Every atomic rewrite in the suite (tables: ``_schema.write_all``, used by
``TableWriter`` and ``journal.compact``; results files:
``runner.results.ResultsWriter._rewrite``) writes
``tempfile.mkstemp(prefix=".tmp-", suffix=".h5", dir=<the file's directory>)``,
fsyncs it and renames it over the file. A process killed in between leaves
the temporary file behind, as large as the table, and every further kill
adds one.

:func:`clean_stale_temps` removes the ones no writer can still be writing.
The names do not say which file a temporary belongs to (any table or results
file in the directory may own it), so the rule does not depend on the
owner's lock; a temporary is removed only when **all** of these hold:

1. its name is exactly mkstemp's: ``.tmp-`` + 8 characters of
   ``[a-z0-9_]`` + ``.h5``, directly in the directory of ``path`` (the
   directory of the path as given and of the resolved one), and it is a
   regular file, not a link;
2. no process on this machine has it open (``/proc/*/fd``) or holds a lock on
   it (``/proc/locks``: HDF5 locks each file it writes, and that list shows
   the processes of every user and container on this kernel);
3. every process that could be its writer was inspected: when another
   user's process cannot be inspected (no privileges), the temporaries owned
   by that user are kept (a file belongs to the user whose process created
   it). A process of our own user that cannot be inspected is non-dumpable
   (ssh-agent, gpg-agent): not a writer of tables, whose writers are
   ordinary Python processes;
4. it has not been written to (mtime) for ``min_age`` seconds. A writer
   holds no descriptor on its temporary for a few instants (between mkstemp's
   close and h5py's open, between h5py's close and the fsync, between the
   fsync and the rename) and a writer on another machine sharing the
   directory is invisible to 2.; its writes keep the file's mtime fresh.

Without ``/proc`` (not Linux) nothing is removed: 2. cannot be checked.

Should the rule still remove a temporary whose writer lives (a writer on
another machine stopped for longer than ``min_age`` right before its rename),
that writer fails loudly (its rename or its next write raises) and the file
it was rewriting is left as it was, its journal not emptied: no result is
lost silently.
"""
from __future__ import annotations

import os
import re
import stat
import time

TEMP_NAME = re.compile(r"\.tmp-[a-z0-9_]{8}\.h5")  # tempfile.mkstemp(prefix=".tmp-", suffix=".h5")
MIN_AGE_S = 60.0

__all__ = ["MIN_AGE_S", "TEMP_NAME", "clean_stale_temps"]


def _candidates(path, min_age: float, now: float) -> dict:
    """name -> (full path, lstat) of the temporaries beside ``path`` old enough to look at."""
    path = os.fspath(path)
    dirs = {os.path.dirname(os.path.abspath(path)), os.path.dirname(os.path.realpath(path))}
    found: dict = {}
    for directory in sorted(dirs):
        try:
            names = os.listdir(directory)
        except OSError:
            continue
        for name in names:
            if not TEMP_NAME.fullmatch(name):
                continue
            full = os.path.join(directory, name)
            try:
                st = os.lstat(full)
            except OSError:
                continue
            if not stat.S_ISREG(st.st_mode) or now - st.st_mtime < min_age:
                continue
            found[full] = st
    return found


def _in_use(candidates: dict) -> tuple[set, set]:
    """(paths some process has open or locked, uids whose processes could not be inspected).

    A match on the name alone (an fd's target in another mount namespace) or
    on the inode alone (/proc/locks) counts: a false match only keeps a file."""
    names = {os.path.basename(p): p for p in candidates}
    inodes: dict = {}
    for p, st in candidates.items():
        inodes.setdefault(st.st_ino, []).append(p)
    used: set = set()
    hidden_uids: set = set()
    try:
        with open("/proc/locks") as f:
            for line in f:
                for field in line.split():
                    parts = field.split(":")
                    if len(parts) == 3 and parts[2].isdigit() and int(parts[2]) in inodes:
                        used.update(inodes[int(parts[2])])
    except OSError:
        pass
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        fd_dir = f"/proc/{pid}/fd"
        try:
            fds = os.listdir(fd_dir)
        except FileNotFoundError:  # ended meanwhile
            continue
        except OSError:
            try:
                hidden_uids.add(os.stat(f"/proc/{pid}").st_uid)
            except OSError:
                pass
            continue
        for fd in fds:
            try:
                target = os.readlink(f"{fd_dir}/{fd}")
            except OSError:
                continue
            if target.endswith(" (deleted)"):
                target = target[:-len(" (deleted)")]
            hit = names.get(os.path.basename(target))
            if hit is not None:
                used.add(hit)
    return used, hidden_uids


def clean_stale_temps(path, min_age: float = MIN_AGE_S) -> list[str]:
    """Removes the stale ``.tmp-*.h5`` files beside the table or results file
    ``path`` (the rule is in the module's docstring); returns the removed
    paths. Never raises for a file it cannot inspect or remove: cleaning up
    must not make the open or compaction that calls it fail."""
    if not os.path.isdir("/proc/self/fd"):
        return []
    try:
        candidates = _candidates(path, min_age, time.time())
        if not candidates:
            return []
        used, hidden_uids = _in_use(candidates)
    except OSError:
        return []
    hidden_uids.discard(os.geteuid())
    removed = []
    for full, st in sorted(candidates.items()):
        if full in used or st.st_uid in hidden_uids:
            continue
        try:
            again = os.lstat(full)
            if (again.st_dev, again.st_ino) != (st.st_dev, st.st_ino):
                continue  # not the file examined
            os.unlink(full)
        except OSError:
            continue
        removed.append(full)
    return removed
