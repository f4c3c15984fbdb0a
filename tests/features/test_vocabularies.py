"""The simulator's parameter tables and the rating registry agree with the vocabularies."""

from __future__ import annotations

from features import vocab
from features.party_scales import AREA_STANDARD, STANDARDS
from features.simulator import SimulationConfig, population, signals


def test_every_area_has_a_registered_standard():
    assert set(AREA_STANDARD) == set(vocab.AREAS)
    assert set(AREA_STANDARD.values()) <= set(STANDARDS)


def test_mix_tables_follow_vocabulary_order():
    assert population._INDUSTRY_MIX.shape == (len(vocab.BORROWER_TYPES), len(vocab.INDUSTRIES))
    assert population._SIZE_MIX.shape == (len(vocab.BORROWER_TYPES), len(vocab.SIZES))
    assert signals._COVERAGE.shape == (len(vocab.BORROWER_TYPES), len(vocab.SIGNALS))
    assert signals._KWH_PER_YUAN.size == len(vocab.INDUSTRIES)


def test_config_covers_every_segment():
    cfg = SimulationConfig()
    assert set(cfg.population.type_shares) == set(vocab.BORROWER_TYPES)
    assert set(cfg.population.area_shares) == set(vocab.AREAS)
    assert set(cfg.hazard.miss_intercept) == set(vocab.BORROWER_TYPES)
    assert set(cfg.book.median_amount) == set(vocab.BORROWER_TYPES)
    assert all(set(v) == set(vocab.SIZES) for v in cfg.book.median_amount.values())
    assert set(cfg.ratings.leniency) == set(vocab.AREAS)
    assert set(cfg.signals.lag_days) == set(vocab.SIGNALS)
    assert set(cfg.events.intercept) == set(vocab.EVENT_TYPES)
