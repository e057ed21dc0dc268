from dailypapers.web.ratelimit import RateLimiter


def test_sliding_window_per_key():
    now = [0.0]
    limiter = RateLimiter(2, 60, clock=lambda: now[0])
    assert limiter.hit("a") is None and limiter.hit("a") is None
    assert limiter.hit("a") == 60 and limiter.hit("b") is None  # each key has its own window
    now[0] = 30
    assert limiter.hit("a") == 30
    now[0] = 60.5
    assert limiter.hit("a") is None  # the first hit left the window
    assert RateLimiter(0, 60).hit("a") is None  # 0: no limit
