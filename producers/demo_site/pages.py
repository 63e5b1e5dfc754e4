"""HTML for the demo site, shaped like a real review site so the crawler's selectors matter.

Category pages are static; a sub-category page is an empty shell whose company list is
fetched by JavaScript from a JSON endpoint after load (what makes Selenium necessary);
company pages carry their reviews in static HTML.
"""

from __future__ import annotations

from html import escape

from producers.demo_site.catalogue import Catalogue, Company, Review

STARS = "\u2605"


def layout(title: str, body: str) -> str:
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{escape(title)}</title></head>"
            f"<body><header><a href='/categories'>ReviewPulse demo reviews</a></header>{body}</body></html>")


def categories_page(catalogue: Catalogue) -> str:
    blocks = []
    for category in catalogue.categories:
        links = "".join(
            f"<li><a class='subcategory-link' href='/categories/{sub.slug}'>{escape(sub.name)}</a></li>"
            for sub in category.sub_categories
        )
        blocks.append(f"<section class='category' data-slug='{category.slug}'>"
                      f"<h2 class='category-name'>{escape(category.name)}</h2><ul>{links}</ul></section>")
    return layout("Categories", "<h1>Categories</h1>" + "".join(blocks))


SUBCATEGORY_SCRIPT = """
<script>
(async function () {
  const list = document.getElementById('company-list');
  const response = await fetch(list.dataset.endpoint);
  const data = await response.json();
  for (const company of data.companies) {
    const link = document.createElement('a');
    link.className = 'company-link';
    link.href = company.url;
    const name = document.createElement('span');
    name.className = 'company-name';
    name.textContent = company.name;
    link.appendChild(name);
    const item = document.createElement('li');
    item.appendChild(link);
    list.querySelector('ul').appendChild(item);
  }
  if (data.next) {
    const next = document.createElement('a');
    next.className = 'next-page';
    next.rel = 'next';
    next.href = data.next;
    next.textContent = 'Next page';
    document.getElementById('pagination').appendChild(next);
  }
  list.dataset.state = 'loaded';
})();
</script>
"""


def subcategory_page(category: str, name: str, slug: str, page: int) -> str:
    endpoint = f"/api/categories/{slug}/companies?page={page}"
    body = (f"<nav class='breadcrumb'>{escape(category)}</nav><h1 class='subcategory-name'>{escape(name)}</h1>"
            f"<div id='company-list' data-state='loading' data-endpoint='{endpoint}'><ul></ul></div>"
            f"<div id='pagination'></div>{SUBCATEGORY_SCRIPT}")
    return layout(name, body)


def review_html(review: Review) -> str:
    date = review.date.strftime("%Y-%m-%dT%H:%M:%SZ")
    if review.fault == "broken":
        # A half-rendered template: an attribute quote lost, a tag spilled into the attribute list.
        return (f"<article class='review' data-review-id='{review.key}'><div class='star-rating' "
                f"data-rating='{review.rating}'>{STARS * (review.rating or 0)}</div><time datetime='{date}'>"
                f"{review.date:%d %b %Y}</time><p class=review-text' <b>{escape(review.text)}</b></p></article>")
    stars = ("" if review.rating is None else
             f"<div class='star-rating' data-rating='{review.rating}'>{STARS * review.rating}</div>")
    return (f"<article class='review' data-review-id='{review.key}'>{stars}"
            f"<time datetime='{date}'>{review.date:%d %b %Y}</time>"
            f"<span class='reviewer'>{escape(review.reviewer)}</span>"
            f"<p class='review-text'>{escape(review.text)}</p></article>")


def company_page(company: Company, page: int, per_page: int) -> str:
    reviews = company.reviews[(page - 1) * per_page: page * per_page]
    pages = max(1, -(-len(company.reviews) // per_page))
    next_link = (f"<a class='next-page' rel='next' href='/review/{company.slug}?page={page + 1}'>Next</a>"
                 if page < pages else "")
    body = (f"<div class='company-header'><img class='company-logo' src='/logos/{company.slug}.svg' "
            f"alt='{escape(company.name)} logo'><h1 class='company-name'>{escape(company.name)}</h1>"
            f"<a class='company-website' href='{company.website}'>{company.website}</a></div>"
            f"<section class='reviews'>{''.join(review_html(r) for r in reviews)}</section>"
            f"<nav class='pagination'>Page {page} of {pages} {next_link}</nav>")
    return layout(f"{company.name} reviews", body)


def logo_svg(company: Company) -> str:
    initials = "".join(word[0] for word in company.name.split()[:2])
    return (f"<svg xmlns='http://www.w3.org/2000/svg' width='64' height='64'><rect width='64' height='64' "
            f"fill='#2a6'/><text x='32' y='40' font-size='24' text-anchor='middle' fill='#fff'>"
            f"{escape(initials)}</text></svg>")
