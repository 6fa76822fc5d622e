"""The reproduction of Szyller & Asokan, "Conflicting Interactions Among Protection Mechanisms for Machine Learning
Models" (AAAI 2023), on top of :mod:`analysis`: the paper's published figures (:mod:`reproduction.paper`), the
tables that set ours beside them and the generator of docs/reproduction.md (:mod:`reproduction.tables`, the
``explorer reproduction`` command), its template (``template.md``) and the search spaces that produced the rows under
results/reproduction (``presets/``, listed by :func:`search_spaces.presets` through the entry-point group
``protection_explorer.presets``).

Importing this package imports nothing (the presets' entry point loads only :mod:`reproduction.presets`).
"""
