"""Flooding as a protection-explorer plug-in (docs/writing-a-mechanism.md)."""
