"""One folder per built-in mechanism (``adv``, ``di``, ``dp``, ``rad``, ``wm``), each holding its torch-free
``spec.py`` (registered through the entry-point group of :mod:`explorer_core.registry`, as plug-ins are) and its
implementation ``mechanism.py`` (imported by :mod:`explorer.registry` on first lookup); ``base.py`` is the class
they and plug-ins extend. Importing this package or a spec imports no torch."""
