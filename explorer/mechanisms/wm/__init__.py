"""The built-in mechanism ``wm``: its torch-free spec (``spec``) and its implementation (``mechanism``)."""
