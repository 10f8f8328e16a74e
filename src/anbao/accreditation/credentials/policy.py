"""The access policy engine: rules as data (JsonLogic-like), compiled once, evaluated per scan.

A policy document::

    {"id": "epidemic-2020", "title": {"zh": "...", "en": "..."},
     "rules": [{"id": "zone1-nat-48h", "text": {"zh": "...", "en": "..."},
                "reason": "health_required", "outcome": "deny",
                "scope": {"zones": ["1"], "purposes": ["badge", "day_pass"]},
                "when": <logic, optional>, "require": <logic>}]}

A rule applies when its scope matches and ``when`` holds; it then refuses unless
``require`` holds. Logic nodes: literals, ``{"var": "credential.zones"}``, ``and``, ``or``,
``!``, ``==``, ``!=``, ``<``, ``<=``, ``>``, ``>=``, ``in``, and the domain operators
``attested`` ([kind, max_age_hours, {value fields}]) and ``hours_since`` ([kind]).
The same engine runs on the server and on offline gates.
"""

from __future__ import annotations

import functools
import itertools
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from anbao.accreditation.credentials.errors import PolicyError, Reason

ATTESTATION_KINDS = frozenset({"health_code", "nat_test", "vaccination", "training", "vetting"})
RULE_REASONS = frozenset(
    {
        Reason.ZONE_DENIED,
        Reason.VENUE_DENIED,
        Reason.HEALTH_REQUIRED,
        Reason.HEALTH_EXPIRED,
        Reason.PURPOSE_DENIED,
        Reason.POLICY_DENIED,
    }
)
OUTCOMES = ("deny", "attention")
VAR_ROOTS = frozenset(
    {
        "credential.purpose",
        "credential.event",
        "credential.category",
        "credential.zones",
        "credential.venues",
        "credential.plate",
        "checkpoint.code",
        "checkpoint.venue",
        "checkpoint.zone",
        "now",
    }
)
SCOPE_KEYS = {
    "zones": "checkpoint.zone",
    "venues": "checkpoint.venue",
    "checkpoints": "checkpoint.code",
    "categories": "credential.category",
    "purposes": "credential.purpose",
    "events": "credential.event",
}
MAX_DEPTH = 24
MAX_NODES = 4000
MAX_RULES = 200
PRESETS = ("epidemic-2020", "no-health")


@dataclass(frozen=True, slots=True)
class Attestation:
    """A time-bounded fact about the holder; ``at`` is when it was true (epoch seconds).

    For a test, ``at`` is the sample time; ``valid_until`` (epoch seconds) may cut it short.
    """

    kind: str
    value: Mapping[str, Any]
    at: int
    valid_until: int | None = None


@dataclass(slots=True)
class Context:
    """What a rule can see: the flat variables and the holder's attestations."""

    vars: dict[str, Any]
    attestations: Sequence[Attestation] = ()
    stale: bool = False  # set when an attestation matched but was too old


@dataclass(frozen=True, slots=True)
class RuleRef:
    """The rule that refused, named so that the decision can be explained (zh and en)."""

    id: str
    zh: str
    en: str


@dataclass(frozen=True, slots=True)
class Refusal:
    """A rule's refusal: the rule, its reason code and its outcome (deny or attention)."""

    rule: RuleRef
    reason: Reason
    outcome: str


Fn = Callable[[Context], Any]


@dataclass(frozen=True, slots=True)
class _Rule:
    ref: RuleRef
    reason: Reason
    outcome: str
    scope: tuple[tuple[str, frozenset[str]], ...]
    when: Fn | None
    require: Fn


# --- compiling logic -----------------------------------------------------------------------


