import pickle

import pytest

from deploy_tui.core.secrets import MASK, Redactor, Secret


def test_a_secret_never_shows_its_value() -> None:
    secret = Secret("hunter22")
    for shown in (str(secret), repr(secret), f"{secret}", f"{secret!r}", format(secret, ">30")):
        assert "hunter22" not in shown
    assert secret.reveal() == "hunter22"


def test_a_secret_cannot_be_pickled() -> None:
    with pytest.raises(TypeError):
        pickle.dumps(Secret("hunter22"))


def test_redactor_masks_every_occurrence_longest_first() -> None:
    redact = Redactor()
    redact.add(Secret("pass"))
    redact.add("password123")
    assert redact("password123 and pass and pass") == f"{MASK} and {MASK} and {MASK}"


def test_redactor_ignores_trivially_short_values() -> None:
    redact = Redactor()
    redact.add("ab")
    assert redact("abc") == "abc"


def test_a_batch_is_masked_only_where_a_secret_is() -> None:
    redact = Redactor()
    assert redact.lines(["a", "b"]) == ["a", "b"]
    redact.add(Secret("hunter22"))
    clean = ["nothing", "here"]
    assert redact.lines(clean) is clean
    assert redact.lines(["ok", "pw=hunter22!"]) == ["ok", f"pw={MASK}!"]
