"""CLI edges: a company CSV without a URL column names the file and the column."""

from __future__ import annotations

from pathlib import Path

import pytest

from producers.companies import read_companies_csv


def test_company_csv_without_url_column_names_file_and_column(tmp_path: Path) -> None:
    path = tmp_path / "companies.csv"
    path.write_text("name,website\nAcme,https://acme.example\n")
    with pytest.raises(ValueError, match=r"companies\.csv: missing column\(s\) url"):
        read_companies_csv(path)


