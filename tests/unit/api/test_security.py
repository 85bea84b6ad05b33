"""The login rate limiter on an explicit clock."""

from __future__ import annotations

from hotline.api.security import LoginRateLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_pair_limit_slides_with_the_window() -> None:
    clock = Clock()
    limiter = LoginRateLimiter(3, 60.0, clock)
    for second in (0, 10, 20):
        clock.now = second
        assert limiter.retry_after("Alice", "10.0.0.1") is None
        limiter.failed("Alice", "10.0.0.1")
    assert limiter.retry_after("alice", "10.0.0.1") == 40.0  # usernames are case-blind
    assert limiter.retry_after("alice", "10.0.0.2") is None  # another client may still try
    clock.now = 60.5
    assert limiter.retry_after("alice", "10.0.0.1") is None  # the first failure expired
    limiter.succeeded("alice", "10.0.0.1")
    assert limiter.rejected == 1


def test_one_client_cannot_spray_many_usernames() -> None:
    clock = Clock()
    limiter = LoginRateLimiter(2, 60.0, clock)
    for n in range(2 * LoginRateLimiter.CLIENT_FACTOR):
        assert limiter.retry_after(f"user{n}", "10.0.0.9") is None
        limiter.failed(f"user{n}", "10.0.0.9")
    assert limiter.retry_after("someone-new", "10.0.0.9") == 60.0
    assert limiter.retry_after("someone-new", "10.0.0.10") is None


def test_state_is_swept_when_it_grows() -> None:
    class SmallLimiter(LoginRateLimiter):
        SWEEP_ABOVE = 10

    clock = Clock()
    limiter = SmallLimiter(5, 60.0, clock)
    for n in range(4):
        limiter.failed(f"user{n}", f"client{n}")
    assert limiter.tracked() == 8  # a pair key and a client key each
    clock.now = 120.0
    limiter.failed("late", "client")  # the tenth key triggers a sweep of expired ones
    assert limiter.tracked() == 2
