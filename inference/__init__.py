"""The inference room: the char-CNN and serving it; ``inference.training`` trains and judges models.

Other rooms type what they score with against ``inference.protocol.Scorer`` (``version``,
``score(texts)``; no torch import) and load the real one with ``inference.loading``.
"""
