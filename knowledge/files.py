"""Writing a whole folder so that readers see the old one or the new one, never half of either."""

import os
import shutil
import tempfile
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator


def publish(staging: Path, target: Path) -> None:
    """Move the finished `staging` folder to `target`, replacing an old one."""
    old = None
    if target.exists() or target.is_symlink():
        old = target.parent / f".{target.name}.old-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        os.replace(target, old)
    try:
        os.replace(staging, target)
    except BaseException:
        if old is not None:
            os.replace(old, target)
            old = None
        raise
    finally:
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)


@contextmanager
def staged_directory(target: Path) -> Iterator[Path]:
    """A scratch folder beside `target`; it replaces `target` when the block ends without an error,
    and is removed (leaving `target` as it was) when the block raises."""
    target.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.tmp-"))
    scratch.chmod(0o755)  # mkdtemp makes it private; the published folder should look like any other
    try:
        yield scratch
        publish(scratch, target)
    except BaseException:
        shutil.rmtree(scratch, ignore_errors=True)
        raise
