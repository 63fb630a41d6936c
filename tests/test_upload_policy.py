"""Reply verdicts, Retry-After and the backoff."""

import email.utils

import pytest

from cybertools_tracking.upload.policy import (
    BACKOFF_BASE_S, BACKOFF_MAX_S, RETRY_AFTER_MAX_S, Backoff, Verdict,
    classify, parseRetryAfter)


@pytest.mark.parametrize('status, verdict', [
    (200, Verdict.SUCCESS), (201, Verdict.SUCCESS), (204, Verdict.SUCCESS),
    (500, Verdict.RETRY), (502, Verdict.RETRY), (503, Verdict.RETRY),
    (408, Verdict.RETRY), (429, Verdict.RETRY), (None, Verdict.RETRY),
    (413, Verdict.SPLIT),
    (401, Verdict.STOP), (403, Verdict.STOP),
    (400, Verdict.SLOW), (404, Verdict.SLOW), (422, Verdict.SLOW),
    (302, Verdict.SLOW), (100, Verdict.SLOW),
])
def test_classify(status, verdict):
    assert classify(status) is verdict


NOW = 1_800_000_000


def test_retry_after_seconds_and_dates():
    assert parseRetryAfter('120', NOW) == 120
    date = email.utils.formatdate(NOW + 7200, usegmt=True)
    assert parseRetryAfter(date, NOW) == 7200
    past = email.utils.formatdate(NOW - 50, usegmt=True)
    assert parseRetryAfter(past, NOW) == 0
    assert parseRetryAfter(str(10 ** 9), NOW) == RETRY_AFTER_MAX_S
    for unreadable in (None, '', 'soon', '-5', '1.5e3'):
        assert parseRetryAfter(unreadable, NOW) is None


def test_backoff_doubles_with_jitter_up_to_the_maximum():
    low = Backoff(random=lambda: 0.0)
    high = Backoff(random=lambda: 1.0 - 1e-12)
    ceilings = [BACKOFF_BASE_S * 2 ** n for n in range(12)]
    for ceiling in ceilings:
        ceiling = min(ceiling, BACKOFF_MAX_S)
        assert low.fail() == ceiling / 2
        assert high.fail() == pytest.approx(ceiling)
    assert low.failures == 12
    low.reset()
    assert low.failures == 0
    assert low.fail() == BACKOFF_BASE_S / 2
    assert Backoff().slowest() == BACKOFF_MAX_S


def test_backoff_settings_are_checked():
    with pytest.raises(ValueError, match='0 < base <= maximum'):
        Backoff(base=0)
    with pytest.raises(ValueError, match='0 < base <= maximum'):
        Backoff(base=10, maximum=5)
