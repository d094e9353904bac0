"""Shared plumbing for the course notebooks: paths and modes, data, models, training,
explainers, plots.

Notebooks import what they need, e.g. ``from utils import config, data``. Nothing here
knows which notebook calls it. Two kinds of module:

- mechanisms, one concept each and free of course settings: ``config``, ``download``,
  ``data``, ``models``, ``pretrained``, ``training``, ``hooks``, ``inputs``, ``shapley``
  (every SHAP call), ``occlusion``, ``cam``, ``faithfulness``, ``attribution``,
  ``nbdt``, ``plots``;
- ``recipes``: the course's presets (data subsets, training recipes, explainer settings)
  that several notebooks or benchmarks share. To change a notebook's settings, start
  there.

Lower modules never import higher ones (``recipes`` is the top).

The device rule: a helper given a model computes on that model's device
(``config.device_of(model)``), moves its inputs there, and returns results on the CPU.
Only code that *creates* a model (notebooks, loaders, recipes) reads ``config.DEVICE``.
"""
