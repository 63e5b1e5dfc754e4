"""The company list that discovery writes and the reviews spider reads (CSV)."""

from __future__ import annotations

import csv
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from kernel.events import Brand


@dataclass(frozen=True)
class DiscoveredCompany:
    category: str
    sub_category: str
    name: str
    url: str  # the company's review page, absolute

    def to_brand(self, source: str) -> Brand:
        return Brand(name=self.name, category=self.category, sub_category=self.sub_category,
                     url=self.url, source=source)


COLUMNS = [f.name for f in fields(DiscoveredCompany)]


def write_companies_csv(path: Path, companies: list[DiscoveredCompany]) -> None:
    """Write ``category,sub_category,name,url`` rows (parent folders are created)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(asdict(company) for company in companies)


def read_companies_csv(path: Path) -> list[DiscoveredCompany]:
    """Read a company CSV; a missing column is a ValueError that names the file and the column."""
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        missing = [column for column in ("name", "url") if column not in (reader.fieldnames or [])]
        if missing:
            raise ValueError(f"{path}: missing column(s) {', '.join(missing)}; expected {','.join(COLUMNS)}")
        return [
            DiscoveredCompany(category=row.get("category") or "", sub_category=row.get("sub_category") or "",
                              name=row["name"], url=row["url"])
            for row in reader
            if row.get("url")
        ]
