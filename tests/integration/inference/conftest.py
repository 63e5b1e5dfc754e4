import csv
import random

import pytest

GOOD = "great lovely excellent friendly tasty perfect amazing wonderful".split()
BAD = "awful rude cold dirty terrible slow broken horrible".split()
FILLER = "the food staff room app service place price was is and very".split()


def labelled_rows(count: int, seed: int = 0) -> list[tuple[str, int]]:
    """Short synthetic reviews whose stars follow their words: learnable, deterministic."""
    rng = random.Random(seed)
    rows = []
    for i in range(count):
        stars = (1, 3, 5)[i % 3]
        words = rng.sample(FILLER, 4)
        if stars == 5:
            words += rng.sample(GOOD, 2)
        elif stars == 1:
            words += rng.sample(BAD, 2)
        else:
            words += [rng.choice(GOOD), rng.choice(BAD)]
        rng.shuffle(words)
        rows.append((" ".join(words) + f" #{i}", stars))
    return rows


@pytest.fixture
def tiny_csv(tmp_path):
    path = tmp_path / "tiny.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "rating", "source"])
        for index, (text, stars) in enumerate(labelled_rows(50)):
            writer.writerow([text, stars, "alpha" if index % 2 else "beta"])
    return path
