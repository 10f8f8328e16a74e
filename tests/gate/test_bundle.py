"""Bundles: a refused bundle never replaces the one held; the last good one is reloaded."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from anbao.accreditation.credentials.keys import Signer
from anbao.gate.bundle import BundleRefused, BundleStore
from tests.gate.factory import DAY, NOW, Keys, claims, envelope, payload, person

AT = datetime.fromtimestamp(NOW, UTC)


@pytest.fixture(scope="module")
def keys() -> Keys:
    return Keys()


def _store(tmp_path: Path, keys: Keys) -> BundleStore:
    return BundleStore(tmp_path, keys.root_public)


def test_a_good_bundle_is_installed_saved_and_reloaded(tmp_path: Path, keys: Keys) -> None:
    c = claims()
    store = _store(tmp_path, keys)
    env = envelope(keys, payload(keys, [person(c, 1, inside=True)], serial=3))
    b = store.accept(env, AT)
    assert (b.serial, set(b.people), b.inside) == (3, {c.cid.hex()}, frozenset({"a1"}))
    assert b.gate.zone == "1"
    again = _store(tmp_path, keys)
    loaded = again.load_saved(AT)
    assert loaded is not None
    assert loaded.serial == 3
    assert json.loads((tmp_path / "bundle.json").read_text()) == env


def _refused(store: BundleStore, env: dict[str, object], code: str) -> None:
    held = store.current
    with pytest.raises(BundleRefused) as err:
        store.accept(env, AT)
    assert err.value.code == code
    assert store.current is held
    assert store.last_refusal is err.value


def test_refused_bundles_keep_the_old_one(tmp_path: Path, keys: Keys) -> None:
    store = _store(tmp_path, keys)
    good = store.accept(envelope(keys, payload(keys, [person(claims(), 1)], serial=5)), AT)
    saved = (tmp_path / "bundle.json").read_bytes()

    forged = envelope(keys, payload(keys, [person(claims(), 2)], serial=6))
    sig = bytearray(base64.b64decode(forged["signature"]))
    sig[0] ^= 1
    forged["signature"] = base64.b64encode(bytes(sig)).decode()
    _refused(store, forged, "bad_signature")

    stranger = Signer.generate("gate_bundle")
    _refused(store, envelope(keys, payload(keys, [], serial=6), stranger), "unknown_key")

    other_root = Keys()
    _refused(store, envelope(other_root, payload(other_root, [], serial=6)), "untrusted_root")

    # The badge key, certified for badges only, signing a bundle.
    badge_as_bundle = Signer(kid=keys.badge.kid, purpose="gate_bundle", key=keys.badge.key)
    _refused(
        store, envelope(keys, payload(keys, [], serial=6), badge_as_bundle), "wrong_key_purpose"
    )

    _refused(store, envelope(keys, payload(keys, [], serial=4)), "older")
    _refused(store, {"format": "nope"}, "bad_format")

    assert store.current is good
    assert (tmp_path / "bundle.json").read_bytes() == saved
    assert store.current is not None
    assert store.current.serial == 5


def test_an_expired_bundle_key_is_refused(tmp_path: Path, keys: Keys) -> None:
    store = _store(tmp_path, keys)
    env = envelope(keys, payload(keys, [], serial=1))
    with pytest.raises(BundleRefused) as err:
        store.accept(env, datetime.fromtimestamp(NOW + 400 * DAY, UTC))
    assert err.value.code == "key_expired"
    assert store.current is None


def test_a_damaged_saved_bundle_is_ignored(tmp_path: Path, keys: Keys) -> None:
    (tmp_path / "bundle.json").write_text("{not json")
    assert _store(tmp_path, keys).load_saved(AT) is None
    env = envelope(keys, payload(keys, [], serial=1))
    env["payload"] = env["payload"][:-8] + "AAAAAAA="
    (tmp_path / "bundle.json").write_text(json.dumps(env))
    store = _store(tmp_path, keys)
    assert store.load_saved(AT) is None
    assert store.last_refusal is not None