class _Compiler:
    def __init__(self) -> None:
        self.nodes = 0

    def compile(self, node: Any, path: str, depth: int = 0) -> Fn:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise PolicyError(path, f"the policy has more than {MAX_NODES} nodes")
        if depth > MAX_DEPTH:
            raise PolicyError(path, f"logic nested deeper than {MAX_DEPTH}")
        if node is None or isinstance(node, bool | int | float | str):
            return _const(node)
        if isinstance(node, list):
            if not all(item is None or isinstance(item, bool | int | float | str) for item in node):
                raise PolicyError(path, "a list literal may hold only plain values")
            return _const(tuple(node))
        if not isinstance(node, dict) or len(node) != 1:
            raise PolicyError(path, "an operation is an object with exactly one operator")
        ((op, raw),) = node.items()
        sub = f"{path}.{op}"
        if op == "var":
            return self._var(raw, sub)
        args = raw if isinstance(raw, list) else [raw]
        if op in ("attested", "hours_since"):
            return self._domain(op, args, sub)
        spec = _OPS.get(op)
        if spec is None:
            raise PolicyError(sub, f"unknown operator {op!r}")
        lo, hi, make = spec
        if not lo <= len(args) <= hi:
            want = str(lo) if lo == hi else f"{lo}..{hi if hi < 99 else 'n'}"
            raise PolicyError(sub, f"{op!r} takes {want} arguments, got {len(args)}")
        fns = [self.compile(a, f"{sub}[{i}]", depth + 1) for i, a in enumerate(args)]
        return make(fns)

    def _var(self, raw: Any, path: str) -> Fn:
        if isinstance(raw, list) and len(raw) in (1, 2):
            name, default = raw[0], (raw[1] if len(raw) == 2 else None)
        else:
            name, default = raw, None
        if not isinstance(name, str) or name not in VAR_ROOTS:
            raise PolicyError(path, f"unknown variable {name!r}; known: {sorted(VAR_ROOTS)}")
        return lambda ctx: ctx.vars.get(name, default)

    def _domain(self, op: str, args: list[Any], path: str) -> Fn:
        kind = args[0] if args else None
        if not isinstance(kind, str) or kind not in ATTESTATION_KINDS:
            raise PolicyError(path, f"attestation kind must be one of {sorted(ATTESTATION_KINDS)}")
        if op == "hours_since":
            if len(args) != 1:
                raise PolicyError(path, "'hours_since' takes 1 argument: [kind]")
            return lambda ctx: _hours_since(ctx, kind)
        if len(args) not in (2, 3):
            raise PolicyError(path, "'attested' takes [kind, max_age_hours, {value fields}]")
        hours = args[1]
        if isinstance(hours, bool) or not isinstance(hours, int | float) or not 0 < hours <= 8760:
            raise PolicyError(f"{path}[1]", "max_age_hours must be a number in (0, 8760]")
        match = args[2] if len(args) == 3 else {}
        if not isinstance(match, dict) or not all(
            isinstance(v, str | int | float | bool) for v in match.values()
        ):
            raise PolicyError(f"{path}[2]", "value fields must be an object of plain values")
        items = tuple(match.items())
        max_age = int(hours * 3600)
        return lambda ctx: _attested(ctx, kind, max_age, items)


def _const(value: Any) -> Fn:
    return lambda ctx: value


def _attested(ctx: Context, kind: str, max_age: int, match: tuple[tuple[str, Any], ...]) -> bool:
    now = ctx.vars["now"]
    for a in ctx.attestations:
        if a.kind != kind or any(a.value.get(k) != v for k, v in match):
            continue
        if now - a.at <= max_age and (a.valid_until is None or now <= a.valid_until):
            return True
        ctx.stale = True
    return False


def _hours_since(ctx: Context, kind: str) -> float | None:
    times = [a.at for a in ctx.attestations if a.kind == kind]
    return (ctx.vars["now"] - max(times)) / 3600 if times else None


def _cmp(test: Callable[[Any, Any], bool]) -> Callable[[list[Fn]], Fn]:
    def make(fns: list[Fn]) -> Fn:
        def run(ctx: Context) -> bool:
            values = [f(ctx) for f in fns]
            try:
                return all(test(a, b) for a, b in itertools.pairwise(values))
            except TypeError:  # comparing a missing value or mixed types: not satisfied
                return False

        return run

    return make


def _in(fns: list[Fn]) -> Fn:
    needle, hay = fns

    def run(ctx: Context) -> bool:
        h = hay(ctx)
        try:
            return h is not None and needle(ctx) in h
        except TypeError:
            return False

    return run


def _and(fns: list[Fn]) -> Fn:
    return lambda ctx: all(f(ctx) for f in fns)


def _or(fns: list[Fn]) -> Fn:
    return lambda ctx: any(f(ctx) for f in fns)


def _not(fns: list[Fn]) -> Fn:
    f = fns[0]
    return lambda ctx: not f(ctx)


_OPS: dict[str, tuple[int, int, Callable[[list[Fn]], Fn]]] = {
    "and": (1, 99, _and),
    "or": (1, 99, _or),
    "!": (1, 1, _not),
    "==": (2, 2, _cmp(lambda a, b: a == b)),
    "!=": (2, 2, _cmp(lambda a, b: a != b)),
    "<": (2, 3, _cmp(lambda a, b: a < b)),
    "<=": (2, 3, _cmp(lambda a, b: a <= b)),
    ">": (2, 2, _cmp(lambda a, b: a > b)),
    ">=": (2, 2, _cmp(lambda a, b: a >= b)),
    "in": (2, 2, _in),
}
OPERATORS = frozenset(_OPS) | {"var", "attested", "hours_since"}


# --- documents -----------------------------------------------------------------------------


def _text(node: Any, path: str) -> tuple[str, str]:
    if not isinstance(node, dict) or not all(
        isinstance(node.get(k), str) and node.get(k) for k in ("zh", "en")
    ):
        raise PolicyError(path, 'text must be {"zh": "...", "en": "..."}')
    return node["zh"], node["en"]


