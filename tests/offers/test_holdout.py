import pytest

from offers.holdout import holdout_position, in_holdout


def test_holdout_is_stable_for_an_id() -> None:
    ids = [f"customer-{n}" for n in range(1000)]
    first = [in_holdout(customer_id, 0.05) for customer_id in ids]
    assert [in_holdout(customer_id, 0.05) for customer_id in ids] == first


def test_holdout_takes_about_its_share_of_10k_ids() -> None:
    n_held = sum(in_holdout(f"customer-{n}", 0.05) for n in range(10_000))
    # 5% of 10k is 500 with a standard deviation of ~22: 4 sigma either side.
    assert 410 <= n_held <= 590


def test_holdout_groups_are_nested_as_the_share_grows() -> None:
    ids = [f"customer-{n}" for n in range(2000)]
    small = {i for i in ids if in_holdout(i, 0.05)}
    large = {i for i in ids if in_holdout(i, 0.10)}
    assert small < large


def test_holdout_position_is_the_first_8_bytes_of_the_salted_sha256() -> None:
    # sha256(b"encore-holdout:customer-1") starts 808ff97d920ca4bc; 0x808ff97d920ca4bc / 2**64
    assert holdout_position("customer-1") == 0.5021968776291482


@pytest.mark.parametrize(
    ("customer_id", "share", "expected"),
    [
        pytest.param(None, 0.5, False, id="no id"),
        pytest.param("", 0.5, False, id="empty id"),
        pytest.param("customer-1", 0.0, False, id="share zero"),
        pytest.param("customer-1", 1.0, True, id="share one"),
    ],
)
def test_holdout_edge_cases(customer_id: str | None, share: float, expected: bool) -> None:
    assert in_holdout(customer_id, share) is expected
