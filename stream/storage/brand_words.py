"""What people complain about, and what they praise: Fightin' Words, computed in ClickHouse.

Monroe, Colaresi & Quinn (2008), "Fightin' Words": the log-odds ratio of a term between a
target group of reviews (a brand's bad ones) and the rest (its other ones), with an
informative Dirichlet prior from the whole store, divided by its standard deviation. The
z-score is why a term said twice in two bad reviews does not beat one said in forty: the
raw ratio of rare terms is large by chance, their z is not.

For a term w with y_t reviews in the target (n_t terms there in all), y_r in the rest (n_r),
and a share s_w of the store's terms::

    a_w      = a0 * s_w                                      (the prior; the a_w add up to a0)
    log_odds = log((y_t + a_w) / (n_t + a0 - y_t - a_w)) - log((y_r + a_w) / (n_r + a0 - y_r - a_w))
    z        = log_odds / sqrt(1 / (y_t + a_w) + 1 / (y_r + a_w))

Terms are made in the query (the text is never copied out): lower case (``’`` read as ``'``),
runs of letters with one inner apostrophe (``don't``), numbers and one-letter tokens dropped,
``STOP_WORDS`` dropped, then each token and each pair of neighbouring tokens (a bigram, over
the dropped words: "the refund was denied" gives "refund denied"). A review counts a term
once, so one long rant repeating a word does not make it the brand's complaint.

:func:`fightin_words_sql` takes the WHERE conditions of the two groups as SQL, so the Grafana
Brand dashboard writes them with macros and :func:`top_terms` with bound parameters.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from stream.storage.brand_story import BRAND_IN_PERIOD, BrandPeriod
from stream.storage.queries import SCORED

if TYPE_CHECKING:
    from stream.storage.clickhouse import Storage

TERM_COLUMNS = ("term", "z", "log_odds", "target_reviews", "rest_reviews")
#: a0: how many terms' worth of weight the store's own frequencies carry in each group. Small next to a
#: brand's groups the data decide; large, it pulls every rate to the store's and compares raw counts
#: (a term common in all of a brand's reviews then favours its larger group), so it is kept modest.
PRIOR_STRENGTH = 100.0
#: A term must be in at least this many target reviews to be listed.
MIN_REVIEWS = 2
MIN_TOKEN_CHARS = 2
#: Letters (any script), optionally one apostrophe and more letters: an re2 pattern as written inside an
#: SQL string literal (backslashes doubled, the apostrophe as '').
TOKEN_PATTERN = r"\\p{L}+(?:''\\p{L}+)?"
#: English function words. Negations (no, not, nor, never, don't, didn't, won't, ...) are kept on
#: purpose: complaints are often negated ("no refund", "not working").
STOP_WORDS = (
    "about", "above", "after", "again", "against", "all", "also", "am", "an", "and", "any", "are", "as",
    "at", "be", "because", "been", "before", "being", "below", "between", "both", "but", "by", "can",
    "could", "did", "do", "does", "doing", "down", "during", "each", "few", "for", "from", "further",
    "get", "got", "had", "has", "have", "having", "he", "he's", "her", "here", "hers", "herself", "him",
    "himself", "his", "how", "i'd", "i'll", "i'm", "i've", "if", "in", "into", "is", "it", "it's", "its",
    "itself", "just", "let's", "me", "more", "most", "my", "myself", "now", "of", "off", "on", "once",
    "one", "only", "or", "other", "our", "ours", "ourselves", "out", "over", "own", "same", "she",
    "she's", "should", "so", "some", "such", "than", "that", "that's", "the", "their", "theirs", "them",
    "themselves", "then", "there", "there's", "these", "they", "they're", "they've", "this", "those",
    "through", "to", "too", "under", "until", "up", "us", "very", "was", "we", "we're", "we've", "were",
    "what", "what's", "when", "where", "which", "while", "who", "whom", "why", "will", "with", "would",
    "you", "you'd", "you'll", "you're", "you've", "your", "yours", "yourself", "yourselves",
)


def sql_strings(values: tuple[str, ...]) -> str:
    """A ClickHouse array literal of ``values`` (quotes and backslashes escaped)."""
    return "[" + ", ".join("'" + v.replace("\\", "\\\\").replace("'", "''") + "'" for v in values) + "]"


def terms_sql(text: str = "text") -> str:
    """SELECT items: ``tokens`` of ``text`` and its distinct ``terms`` (tokens and bigrams), both arrays."""
    tokens = (f"arrayFilter(t -> lengthUTF8(t) >= {MIN_TOKEN_CHARS} AND NOT has({sql_strings(STOP_WORDS)}, t), "
              f"extractAll(replaceAll(lowerUTF8({text}), '’', ''''), '{TOKEN_PATTERN}'))")
    return (f"{tokens} AS tokens, arrayDistinct(arrayConcat(tokens, arrayMap((a, b) -> concat(a, ' ', b), "
            "arrayPopBack(tokens), arrayPopFront(tokens)))) AS terms")


def store_terms_select(source: str = "reviews") -> str:
    """How many reviews of ``source`` hold each term: what ``store_terms`` keeps (migration 9 and its view)."""
    return f"SELECT term, count() AS reviews FROM (SELECT {terms_sql()} FROM {source}) ARRAY JOIN terms AS term GROUP BY term"


def fightin_words_sql(target: str, rest: str, *, limit: int = 20, prior_strength: float = PRIOR_STRENGTH,
                      min_reviews: int = MIN_REVIEWS) -> str:
    """The ``limit`` terms most typical of the ``target`` rows against the ``rest`` rows, highest z first.

    ``target`` and ``rest`` are conditions on ``reviews`` (they should not overlap; a row in both
    counts as target); only their rows are tokenised. The prior's shares are the whole store's,
    read from ``store_terms`` (kept by a materialised view as reviews are inserted), so the cost
    follows the brand's reviews, not the store's size: tokenising a million reviews per call took
    7 s (``reviewpulse bench dashboards``). A term is never rarer in the store than in the two
    groups, so every listed term has a prior above zero. Columns: ``TERM_COLUMNS``, only terms with
    z > 0 in at least ``min_reviews`` target reviews.
    """
    a0 = float(prior_strength)
    return f"""
