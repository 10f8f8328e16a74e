"""The policy engine: presets, the worked example, validation, and no crash on bad documents."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from anbao.accreditation.credentials.errors import PolicyError, Reason
from anbao.accreditation.credentials.policy import (
    OPERATORS,
    Attestation,
    Context,
    Policy,
    check_document,
    preset,
    preset_document,
)

NOW = 1_800_000_000
H = 3600


def ctx(zone: str = "1", category: str = "D", facts: tuple[Attestation, ...] = ()) -> Context:
    return Context(
        vars={
            "credential.purpose": "badge",
            "credential.event": "wic2026",
            "credential.category": category,
            "credential.zones": ("1", "2"),
            "credential.venues": ("wicc",),
            "credential.plate": "",
            "checkpoint.code": "wicc-n",
            "checkpoint.venue": "wicc",
            "checkpoint.zone": zone,
            "now": NOW,
        },
        attestations=facts,
    )


GREEN = Attestation("health_code", {"colour": "green"}, NOW - 2 * H)
NEGATIVE = Attestation("nat_test", {"result": "negative"}, NOW - 30 * H)

ZONE1 = {
    "id": "zone1",
    "title": {"zh": "1区规则", "en": "Zone 1 rule"},
    "rules": [
        {
            "id": "zone-1-health",
            "text": {
                "zh": "进入1区须持24小时内绿码及48小时内核酸阴性证明",
                "en": "Zone 1 needs a green code < 24 h old and a negative test < 48 h",
            },
            "reason": "health_required",
            "scope": {"zones": ["1"]},
            "require": {
                "and": [
                    {"attested": ["health_code", 24, {"colour": "green"}]},
                    {"attested": ["nat_test", 48, {"result": "negative"}]},
                ]
            },
        }
    ],
}


def test_presets_compile() -> None:
    assert preset("no-health").rules == ()
    epidemic = preset("epidemic-2020")
    assert epidemic.zh == "2020年战疫版通行规则"
    assert {r.ref.id for r in epidemic.rules} >= {"health-code-green-24h"}


def test_zone_1_example_allows_a_green_code_and_a_recent_negative_test() -> None:
    policy = Policy.from_document(ZONE1)
    assert policy.evaluate(ctx(facts=(GREEN, NEGATIVE))) is None


def test_zone_1_example_names_the_refusing_rule_in_both_languages() -> None:
    refusal = Policy.from_document(ZONE1).evaluate(ctx(facts=(GREEN,)))
    assert refusal is not None
    assert refusal.reason is Reason.HEALTH_REQUIRED
    assert refusal.rule.id == "zone-1-health"
    assert "1区" in refusal.rule.zh
    assert "Zone 1" in refusal.rule.en


def test_stale_attestation_gives_health_expired() -> None:
    old_test = Attestation("nat_test", {"result": "negative"}, NOW - 50 * H)
    refusal = Policy.from_document(ZONE1).evaluate(ctx(facts=(GREEN, old_test)))
    assert refusal is not None
    assert refusal.reason is Reason.HEALTH_EXPIRED


def test_attestation_past_its_valid_until_does_not_count() -> None:
    cut_short = Attestation("health_code", {"colour": "green"}, NOW - H, valid_until=NOW - 60)
    refusal = Policy.from_document(ZONE1).evaluate(ctx(facts=(cut_short, NEGATIVE)))
    assert refusal is not None
    assert refusal.reason is Reason.HEALTH_EXPIRED


def test_wrong_colour_is_health_required() -> None:
    yellow = Attestation("health_code", {"colour": "yellow"}, NOW - H)
    refusal = Policy.from_document(ZONE1).evaluate(ctx(facts=(yellow, NEGATIVE)))
    assert refusal is not None
    assert refusal.reason is Reason.HEALTH_REQUIRED


def test_scope_limits_a_rule_to_its_zone() -> None:
    assert Policy.from_document(ZONE1).evaluate(ctx(zone="2")) is None


def test_attention_outcome_and_plain_logic() -> None:
    doc = {
        "id": "p",
        "title": {"zh": "规则", "en": "rules"},
        "rules": [
            {
                "id": "media-escort",
                "text": {"zh": "媒体须陪同", "en": "Media need an escort"},
                "outcome": "attention",
                "when": {"==": [{"var": "credential.category"}, "E"]},
                "require": {"!": {"in": [{"var": "checkpoint.zone"}, ["1", "2"]]}},
            },
            {
                "id": "night",
                "text": {"zh": "夜间禁止", "en": "Closed at night"},
                "require": {"<=": [0, {"var": "now"}, NOW + 1]},
            },
        ],
    }
    policy = Policy.from_document(doc)
    refusal = policy.evaluate(ctx(category="E"))
    assert refusal is not None
    assert refusal.outcome == "attention"
    assert refusal.reason is Reason.POLICY_DENIED
    assert policy.evaluate(ctx(category="D")) is None


def test_hours_since_and_comparing_missing_values_do_not_crash() -> None:
    doc = {
        "id": "p",
        "title": {"zh": "规则", "en": "rules"},
        "rules": [
            {
                "id": "vaccinated",
                "text": {"zh": "须接种疫苗", "en": "Vaccination needed"},
                "require": {"<": [{"hours_since": ["vaccination"]}, 24 * 365]},
            }
        ],
    }
    policy = Policy.from_document(doc)
    assert policy.evaluate(ctx()) is not None  # None < 8760: not satisfied, no TypeError
    jab = Attestation("vaccination", {}, NOW - 100 * H)
    assert policy.evaluate(ctx(facts=(jab,))) is None


def _rule(require: object, **extra: object) -> dict:
    return {
        "id": "p",
        "title": {"zh": "规则", "en": "rules"},
        "rules": [{"id": "r", "text": {"zh": "规则", "en": "rule"}, "require": require, **extra}],
    }


@pytest.mark.parametrize(
    ("doc", "where", "what"),
    [
        (_rule({"xor": [1, 2]}), "$.rules[0].require.xor", "unknown operator"),
        (_rule({"!": [1, 2]}), "$.rules[0].require.!", "takes 1 arguments"),
        (_rule({"==": [1]}), "$.rules[0].require.==", "takes 2 arguments"),
        (_rule({"var": "person.name"}), "$.rules[0].require.var", "unknown variable"),
        (_rule({"attested": ["horoscope", 24]}), "$.rules[0].require.attested", "kind"),
        (_rule({"attested": ["nat_test", -1]}), "$.rules[0].require.attested[1]", "max_age"),
        (_rule({"attested": ["nat_test", 24, [1]]}), "$.rules[0].require.attested[2]", "value"),
        (_rule({"and": [1], "or": [2]}), "$.rules[0].require", "exactly one operator"),
        (_rule([{"var": "now"}]), "$.rules[0].require", "plain values"),
        (_rule(True, reason="no_such_reason"), "$.rules[0].reason", "reason"),
        (_rule(True, outcome="maybe"), "$.rules[0].outcome", "outcome"),
        (_rule(True, scope={"planets": []}), "$.rules[0].scope", "scope"),
        (_rule(True, colour="red"), "$.rules[0]", "unknown rule fields"),
        ({"id": "p", "title": {"zh": "x"}, "rules": []}, "$.title", "zh"),
        ({"id": "", "title": {"zh": "x", "en": "y"}, "rules": []}, "$.id", "id"),
        ([], "$", "object"),
    ],
)
def test_invalid_documents_get_a_clear_error(doc: object, where: str, what: str) -> None:
    with pytest.raises(PolicyError) as exc:
        Policy.from_document(doc)
    assert exc.value.path == where
    assert what in exc.value.message
    assert check_document(doc)


def test_deep_nesting_is_refused_not_a_recursion_error() -> None:
    node: object = True
    for _ in range(200):
        node = {"!": node}
    with pytest.raises(PolicyError, match="deeper"):
        Policy.from_document(_rule(node))
    with pytest.raises(PolicyError, match="not JSON"):
        Policy.from_json("[" * 100_000)


def test_preset_documents_are_json_files() -> None:
    doc = preset_document("epidemic-2020")
    assert Policy.from_json(json.dumps(doc)).id == "epidemic-2020"


_leaf = st.one_of(
    st.none(), st.booleans(), st.integers(), st.text(max_size=5),
    st.sampled_from([{"var": "now"}, {"var": "credential.zones"}, {"var": "checkpoint.zone"}]),
)  # fmt: skip
_logic = st.recursive(
    _leaf,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(
            st.sampled_from([*sorted(OPERATORS), "bogus"]),
            st.one_of(inner, st.lists(inner, max_size=3)),
            min_size=1,
            max_size=2,
        ),
    ),
    max_leaves=12,
)


@settings(max_examples=300)
@given(_logic)
def test_any_logic_either_compiles_and_evaluates_or_is_refused_cleanly(node: object) -> None:
    try:
        policy = Policy.from_document(_rule(node))
    except PolicyError:
        return
    policy.evaluate(ctx(facts=(GREEN, NEGATIVE)))
