"""The lessons wing: one module per notebook, where figures, widgets and lesson-only experiments live.

The core (:mod:`colorlib`) never imports this package. Each module's docstring names its
notebook; the list of its modules, each with the notebook it serves, is in :mod:`colorlib`'s
docstring and in README's module map (``tests/test_structure.py`` checks that both list every
module).
"""
