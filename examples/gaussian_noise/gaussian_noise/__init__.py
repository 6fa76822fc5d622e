"""Gaussian-noise data augmentation as a protection-explorer plug-in mechanism (see README.md)."""