WITH groups AS (
    SELECT term, toFloat64(countIf(side = 1)) AS y_target, toFloat64(countIf(side = 2)) AS y_rest
    FROM (
        SELECT if(({target}), 1, 2) AS side, {terms_sql()}
        FROM reviews FINAL
        WHERE ({target}) OR ({rest})
    )
    ARRAY JOIN terms AS term
    GROUP BY term
)
SELECT term, z, log_odds, toUInt64(y_target) AS target_reviews, toUInt64(y_rest) AS rest_reviews
FROM (
    SELECT term, y_target, y_rest, {a0} * y_store / n_store AS alpha,
           log((y_target + alpha) / (n_target + {a0} - y_target - alpha))
               - log((y_rest + alpha) / (n_rest + {a0} - y_rest - alpha)) AS log_odds,
           log_odds / sqrt(1 / (y_target + alpha) + 1 / (y_rest + alpha)) AS z
    FROM (
        SELECT g.term AS term, g.y_target AS y_target, g.y_rest AS y_rest,
               greatest(toFloat64(s.reviews), g.y_target + g.y_rest) AS y_store,
               greatest(toFloat64((SELECT sum(reviews) FROM store_terms)), 1.0) AS n_store,
               sum(g.y_target) OVER () AS n_target, sum(g.y_rest) OVER () AS n_rest
        FROM groups AS g
        LEFT JOIN (SELECT term, sum(reviews) AS reviews FROM store_terms
                   WHERE term IN (SELECT term FROM groups) GROUP BY term) AS s ON s.term = g.term
    )
    WHERE y_target >= {int(min_reviews)}
)
WHERE z > 0 AND isFinite(z)
ORDER BY z DESC, term
LIMIT {int(limit)}"""


def top_terms(storage: Storage, period: BrandPeriod, label: str, limit: int = 20) -> list[dict[str, Any]]:
    """The brand's reviews labelled ``label`` in the period against its other reviews there, store-wide prior.

    ``label='bad'``: what people complain about; ``label='good'``: what they praise.
    """
    sql = fightin_words_sql(f"{BRAND_IN_PERIOD} AND label = {{label:String}}",
                            f"{BRAND_IN_PERIOD} AND label != {{label:String}} AND {SCORED}", limit=limit)
    return storage.query(sql, period.parameters(label=label))
