"""The provision policy file: the shipped one loads, and each kind of wrong value is refused
with a message naming it."""

from __future__ import annotations

import copy

import pytest
import yaml

from provisions.policy import DEFAULT_POLICY_PATH, PolicyError, load_policy, parse_policy


@pytest.fixture()
def document() -> dict:
    return yaml.safe_load(DEFAULT_POLICY_PATH.read_text(encoding="utf-8"))


def test_shipped_policy_loads_with_its_version() -> None:
    policy = load_policy()
    assert policy.version == "2026.12-2"
    assert policy.lgd.for_borrower_type("private_enterprise") == pytest.approx(0.45)
    assert policy.lgd.for_borrower_type("farmer") == pytest.approx(0.50)
    assert sum(s.weight for s in policy.scenarios) == pytest.approx(1.0)


def test_fingerprint_follows_the_values_not_the_layout(document: dict) -> None:
    same = parse_policy(copy.deepcopy(document))
    assert same.fingerprint() == load_policy().fingerprint()
    document["lgd"]["default"] = 0.46
    assert parse_policy(document).fingerprint() != same.fingerprint()


@pytest.mark.parametrize(
    ("edit", "named"),
    [
        (lambda d: d["lgd"]["by_borrower_type"].update(fisherman=0.5), "unknown segment fisherman"),
        (lambda d: d["lgd"]["by_borrower_type"].update(farmer=1.2), "LGD outside 0..1"),
        (lambda d: d["lgd"].update(default=-0.1), "lgd.default"),
        (lambda d: d["scenarios"][0].update(weight=0.7), "scenario weights sum to 1.1"),
        (lambda d: d["scenarios"][1].update(name="base"), "scenario names repeat"),
        (lambda d: d["products"].pop("ordinary"), "missing ordinary"),
        (lambda d: d["products"].update(mortgage=d["products"]["ordinary"]), "unknown mortgage"),
        (lambda d: d["staging"].update(stage2_grades=["purple"]), "unknown grade purple"),
        (lambda d: d["staging"].update(impaired_events=["rumour"]), "unknown event type rumour"),
        (lambda d: d["staging"].update(stage2_dpd_over=95), "stage2_dpd_over must be below"),
        (lambda d: d["categories"].update(doubtful_dpd_over=80), "day floors must increase"),
        (lambda d: d["ratios"]["loan_provision"].update(low=0.03), "low 0.03 above high"),
        (lambda d: d.update(surprise=1), "surprise"),
    ],
)
def test_wrong_values_are_refused_by_name(document: dict, edit, named: str) -> None:
    edit(document)
    with pytest.raises(PolicyError, match=named):
        parse_policy(document, "policy.yaml")


def test_unreadable_file_is_named(tmp_path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text("- just\n- a list\n", encoding="utf-8")
    with pytest.raises(PolicyError, match="p.yaml: expected a mapping"):
        load_policy(path)
    with pytest.raises(PolicyError, match="cannot be read"):
        load_policy(tmp_path / "absent.yaml")
