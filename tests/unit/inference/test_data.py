"""Labelled CSVs: grouping, and clear errors naming the row or column."""

import pytest

from inference.training.data import DataError, read_labelled_csv, split_rows, star_to_class


def write(tmp_path, content: bytes, name="reviews.csv"):
    path = tmp_path / name
    path.write_bytes(content)
    return path


def test_groups_stars_into_bad_average_good(tmp_path):
    path = write(tmp_path, b"text,rating\nawful,1\nmeh,3\ngreat,5.0\nok,2\nnice,4\n")
    reviews = read_labelled_csv(path)
    assert reviews.labels == [0, 1, 2, 0, 2]
    assert reviews.classes == ("bad", "average", "good")


def test_ignore_center_drops_three_stars(tmp_path):
    path = write(tmp_path, b"text,rating\nawful,1\nmeh,3\ngreat,5\n")
    reviews = read_labelled_csv(path, ignore_center=True)
    assert reviews.texts == ["awful", "great"]
    assert reviews.labels == [0, 1]


def test_star_classes_without_grouping():
    assert [star_to_class(s, group_labels=False) for s in (1, 5)] == [0, 4]


def test_missing_column_is_named(tmp_path):
    path = write(tmp_path, b"review,stars\nawful,1\n")
    with pytest.raises(DataError, match="no column 'text'.*review, stars"):
        read_labelled_csv(path)


def test_empty_file(tmp_path):
    with pytest.raises(DataError, match="empty"):
        read_labelled_csv(write(tmp_path, b""))


def test_rating_outside_range_is_reported_with_its_row(tmp_path):
    path = write(tmp_path, b"text,rating\nfine,4\nodd,7\nnan,nan\n")
    reviews = read_labelled_csv(path)
    assert reviews.texts == ["fine"]
    assert [row for row, _ in reviews.rejected] == [3, 4]
    assert "'7'" in reviews.rejected[0][1] and "outside the ratings 1-5" in reviews.rejected[0][1]


def test_only_bad_rows_is_an_error_naming_the_row(tmp_path):
    with pytest.raises(DataError, match="no labelled rows.*row 2.*'five'"):
        read_labelled_csv(write(tmp_path, b"text,rating\nfine,five\n"))


def test_bad_rows_are_counted_never_silently_dropped(tmp_path):
    content = (b"text,rating,source\ngood one,5,a\n,4,a\ncaf\xe9 latin-1,5,a\nmeh,9,b\nfine,2,b\n"
               b"   ,3,b\nshort row\n")
    reviews = read_labelled_csv(write(tmp_path, content))
    assert reviews.texts == ["good one", "fine"]
    report = reviews.rejection_report()
    assert report["rows"] == 5
    assert report["by_reason"] == {"empty text": 2, "not valid UTF-8": 1, "bad rating": 2}
    assert [row for row, _ in reviews.rejected] == [3, 4, 5, 7, 8]
    assert report["examples"][0].startswith("row 3: empty text")
    # the subset a source filter makes keeps the record of what was skipped
    assert reviews.subset([0]).rejected == reviews.rejected


def test_non_utf8_file(tmp_path):
    with pytest.raises(DataError, match="not valid UTF-8"):
        read_labelled_csv(write(tmp_path, "text,rating\ncaf\u00e9,5\n".encode("latin-1")))


def test_prefix_split_keeps_the_old_files_validation_rows():
    old_train, old_validation = split_rows(100, 0.1, seed=42)
    train, validation = split_rows(250, 0.1, seed=42, prefix_rows=100)
    assert set(old_validation) <= set(validation) and set(old_train) <= set(train)
    assert not set(train) & set(validation) and len(train) + len(validation) == 250
    assert len([row for row in validation if row >= 100]) == 15


def test_missing_file(tmp_path):
    with pytest.raises(DataError, match="no such file"):
        read_labelled_csv(tmp_path / "nope.csv")


def test_split_is_seeded_and_disjoint():
    train_a, val_a = split_rows(100, 0.2, seed=3)
    train_b, val_b = split_rows(100, 0.2, seed=3)
    assert (train_a, val_a) == (train_b, val_b)
    assert len(val_a) == 20 and not set(train_a) & set(val_a)


def test_reading_a_corpus_leaves_the_csv_cell_limit_as_it_was(tmp_path):
    import csv

    before = csv.field_size_limit()
    reviews = read_labelled_csv(write(tmp_path, b"text,rating\n" + b"y" * 200_000 + b",5\n"))
    assert len(reviews.texts[0]) == 200_000
    assert csv.field_size_limit() == before
