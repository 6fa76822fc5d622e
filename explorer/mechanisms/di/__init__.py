"""The built-in mechanism ``di``: its torch-free spec (``spec``) and its implementation (``mechanism``)."""
