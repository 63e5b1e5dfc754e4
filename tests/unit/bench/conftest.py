import csv

import pytest


@pytest.fixture
def texts_csv(tmp_path):
    """A user's file whose text column is not called ``text``."""
    path = tmp_path / "mine.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["review", "stars"])
        for i in range(30):
            writer.writerow([f"review {i} " * (i % 7 + 1), 5])
    return path
