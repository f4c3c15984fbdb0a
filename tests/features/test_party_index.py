"""The unified Party-building index and its cross-walk."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from features.party_index import PartyIndexUnifier, fit_party_index


def _ratings(area: str, standard: str, levels: dict[str, int], day: str = "2023-06-01"):
    rows = [(area, standard, level) for level, n in levels.items() for _ in range(n)]
    frame = pd.DataFrame(rows, columns=["issuing_area", "native_standard", "native_level"])
    return frame.assign(award_date=pd.Timestamp(day))


STRICT = _ratings("wuxing", "star5", {"1": 10, "2": 20, "3": 40, "4": 20, "5": 10})
LENIENT = _ratings("anji", "star5", {"3": 10, "4": 40, "5": 50})


def test_levels_map_to_mid_rank_percentiles_within_their_area():
    unifier = PartyIndexUnifier(min_area_ratings=5).fit(pd.concat([STRICT, LENIENT]))
    cw = unifier.crosswalk_.set_index(["issuing_area", "native_level"])["unified"]
    assert cw[("wuxing", "1")] == 5.0  # bottom 10%: mid-rank 5
    assert cw[("wuxing", "3")] == 50.0
    assert cw[("anji", "5")] == 75.0  # top half: mid-rank 75
    # Five stars from a lenient area is worth less than five stars from a strict one.
    assert cw[("anji", "5")] < cw[("wuxing", "5")]
    for area in ("wuxing", "anji"):
        assert cw.loc[area].is_monotonic_increasing


def test_unseen_levels_unknown_areas_and_unrated_are_explicit():
    unifier = PartyIndexUnifier(min_area_ratings=5).fit(pd.concat([STRICT, LENIENT]))
    queries = pd.DataFrame(
        {
            "issuing_area": ["anji", "nanxun", "outside_pilot", "wuxing", "wuxing"],
            "native_standard": ["star5", "star5", "grade3", "star5", "star5"],
            "native_level": ["1", "4", "good", None, "9"],
        }
    )
    out = unifier.transform(queries)["party_index"].tolist()
    assert out[0] == 0.0  # unseen in Anji: nobody rated below it
    pooled = unifier.crosswalk_.query("issuing_area == '(pooled)' and native_level == '4'")
    assert out[1] == pooled["unified"].item()  # unknown area: pooled star5 distribution
    assert np.isnan(out[2])  # standard never seen in the reference period
    assert np.isnan(out[3])  # unrated
    assert np.isnan(out[4])  # not a level of the standard


def test_thin_areas_fall_back_to_the_pooled_distribution():
    thin = _ratings("nantaihu", "star5", {"5": 3})
    unifier = PartyIndexUnifier(min_area_ratings=30).fit(pd.concat([STRICT, LENIENT, thin]))
    assert "nantaihu" not in set(unifier.crosswalk_["issuing_area"])
    got = unifier.transform(thin.head(1))["party_index"].item()
    pooled = unifier.crosswalk_.query("issuing_area == '(pooled)' and native_level == '5'")
    assert got == pooled["unified"].item()


@settings(max_examples=30, deadline=None)
@given(
    later=st.lists(
        st.tuples(
            st.sampled_from(["wuxing", "anji", "nanxun"]),
            st.sampled_from(["1", "2", "3", "4", "5"]),
            st.integers(1, 400),
        ),
        max_size=40,
    )
)
def test_index_fitted_up_to_t_ignores_ratings_awarded_later(later):
    base = pd.concat([STRICT, LENIENT])
    extra = pd.DataFrame(
        [
            (area, "star5", level, pd.Timestamp("2024-06-30") + pd.Timedelta(days=d))
            for area, level, d in later
        ],
        columns=["issuing_area", "native_standard", "native_level", "award_date"],
    )
    before = fit_party_index(base, "2024-06-30", min_area_ratings=5).crosswalk_
    grown = pd.concat([base, extra]) if len(extra) else base
    after = fit_party_index(grown, "2024-06-30", min_area_ratings=5).crosswalk_
    pd.testing.assert_frame_equal(before, after)


def test_unified_index_tracks_true_quality_better_than_raw_levels():
    from features.party_scales import STANDARDS
    from features.simulator import simulate_portfolio

    book = simulate_portfolio(6000, 24, 11)
    ratings = book.tables["party_ratings"]
    unified = fit_party_index(ratings, "2023-12-31").transform(ratings)["party_index"]
    raw = [
        STANDARDS[s].levels.index(level) / (len(STANDARDS[s].levels) - 1)
        for s, level in zip(ratings["native_standard"], ratings["native_level"], strict=True)
    ]
    quality = ratings[["borrower_id"]].merge(book.truth["borrowers"], on="borrower_id")
    q = quality["party_quality"].to_numpy()
    assert np.corrcoef(unified, q)[0, 1] > np.corrcoef(raw, q)[0, 1] + 0.05


def test_a_unifier_restored_from_its_published_csv_maps_every_rating_identically(tmp_path):
    from features.simulator import simulate_portfolio

    ratings = simulate_portfolio(3000, 24, 11).tables["party_ratings"]
    fitted = fit_party_index(ratings, "2023-12-31", min_area_ratings=30)
    path = tmp_path / "party_crosswalk.csv"
    fitted.crosswalk_.to_csv(path, index=False)  # as training logs it to MLflow
    published = pd.read_csv(path)
    restored = PartyIndexUnifier.from_crosswalk(published, min_area_ratings=30)
    pd.testing.assert_frame_equal(restored.crosswalk_, fitted.crosswalk_, check_exact=True)
    pd.testing.assert_frame_equal(
        restored.transform(ratings), fitted.transform(ratings), check_exact=True
    )
    assert restored.get_params() == fitted.get_params()


def test_levels_read_back_as_numbers_are_levels_again():
    # A table of numeric scales only (stars, points) reads back from CSV as integers.
    fitted = PartyIndexUnifier(min_area_ratings=5).fit(pd.concat([STRICT, LENIENT]))
    as_read = fitted.crosswalk_.assign(native_level=fitted.crosswalk_["native_level"].astype(int))
    restored = PartyIndexUnifier.from_crosswalk(as_read, min_area_ratings=5)
    queries = pd.concat([STRICT, LENIENT])
    pd.testing.assert_frame_equal(
        restored.transform(queries), fitted.transform(queries), check_exact=True
    )


def test_a_crosswalk_missing_columns_or_inconsistent_is_refused():
    table = PartyIndexUnifier(min_area_ratings=5).fit(pd.concat([STRICT, LENIENT])).crosswalk_
    with pytest.raises(ValueError, match=r"lacks the column\(s\) count, source"):
        PartyIndexUnifier.from_crosswalk(table.drop(columns=["source", "count"]))
    with pytest.raises(ValueError, match="unknown source"):
        PartyIndexUnifier.from_crosswalk(table.assign(source="guess"))
    edited = table.assign(unified=table["unified"] + 1.0)
    with pytest.raises(ValueError, match="disagrees with its counts"):
        PartyIndexUnifier.from_crosswalk(edited)


def test_a_book_without_ratings_before_the_cutoff_gets_a_missing_index_for_everyone():
    from features.party_index import fit_party_index
    from features.simulator import simulate_portfolio

    ratings = simulate_portfolio(200, 24, 1).tables["party_ratings"]
    unifier = fit_party_index(ratings, "1990-01-01")
    assert unifier.crosswalk_.empty
    assert unifier.transform(ratings.head(20))["party_index"].isna().all()
