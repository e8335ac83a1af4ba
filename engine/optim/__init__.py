"""Optimizers: polar maps (``polar``), update rules (``rules``) and the registry that names them.

Import the modules themselves; the registry is kept free of torch so that configurations can be
checked (and refused) before torch is loaded.
"""
