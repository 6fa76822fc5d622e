"""The built-in mechanism ``dp``: its torch-free spec (``spec``) and its implementation (``mechanism``)."""
