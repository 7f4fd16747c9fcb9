"""rnn2bert — the course library of *From RNN to BERT · 从 RNN 到 BERT*.

Every chapter starts with::

    import rnn2bert
    rnn2bert.setup()

which seeds every random number generator and sets the book's plot style (with a Chinese
font, so bilingual figure labels render). The chapters build each idea inline to teach it;
the tested version lives here and later chapters import it.
"""

from .environment import seed_everything, setup

__version__ = "0.1.0"
__all__ = ["setup", "seed_everything", "__version__"]
