"""Exercise checks: ``check("chNN.name", answer)``, one module of checks per chapter."""
from . import ch01, ch02, ch03, ch04, ch05, ch06, ch07, ch08, ch09  # noqa: F401  (registers the chapters' exercises)
from .core import REGISTRY, RESULTS, Mistake, check

__all__ = ["check", "REGISTRY", "RESULTS", "Mistake"]
