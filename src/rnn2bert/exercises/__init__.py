"""Exercise checks: ``check("chNN.name", answer)``, one module of checks per chapter.

``run_check("chNN.name", answer, hidden=False)`` returns a ``CheckResult`` instead of printing
(never raises); ``hidden=True`` runs the grader's variants, which no notebook shows.
"""

import importlib
import pkgutil

from .core import REGISTRY, RESULTS, CheckResult, Mistake, check, run_check

# Importing a chapter's module registers its exercises: every chNN module is loaded.
for _module in sorted(m.name for m in pkgutil.iter_modules(__path__) if m.name.startswith("ch")):
    importlib.import_module(f"{__name__}.{_module}")

__all__ = ["check", "run_check", "CheckResult", "REGISTRY", "RESULTS", "Mistake"]
