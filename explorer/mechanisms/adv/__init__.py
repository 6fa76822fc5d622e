"""The built-in mechanism ``adv``: its torch-free spec (``spec``) and its implementation (``mechanism``)."""
