"""Training and judging models: nothing here runs while a review is scored.

``train`` (the loop) with ``options``, ``corpus``, ``checkpoint`` and ``word_pretrain``;
``data`` (labelled files), ``evaluate``, ``domains`` (leave-one-domain-out), ``metrics``,
``calibration``; retraining: ``candidates`` (a candidate from in-domain rows), ``head``,
``stacking``, ``base_corpus``, ``gates`` and ``precision_gate``.
"""
