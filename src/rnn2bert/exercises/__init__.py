"""Exercise checks: ``check("chNN.name", answer)``, one module of checks per chapter."""
import importlib
import pkgutil

from .core import REGISTRY, RESULTS, Mistake, check

# Importing a chapter's module registers its exercises: every chNN module is loaded.
for _module in sorted(m.name for m in pkgutil.iter_modules(__path__) if m.name.startswith("ch")):
    importlib.import_module(f"{__name__}.{_module}")

__all__ = ["check", "REGISTRY", "RESULTS", "Mistake"]
