"""deploy_tui.project.django_support: the Django/Python table, pins, and verdicts."""

from __future__ import annotations

import pytest

from deploy_tui.project import (
    RELEASES,
    DjangoPin,
    check_pin,
    django_release,
    format_pythons,
    newest_django_for,
    parse_django_pin,
    parse_python_version,
    supported_pythons,
)


def pin(spec: str) -> DjangoPin:
    return DjangoPin.from_specifier(spec)


# --- the table --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("django", "expected"),
    [
        ((1, 8), ((2, 7), (3, 5))),
        ((1, 11), ((2, 7), (3, 7))),
        ((2, 0), ((3, 4), (3, 7))),
        ((2, 2), ((3, 5), (3, 9))),
        ((3, 2), ((3, 6), (3, 10))),
        ((4, 1), ((3, 8), (3, 11))),
        ((4, 2), ((3, 8), (3, 12))),
        ((5, 0), ((3, 10), (3, 12))),
        ((5, 1), ((3, 10), (3, 13))),
        ((5, 2), ((3, 10), (3, 14))),
        ((6, 0), ((3, 12), (3, 14))),
        ((1, 11, 13), ((2, 7), (3, 7))),
    ],
)
def test_supported_pythons(django: tuple[int, ...], expected: tuple[tuple[int, int], tuple[int, int]]) -> None:
    assert supported_pythons(django) == expected


def test_unknown_releases() -> None:
    assert supported_pythons((1, 7)) is None
    assert supported_pythons((6, 1)) is None
    assert supported_pythons((5,)) is None


def test_table_shape() -> None:
    versions = [r.version for r in RELEASES]
    assert versions == sorted(versions)
    assert versions[0] == (1, 8)
    assert versions[-1] == (6, 0)
    assert {r.name for r in RELEASES if r.lts} == {"1.8", "1.11", "2.2", "3.2", "4.2", "5.2"}
    for release in RELEASES:
        assert list(release.pythons) == sorted(set(release.pythons))
        assert all(python in release.pythons for python, _ in release.added_in)
        assert all(patch[:2] == release.version for _, patch in release.added_in)
    one_eleven = django_release((1, 11))
    assert one_eleven is not None
    assert format_pythons(one_eleven.pythons) == "2.7, 3.4-3.7"  # 3.0-3.3 are a hole, not supported


@pytest.mark.parametrize(
    ("django", "python", "first"),
    [
        ((1, 11), (3, 7), (1, 11, 17)),
        ((2, 2), (3, 8), (2, 2, 8)),
        ((2, 2), (3, 9), (2, 2, 17)),
        ((3, 2), (3, 10), (3, 2, 9)),
        ((4, 2), (3, 12), (4, 2, 8)),
        ((5, 1), (3, 13), (5, 1, 3)),
        ((5, 2), (3, 14), (5, 2, 8)),
        ((5, 2), (3, 10), (5, 2, 0)),
        ((1, 11), (3, 3), None),
    ],
)
def test_patch_releases_that_added_a_python(
    django: tuple[int, int], python: tuple[int, int], first: tuple[int, int, int] | None
) -> None:
    release = django_release(django)
    assert release is not None
    assert release.first_patch_for(python) == first


def test_newest_django_for() -> None:
    choice = newest_django_for((3, 11))
    assert choice.newest is not None
    assert choice.newest.label == "5.2 LTS"
    assert [r.label for r in choice.lts] == ["5.2 LTS", "4.2 LTS"]
    assert choice.describe() == "Django 5.2 LTS or Django 4.2 LTS"

    py312 = newest_django_for((3, 12))
    assert py312.newest is not None
    assert py312.newest.name == "6.0"
    assert py312.describe() == "Django 6.0 or Django 5.2 LTS or Django 4.2 LTS"

    assert [r.name for r in newest_django_for((2, 7)).lts] == ["1.11", "1.8"]
    assert newest_django_for((3, 15)).newest is None
    assert newest_django_for((3, 15)).describe() == "no Django release deploy-tui knows"


