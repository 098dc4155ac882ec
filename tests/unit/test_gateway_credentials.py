"""The gateway's cache of API key / SCIM token answers, and SCIM errors."""
import pytest

from gateway.auth import InvalidToken, SecretVerifier
from gateway.problems import Problem
from gateway.scim import from_problem


class Clock:
    now = 0.0

    def __call__(self):
        return self.now


def test_a_positive_answer_is_cached_for_its_ttl_only():
    calls, clock = [], Clock()

    def identity(secret):
        calls.append(secret)
        return {"user_id": "k1"}

    verifier = SecretVerifier(identity, ttl=30, clock=clock)
    assert verifier.verify("rlk_a") == {"user_id": "k1"}
    clock.now = 29
    verifier.verify("rlk_a")
    assert calls == ["rlk_a"]
    clock.now = 31  # past the bound: identity is asked again (a revocation shows)
    verifier.verify("rlk_a")
    assert calls == ["rlk_a", "rlk_a"]
    assert all("rlk_a" not in key for key in verifier.cache)  # keyed by hash


def test_a_refusal_is_not_cached():
    answers = iter([InvalidToken("invalid-token", "no"), {"user_id": "k1"}])

    def identity(secret):
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        return answer

    verifier = SecretVerifier(identity, ttl=30, clock=Clock())
    with pytest.raises(InvalidToken):
        verifier.verify("rlk_new")
    assert verifier.verify("rlk_new") == {"user_id": "k1"}


@pytest.mark.parametrize("problem, status, scim_type", [
    (Problem(422, "invalidPath", "bad path"), 400, "invalidPath"),
    (Problem(422, "validation-error", "bad", {"name": ["x"]}), 400, "invalidValue"),
    (Problem(409, "email-taken", "taken"), 409, "uniqueness"),
    (Problem(400, "malformed-json", "not json"), 400, "invalidSyntax"),
    (Problem(404, "not-found", "no"), 404, None),
    (Problem(413, "payload-too-large", "big"), 413, None),
])
def test_service_problems_become_scim_errors(problem, status, scim_type):
    error = from_problem(problem)
    assert (error.status, error.scim_type) == (status, scim_type)
