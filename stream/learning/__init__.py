"""The learning loop: ``retraining`` (rows -> candidate -> gates -> registry) and ``automatic``
(a retrain started when enough new labelled rows are stored)."""