# --- python --version -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Python 3.11.2", (3, 11)),
        ("Python 3.11.2\n", (3, 11)),
        ("Python 2.7.18", (2, 7)),
        ("Python 3.13.0rc1", (3, 13)),
        ("3.12", (3, 12)),
        ("3.12.1\n", (3, 12)),
        ("bash: line 1: python3: command not found", None),
        ("", None),
    ],
)
def test_parse_python_version(text: str, expected: tuple[int, int] | None) -> None:
    assert parse_python_version(text) == expected


# --- pins -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "low", "high", "high_inclusive", "text"),
    [
        ("==1.11.13", (1, 11, 13), (1, 11, 13), True, "1.11.13"),
        ("~=4.2", (4, 2), (5,), False, ">=4.2, <5"),
        ("~=4.2.0", (4, 2, 0), (4, 3), False, ">=4.2.0, <4.3"),
        ("==5.2.*", (5, 2), (5, 3), False, ">=5.2, <5.3"),
        (">=4.2,<5", (4, 2), (5,), False, ">=4.2, <5"),
        (">=1.11, <=2.2.28", (1, 11), (2, 2, 28), True, ">=1.11, <=2.2.28"),
        (">=4.2", (4, 2), None, False, ">=4.2 (latest)"),
        ("<5", None, (5,), False, "<5"),
        ("", None, None, False, "any version (latest)"),
        ("==5.0a1", (5, 0), (5, 0), True, "5.0"),
        (">=4.0,<5,>=4.2", (4, 2), (5,), False, ">=4.2, <5"),
    ],
)
def test_pin_ranges(
    spec: str, low: tuple[int, ...] | None, high: tuple[int, ...] | None, high_inclusive: bool, text: str
) -> None:
    parsed = pin(spec)
    assert (parsed.low, parsed.high, parsed.high_inclusive) == (low, high, high_inclusive)
    assert parsed.describe() == text
    assert parsed.latest == (high is None)


@pytest.mark.parametrize("spec", ["==", "~=4", ">=2,<1", "==1.11.1,==1.11.2", ">=4.2.*", "banana"])
def test_unreadable_pins(spec: str) -> None:
    with pytest.raises(ValueError, match=r"\S"):
        pin(spec)


def test_not_equal_is_kept_but_ignored() -> None:
    parsed = pin(">=4.2,!=4.2.3,<5")
    assert parsed.ignored == ("!=4.2.3",)
    assert (parsed.low, parsed.high) == ((4, 2), (5,))


@pytest.mark.parametrize(
    ("line", "spec"),
    [
        ("django==1.11.13", "==1.11.13"),
        ("Django==1.11.13  # the LTS", "==1.11.13"),
        ('Django[argon2] >= 4.2, < 5 ; python_version >= "3.8"', ">=4.2,<5"),
        ("django==5.2.3 --hash=sha256:abc", "==5.2.3"),
        ("Django", ""),
    ],
)
def test_parse_django_pin(line: str, spec: str) -> None:
    parsed = parse_django_pin(line, file="requirements.txt", line_number=3)
    assert parsed is not None
    assert (parsed.specifier, parsed.file, parsed.line_number, parsed.line) == (spec, "requirements.txt", 3, line)


@pytest.mark.parametrize("line", ["django-environ==0.11", "djangorestframework==3.15", "gunicorn", "# django==1.11"])
def test_parse_django_pin_ignores_other_packages(line: str) -> None:
    assert parse_django_pin(line) is None


def test_releases_a_pin_allows() -> None:
    assert pin("==1.11.13").allows_release((1, 11))
    assert not pin("==1.11.13").allows_release((2, 0))
    assert pin(">=4.2,<5").allows_release((4, 2))
    assert not pin(">=4.2,<5").allows_release((5, 0))
    assert pin(">=4.2,<5.0.1").allows_release((5, 0))
    assert not pin(">4.2").allows_release((4, 1))
    assert pin(">4.2").allows_release((4, 2))  # 4.2.1 and later
    assert pin("==5.2.3").max_patch((5, 2)) == 3
    assert pin("<5.2.8").max_patch((5, 2)) == 7
    assert pin("==5.2.*").max_patch((5, 2)) is None


