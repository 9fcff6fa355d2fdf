"""The common life cycle of a compatibility shim."""
from typing import Callable


class Shim:
    """A workaround that is installed only where the environment needs it.

    Args:
        needed (Callable[[], bool]): Whether this environment has the
            problem.
        install (Callable[[], None]): Installs the workaround.
        uninstall (Callable[[], None]): Restores the original behaviour.
    """

    def __init__(self, needed: Callable[[], bool], install: Callable[[], None],
                 uninstall: Callable[[], None]) -> None:
        self.needed = needed
        self._install = install
        self._uninstall = uninstall
        self._applied = False

    def is_applied(self) -> bool:
        return self._applied

    def apply(self) -> bool:
        """Install the workaround if needed (idempotent).

        Returns:
            bool: Whether the workaround is active.
        """
        if not self._applied and self.needed():
            self._install()
            self._applied = True
        return self._applied

    def remove(self) -> None:
        """Undo :meth:`apply` (used by tests to show the problem)."""
        if self._applied:
            self._uninstall()
            self._applied = False
