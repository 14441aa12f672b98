"""Output folders and files: checked before any work, replaced all-or-nothing, stale temporaries cleaned.

Every command writes into a temporary folder next to its output (``.<name>.tmp-*``) and then moves
the finished files in with :func:`publish`: the old outputs are first moved aside, and if any one of
them cannot be (a file held open by Excel on Windows, an immutable file) everything is put back, so a
folder never mixes new and old outputs.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

from wuzhong_geo.errors import InputError

#: A ``.<out>.tmp-*`` folder of ours older than this is left over from a killed run and removed.
STALE_AFTER_S = 24 * 3600
_SYSTEM = ("/proc", "/sys", "/dev")


def _refuse(option: str, path: Path | str, zh: str, en: str) -> InputError:
    return InputError(f"{option} {str(path)!r}: {zh} / {en}")


def _nearest_existing(path: Path) -> Path:
    probe = path
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    return probe


def check_target(path: Path | str, *, option: str = "--out", kind: str = "folder") -> Path:
    """Refuse an unusable output ``path`` (``kind``: folder or file) before any work is done."""
    if str(path).strip() == "":
        raise _refuse(option, path, "输出路径为空，请给出目录或文件名", "the output path is empty; give a folder or file name")
    path = Path(path)
    resolved = path.resolve()
    if any(str(resolved) == s or str(resolved).startswith(s + "/") for s in _SYSTEM):
        raise _refuse(option, path, "不能写入系统目录，请换一个输出位置", "cannot write into a system folder; choose another place")
    if kind == "folder" and path.exists() and not path.is_dir():
        raise _refuse(option, path, "已存在同名文件，应为目录；请改名或删除该文件",
                      "a file of that name exists, a folder is needed; rename or remove it")
    if kind == "file" and path.is_dir():
        raise _refuse(option, path, "这是一个目录，应为文件名（如 out/result.csv）",
                      "this is a folder; give a file name (e.g. out/result.csv)")
    existing = _nearest_existing(resolved if not path.exists() else resolved.parent)
    if not existing.is_dir():
        raise _refuse(option, path, f"上级路径 {existing} 是文件而不是目录", f"{existing} on the way is a file, not a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise _refuse(option, path, f"没有写入 {existing} 的权限，请换一个输出位置或修改权限",
                      f"no permission to write in {existing}; choose another place or fix the permissions")
    if path.exists() and not os.access(path, os.W_OK):
        raise _refuse(option, path, "目标只读，请换一个输出位置或修改权限",
                      "the target is read-only; choose another place or fix the permissions")
    return path


def clean_stale(out: Path, *, now: float | None = None) -> list[Path]:
    """Remove ``.<out>.tmp-*`` folders beside ``out`` that are ours (same owner) and older than a day."""
    out = Path(out)
    parent = out.parent if str(out.parent) else Path(".")
    now = time.time() if now is None else now
    removed = []
    if not parent.is_dir():
        return removed
    for entry in parent.glob(f".{out.name}.tmp-*"):
        try:
            st = entry.lstat()
        except OSError:
            continue
        # Only real folders (not symlinks) of this user, old enough that no run can still be writing.
        if entry.is_symlink() or not entry.is_dir() or st.st_uid != os.getuid() or now - st.st_mtime < STALE_AFTER_S:
            continue
        shutil.rmtree(entry, ignore_errors=True)
        removed.append(entry)
    return removed


def _make_tmp(parent: Path, name: str) -> Path:
    tmp = Path(tempfile.mkdtemp(dir=parent, prefix=f".{name}.tmp-"))
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o777 & ~umask)  # mkdtemp makes it private; the result folder should not be
    return tmp


@contextlib.contextmanager
def staging(out: Path | str, *, option: str = "--out", kind: str = "folder") -> Iterator[Path]:
    """Yield a temporary folder beside ``out``; the caller writes there and calls :func:`publish`.

    On an exception the temporary folder (and a parent folder this call created) is removed.
    """
    out = check_target(out, option=option, kind=kind)
    clean_stale(out)
    parent = out.parent if str(out.parent) else Path(".")
    created = [p for p in [parent, *parent.parents] if not p.exists()]
    parent.mkdir(parents=True, exist_ok=True)
    tmp = _make_tmp(parent, out.name)
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        for folder in created:  # innermost first: only folders this call made, and only if empty
            with contextlib.suppress(OSError):
                folder.rmdir()
        raise
    finally:
        if tmp.exists() and not any(tmp.iterdir()):
            tmp.rmdir()


def publish(tmp: Path, out: Path | str, names: Iterable[str] | None = None) -> list[Path]:
    """Move the files ``names`` (default: all) from ``tmp`` into ``out`` all-or-nothing; return them."""
    out = Path(out)
    names = sorted(p.name for p in tmp.iterdir()) if names is None else list(names)
    if not out.exists():
        os.replace(tmp, out)
        return [out / n for n in names]
    if not out.is_dir():
        raise _refuse("--out", out, "已存在同名文件，应为目录", "a file of that name exists, a folder is needed")
    backup = Path(tempfile.mkdtemp(dir=tmp, prefix=".old-"))
    moved_aside: list[str] = []
    moved_in: list[str] = []
    try:
        for name in names:
            if os.path.lexists(out / name):
                os.replace(out / name, backup / name)
                moved_aside.append(name)
        for name in names:
            os.replace(tmp / name, out / name)
            moved_in.append(name)
    except OSError as exc:
        for name in moved_in:
            with contextlib.suppress(OSError):
                os.replace(out / name, tmp / name)
        for name in moved_aside:
            with contextlib.suppress(OSError):
                os.replace(backup / name, out / name)
        shutil.rmtree(tmp, ignore_errors=True)
        blocked = Path(exc.filename or out).name
        raise InputError(
            f"--out {str(out)!r}: 无法替换 {blocked}（可能正被 Excel 等程序打开，或只读）；原有输出保持不变，"
            f"请关闭该文件后重试 / cannot replace {blocked} (open in Excel or read-only?); the previous "
            "outputs are unchanged — close the file and run again"
        ) from None
    shutil.rmtree(tmp, ignore_errors=True)
    return [out / n for n in names]


def write_file_atomically(out: Path | str, write, *, option: str = "--out") -> Path:
    """Write one output file via ``write(tmp_path)`` then rename it over ``out`` (checked first)."""
    out = check_target(out, option=option, kind="file")
    with staging(out, option=option, kind="file") as tmp:
        write(tmp / out.name)
        publish(tmp, out.parent if str(out.parent) else Path("."), [out.name])
    return out
