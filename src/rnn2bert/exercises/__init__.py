"""Exercise checks: ``check("chNN.name", answer)``, one module of checks per chapter."""
from . import ch02  # noqa: F401  (registers the chapter's exercises)
from .core import REGISTRY, RESULTS, Mistake, check

__all__ = ["check", "REGISTRY", "RESULTS", "Mistake"]
