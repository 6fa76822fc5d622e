"""The core layer under ``explorer``, ``search_spaces`` and ``analysis`` (DESIGN 2): what all three agree on and
nothing else imports from above. Torch-free and Ray-free.

- :mod:`explorer_core.spec`: the mechanism spec types (knob section, metrics, drop/rise rules, thresholds, cost);
- :mod:`explorer_core.registry`: the specs in use, built-ins and plug-ins through one entry-point group;
- :mod:`explorer_core.views`: views of the registry (tuples, sets, dicts) computed on demand;
- :mod:`explorer_core.config`: the typed, validated configuration of one trial and the knob validators;
- :mod:`explorer_core.thresholds`: the thresholds of the conflict rule;
- :mod:`explorer_core.rows`: the row schema (columns and their types, from the specs in use);
- :mod:`explorer_core.store`: the one row store (read, write, atomic write, URIs);
- :mod:`explorer_core.errors`: the one error root (:class:`~explorer_core.errors.UserError`: one line, exit 2).
"""
