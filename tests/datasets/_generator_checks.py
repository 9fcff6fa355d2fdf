"""Checks shared by the generators' tests: output hashes, temporary
siblings and failure injection."""
import hashlib
from pathlib import Path
from typing import Dict, List


def file_hashes(root: Path) -> Dict[str, str]:
    """Relative path -> sha256 of every file under ``root``."""
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob('*')) if p.is_file()
    }


def tmp_siblings(out_dir: Path) -> List[str]:
    """Names of ``OUT_DIR.*`` siblings (temporary or old copies)."""
    return sorted(p.name for p in out_dir.parent.iterdir()
                  if p.name.startswith(out_dir.name + '.'))


def fail_after(monkeypatch, module, name: str, calls_ok: int,
               exc: type) -> List[int]:
    """Make ``module.name`` raise ``exc`` after ``calls_ok`` successful
    calls; returns the list that records each call."""
    original = getattr(module, name)
    calls: List[int] = []

    def failing(*args, **kwargs):
        calls.append(1)
        if len(calls) > calls_ok:
            raise exc('injected failure')
        return original(*args, **kwargs)

    monkeypatch.setattr(module, name, failing)
    return calls
