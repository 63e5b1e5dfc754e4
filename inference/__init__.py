"""The inference room: the char-CNN, text encoding, the batched scorer, training and evaluation.

Other rooms type what they score with against ``inference.protocol.Scorer`` (``version``,
``score(texts)``; no torch import) and load the real one with ``inference.scorer.Scorer.load``.
"""
