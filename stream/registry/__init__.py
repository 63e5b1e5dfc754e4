"""The model registry: which artefacts exist and which scores (``store``), how a promote reaches every
worker (``control``), and how a worker swaps models between batches (``hotswap``)."""
