"""Datasets and transforms. The SynthPose generator lives in
:mod:`probpose_ext.datasets.synthpose` (imported on demand: it needs no
registry)."""
