import orjson
import pytest
from itsdangerous.encoding import base64_encode

from widget.errors import ApiError
from widget.tokens import TokenExpired, TokenSigner, Tracking, event_id

TRACKING = Tracking("shop", "req-1", "offer-1", "cust-1", 2, "thank_you")


def _payload(tracking: Tracking) -> str:
    return base64_encode(orjson.dumps(list(tracking[:6]))).decode()


def _replace_part(token: str, n: int, part: str) -> str:
    parts = token.split(".")
    parts[n] = part
    return ".".join(parts)


def test_a_signed_token_verifies_to_what_it_carries():
    signer = TokenSigner("secret", max_age_days=30)

    assert signer.verify(signer.sign(TRACKING)) == TRACKING


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(lambda t: t[:-2] + ("AA" if not t.endswith("AA") else "BB"), id="signature"),
        pytest.param(lambda t: t[:4] + ("A" if t[4] != "A" else "B") + t[5:], id="payload"),
        pytest.param(lambda t: _replace_part(t, 1, "AAAAAA"), id="timestamp"),
        pytest.param(lambda t: _replace_part(t, 2, ""), id="no signature"),
        pytest.param(
            lambda t: _replace_part(t, 0, _payload(TRACKING._replace(position=1))), id="swap"
        ),
        pytest.param(lambda t: t.split(".")[0], id="unsigned"),
        pytest.param(lambda t: "", id="empty"),
        pytest.param(lambda t: "a.b.c", id="garbage"),
    ],
)
def test_an_altered_token_is_refused(tamper):
    signer = TokenSigner("secret", max_age_days=30)

    with pytest.raises(ApiError) as refused:
        signer.verify(tamper(signer.sign(TRACKING)))

    assert (refused.value.status, refused.value.code) == (400, "invalid_token")
    assert refused.value.message == "the tracking token is not valid"


@pytest.mark.parametrize(
    "tracking",
    [
        pytest.param(TRACKING, id="offer"),
        pytest.param(TRACKING._replace(holdout=True), id="holdout"),
    ],
)
def test_a_token_is_what_itsdangerous_signs_for_the_same_payload_and_second(monkeypatch, tracking):
    monkeypatch.setattr("time.time", lambda: 1_780_000_000.5)
    signer = TokenSigner("secret", max_age_days=30)
    payload = tracking if tracking.holdout else tracking[:6]
    reference = signer._serializer.make_signer("encore.tracking.v1")

    token = signer.sign(tracking)

    assert token == reference.sign(base64_encode(orjson.dumps(list(payload)))).decode()
    assert signer.verify(token) == tracking


def test_a_token_signed_with_another_secret_is_refused():
    token = TokenSigner("another secret", max_age_days=30).sign(TRACKING)

    with pytest.raises(ApiError, match="not valid"):
        TokenSigner("secret", max_age_days=30).verify(token)


def test_an_expired_token_is_refused(monkeypatch):
    signer = TokenSigner("secret", max_age_days=1)
    token = signer.sign(TRACKING)
    later = __import__("time").time() + 2 * 86_400
    monkeypatch.setattr("itsdangerous.timed.time.time", lambda: later)

    with pytest.raises(TokenExpired) as refused:
        signer.verify(token)

    assert refused.value.message == "the tracking token has expired"
    assert refused.value.tracking == TRACKING  # what it was about, for a click to still open


def test_a_signed_payload_of_the_wrong_shape_is_refused():
    signer = TokenSigner("secret", max_age_days=30)
    token = signer._serializer.dumps(["shop", "req", "offer", "cust", "two", "thank_you"])

    with pytest.raises(ApiError, match="not valid"):
        signer.verify(token)


def test_event_ids_are_one_per_type_and_impression():
    other_offer = TRACKING._replace(offer_id="other")
    assert event_id("view", TRACKING) == event_id("view", TRACKING._replace(position=9))
    assert len({event_id("view", TRACKING), event_id("click", TRACKING)}) == 2
    assert event_id("view", TRACKING) != event_id("view", other_offer)


def test_the_holdout_arm_travels_in_the_token_only_when_true():
    signer = TokenSigner("secret", max_age_days=30)
    held = TRACKING._replace(holdout=True)

    assert signer.verify(signer.sign(held)) == held
    assert len(signer.sign(held)) > len(signer.sign(TRACKING))  # offer tokens stay as they were


def test_a_token_of_the_six_field_form_still_verifies_as_not_holdout():
    signer = TokenSigner("secret", max_age_days=30)
    token = signer._serializer.dumps(["shop", "req-1", "offer-1", "cust-1", 2, "thank_you"])

    assert signer.verify(token) == TRACKING
    assert signer.verify(token).holdout is False


@pytest.mark.parametrize(
    "extra",
    [pytest.param(False, id="false"), pytest.param(1, id="one"), pytest.param("y", id="text")],
)
def test_a_holdout_field_other_than_true_is_refused(extra):
    signer = TokenSigner("secret", max_age_days=30)
    token = signer._serializer.dumps(["shop", "req", "offer", "cust", 2, "thank_you", extra])

    with pytest.raises(ApiError, match="not valid"):
        signer.verify(token)
