"""The built-in mechanism ``rad``: its torch-free spec (``spec``) and its implementation (``mechanism``)."""
