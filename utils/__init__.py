"""Shared plumbing for the course notebooks: paths and modes, data, models, training, explainers, plots.

Notebooks import what they need, e.g. ``from utils import config, data``. Nothing here knows which
notebook calls it.
"""
