"""Run a fix right after a module is imported, so ``import mmdiffrep`` need not import it."""
import importlib.util
import sys
from typing import Callable, Iterable


class PatchOnImport:
    """A meta-path hook calling ``fix()`` once any of ``modules`` has been executed.

    Example:
        >>> sys.meta_path.insert(0, PatchOnImport(['mmcv.image.photometric'], fix))  # doctest: +SKIP
    """

    def __init__(self, modules: Iterable[str], fix: Callable[[], None]):
        self.modules = frozenset(modules)
        self.fix = fix

    def find_spec(self, fullname, path=None, target=None):
        if fullname not in self.modules:
            return None
        sys.meta_path.remove(self)
        try:
            spec = importlib.util.find_spec(fullname)
        finally:
            sys.meta_path.insert(0, self)
        if spec is None or spec.loader is None:
            return None
        original_exec = spec.loader.exec_module

        def exec_module(module):
            original_exec(module)
            self.fix()

        spec.loader.exec_module = exec_module
        return spec


def fix_now_and_on_import(modules: Iterable[str], fix: Callable[[], None]) -> None:
    """Apply ``fix`` to the already imported ``modules`` and hook the later imports (once)."""
    modules = tuple(modules)
    fix()
    if not any(isinstance(f, PatchOnImport) and f.fix is fix for f in sys.meta_path):
        sys.meta_path.insert(0, PatchOnImport(modules, fix))
