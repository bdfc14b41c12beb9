"""Files written whole or not at all."""

import errno

import pytest

from offers.staging import staged


def test_files_take_their_places_only_once_all_are_written(tmp_path):
    first, second = tmp_path / "a.csv", tmp_path / "b.csv"
    second.write_text("old")

    with staged(first, second) as (new_first, new_second):
        new_first.write_text("1")
        new_second.write_text("2")
        assert second.read_text() == "old"  # not yet

    assert (first.read_text(), second.read_text()) == ("1", "2")
    assert sorted(path.name for path in tmp_path.iterdir()) == ["a.csv", "b.csv"]


def test_a_failed_write_leaves_the_files_there_as_they_were(tmp_path):
    first, second = tmp_path / "a.csv", tmp_path / "b.csv"
    first.write_text("old")

    with pytest.raises(KeyboardInterrupt), staged(first, second) as (new_first, _):
        new_first.write_text("half")
        raise KeyboardInterrupt

    assert [path.name for path in tmp_path.iterdir()] == ["a.csv"]
    assert first.read_text() == "old"


def test_an_error_names_the_file_given_not_its_temporary_name(tmp_path):
    wanted = tmp_path / "feedback.csv"

    with pytest.raises(OSError) as raised, staged(wanted) as (temporary,):
        raise OSError(errno.ENOSPC, "No space left on device", str(temporary))

    assert (raised.value.filename, raised.value.errno) == (str(wanted), errno.ENOSPC)