# --- verdicts ---------------------------------------------------------------------------------


def test_django_1_11_on_python_3_11_is_refused_with_ways_out() -> None:
    verdict = check_pin(pin("==1.11.13"), (3, 11))
    assert not verdict.ok
    assert verdict.known
    assert verdict.installs is not None
    assert verdict.installs.name == "1.11"
    assert verdict.pythons_text == "2.7, 3.4-3.7"
    assert max(verdict.pythons) == (3, 7)
    assert verdict.ways_out is not None
    assert [r.label for r in verdict.ways_out.lts] == ["5.2 LTS", "4.2 LTS"]
    assert "Django 5.2 LTS or Django 4.2 LTS" in verdict.reason
    assert "cannot import name 'Iterator' from 'collections'" in verdict.reason


def test_a_good_pin() -> None:
    verdict = check_pin(pin("==5.2.3"), (3, 11))
    assert verdict.ok
    assert verdict.ways_out is None
    assert verdict.reason == "Django 5.2 LTS supports Python 3.11"


@pytest.mark.parametrize(
    ("spec", "python", "ok", "installs"),
    [
        ("==1.11.13", (3, 7), False, "1.11"),  # 3.7 came in 1.11.17
        ("==1.11.29", (3, 7), True, "1.11"),
        ("~=1.11.0", (3, 7), True, "1.11"),  # up to the latest 1.11.x
        ("==1.11.29", (2, 7), True, "1.11"),
        ("==4.2.7", (3, 12), False, "4.2"),  # 3.12 came in 4.2.8
        ("==4.2.8", (3, 12), True, "4.2"),
        (">=4.2,<5", (3, 11), True, "4.2"),
        (">=4.2,<5", (3, 13), False, "4.2"),
        ("==5.2.*", (3, 14), True, "5.2"),
        ("==5.2.3", (3, 14), False, "5.2"),
        ("", (3, 11), True, "5.2"),  # unpinned: pip takes the newest whose Requires-Python 3.11 meets
        ("", (3, 13), True, "6.0"),
        (">=1.11,<3", (3, 11), False, "2.2"),
        ("<2", (3, 4), True, "1.11"),
        ("==3.2.25", (3, 10), True, "3.2"),
        ("==2.2.13", (3, 9), False, "2.2"),
        ("==6.0.1", (3, 11), False, None),  # 6.0 needs 3.12
    ],
)
def test_verdicts(spec: str, python: tuple[int, int], ok: bool, installs: str | None) -> None:
    verdict = check_pin(pin(spec), python)
    assert verdict.ok is ok, verdict.reason
    assert (verdict.installs.name if verdict.installs else None) == installs
    assert (verdict.ways_out is None) is ok


def test_patch_too_old_says_which_patch() -> None:
    verdict = check_pin(pin("==4.2.7"), (3, 12))
    assert "from 4.2.8" in verdict.reason
    assert "at most 4.2.7" in verdict.reason


def test_nothing_installs_on_an_old_python() -> None:
    verdict = check_pin(pin(">=5"), (3, 9))
    assert not verdict.ok
    assert verdict.installs is None
    assert verdict.pythons_text == "3.12-3.14"  # of the newest release the pin allows
    assert verdict.ways_out is not None
    assert [r.name for r in verdict.ways_out.lts] == ["4.2", "3.2", "2.2"]
    assert "needs Python 3.10 or newer" in verdict.reason


def test_outside_the_table() -> None:
    newer = check_pin(pin(">=6.1"), (3, 13))
    assert (newer.ok, newer.known) == (True, False)
    newer_python = check_pin(pin(">=5.2"), (3, 15))
    assert (newer_python.ok, newer_python.known) == (True, False)
    older = check_pin(pin("==1.7.11"), (3, 11))
    assert (older.ok, older.known) == (False, False)
    assert "Django 5.2 LTS" in older.reason