def _rule(raw: Any, path: str, compiler: _Compiler) -> _Rule:
    if not isinstance(raw, dict):
        raise PolicyError(path, "a rule is an object")
    unknown = set(raw) - {"id", "text", "reason", "outcome", "scope", "when", "require", "note"}
    if unknown:
        raise PolicyError(path, f"unknown rule fields {sorted(unknown)}")
    rule_id = raw.get("id")
    if not isinstance(rule_id, str) or not rule_id:
        raise PolicyError(f"{path}.id", "a rule needs a non-empty id")
    zh, en = _text(raw.get("text"), f"{path}.text")
    try:
        reason = Reason(raw.get("reason", Reason.POLICY_DENIED))
    except ValueError:
        reason = None
    if reason not in RULE_REASONS:
        raise PolicyError(f"{path}.reason", f"reason must be one of {sorted(RULE_REASONS)}")
    outcome = raw.get("outcome", "deny")
    if outcome not in OUTCOMES:
        raise PolicyError(f"{path}.outcome", "outcome must be deny or attention")
    scope_raw = raw.get("scope", {})
    if not isinstance(scope_raw, dict) or set(scope_raw) - set(SCOPE_KEYS):
        raise PolicyError(f"{path}.scope", f"scope keys are {sorted(SCOPE_KEYS)}")
    scope = []
    for key, values in scope_raw.items():
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise PolicyError(f"{path}.scope.{key}", "a scope is a list of texts")
        scope.append((SCOPE_KEYS[key], frozenset(values)))
    if "require" not in raw:
        raise PolicyError(f"{path}.require", "a rule needs a require condition")
    when = compiler.compile(raw["when"], f"{path}.when") if "when" in raw else None
    return _Rule(
        ref=RuleRef(id=rule_id, zh=zh, en=en),
        reason=reason,
        outcome=outcome,
        scope=tuple(scope),
        when=when,
        require=compiler.compile(raw["require"], f"{path}.require"),
    )


@dataclass(frozen=True)
class Policy:
    """A validated, compiled policy; build it with :meth:`from_document`."""

    id: str
    zh: str
    en: str
    document: Mapping[str, Any] = field(repr=False)
    rules: tuple[_Rule, ...] = field(repr=False, default=())

    @classmethod
    def from_document(cls, doc: Any) -> Policy:
        """Validate and compile a policy document; raise :class:`PolicyError` with a path."""
        if not isinstance(doc, dict):
            raise PolicyError("$", "a policy is an object")
        policy_id = doc.get("id")
        if not isinstance(policy_id, str) or not policy_id:
            raise PolicyError("$.id", "a policy needs a non-empty id")
        zh, en = _text(doc.get("title"), "$.title")
        rules_raw = doc.get("rules")
        if not isinstance(rules_raw, list) or len(rules_raw) > MAX_RULES:
            raise PolicyError("$.rules", f"rules must be a list of at most {MAX_RULES}")
        compiler = _Compiler()
        rules = tuple(_rule(r, f"$.rules[{i}]", compiler) for i, r in enumerate(rules_raw))
        ids = [r.ref.id for r in rules]
        if len(set(ids)) != len(ids):
            raise PolicyError("$.rules", "rule ids must be unique")
        return cls(id=policy_id, zh=zh, en=en, document=doc, rules=rules)

    @classmethod
    def from_json(cls, text: str | bytes) -> Policy:
        """Parse and compile a JSON policy document."""
        try:
            doc = json.loads(text)
        except (ValueError, RecursionError) as exc:
            raise PolicyError("$", f"not JSON: {exc}") from None
        return cls.from_document(doc)

    def evaluate(self, ctx: Context) -> Refusal | None:
        """Return the first denying refusal (else the first ``attention`` one), or None."""
        attention: Refusal | None = None
        variables = ctx.vars
        for rule in self.rules:
            if not all(variables.get(var) in allowed for var, allowed in rule.scope):
                continue
            if rule.when is not None and not rule.when(ctx):
                continue
            ctx.stale = False
            if rule.require(ctx):
                continue
            reason = rule.reason
            if reason is Reason.HEALTH_REQUIRED and ctx.stale:
                reason = Reason.HEALTH_EXPIRED
            refusal = Refusal(rule=rule.ref, reason=reason, outcome=rule.outcome)
            if rule.outcome == "deny":
                return refusal
            attention = attention or refusal
        return attention


def check_document(doc: Any) -> list[PolicyError]:
    """Return the problems of a policy document (empty when it is valid)."""
    try:
        Policy.from_document(doc)
    except PolicyError as exc:
        return [exc]
    return []


def preset_document(name: str) -> dict[str, Any]:
    """Return a shipped preset's JSON document (``epidemic-2020`` or ``no-health``)."""
    if name not in PRESETS:
        raise KeyError(name)
    text = resources.files(__package__).joinpath(f"presets/{name}.json").read_text("utf-8")
    doc: dict[str, Any] = json.loads(text)
    return doc


@functools.lru_cache(maxsize=8)
def preset(name: str) -> Policy:
    """Return a shipped preset, compiled (once: a compiled policy is never changed)."""
    return Policy.from_document(preset_document(name))
