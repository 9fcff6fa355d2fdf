"""Failure injection for the generators' atomicity tests."""
from typing import List


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
