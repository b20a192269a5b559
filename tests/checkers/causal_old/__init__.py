"""The causal checker as it was before issue 15 (commit d70732c), kept
unchanged as a slow reference: test_causal_old_vs_new.py checks that the
one-pass CM kernel and the level-split driver give the same verdicts and
the same bad patterns.  Not registered as a checker."""

from .checker import check_causal

__all__ = ["check_causal"]
