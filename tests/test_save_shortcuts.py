"""The save path's shortcuts for plain ints, strs and dicts give what the
general code gives, the same value or the same error; an int subclass is
a value they do not take, so it walks the general code."""

import collections
import types

import pytest
from hypothesis import given
from hypothesis import strategies as st
from ZODB.utils import p64, u64

from cybertools_tracking import trackkeys
from cybertools_tracking.btree import Track
from cybertools_tracking.index import FieldIndex
from cybertools_tracking.timestamps import TIME_MAX, TIME_MIN, toTimeStamp
from cybertools_tracking.validation import MAX_ID, checkData, checkRunId


class Int(int):
    """An int the shortcuts leave to the general code."""


def outcome(func, *args):
    try:
        return 'value', func(*args)
    except Exception as exc:
        return 'error', type(exc), str(exc)


def bothWays(func, plain, general):
    """The outcome of func on the plain arguments; asserts the general
    code's is the same, with results of the same type (a key is a str,
    a time stamp an int, whatever the type of what came in)."""
    one, other = outcome(func, *plain), outcome(func, *general)
    assert one == other
    if one[0] == 'value' and not isinstance(one[1], int):
        assert type(one[1]) is type(other[1])
    return one


EDGES = [-2 ** 64, -2 ** 63 - 1, -2 ** 63, -1, 0, 1, 15, 16, MAX_ID,
         2 ** 63, 2 ** 64 - 1, 2 ** 64, 10 ** 30]
numbers = st.one_of(st.sampled_from(EDGES), st.integers(0, 2 ** 64),
                    st.integers(-2 ** 65, 2 ** 65))
names = st.text(alphabet='\x00\x01\x02\x03a\xe9\U0001f600', max_size=6)
notNames = st.one_of(names, st.none(), st.integers(), st.binary(max_size=2))


@given(notNames, numbers, notNames, numbers, numbers, numbers)
def test_track_keys_from_plain_ints_are_the_general_keys(
        userName, runId, taskId, timeStamp, num, oid):
    result = bothWays(trackkeys.makeKey,
                      (userName, runId, taskId, timeStamp, num, oid),
                      (userName, Int(runId), taskId, Int(timeStamp),
                       Int(num), Int(oid)))
    if result[0] == 'value':
        assert trackkeys.split(result[1]) == (userName, runId, taskId,
                                              timeStamp, num)
        assert trackkeys.oidOf(result[1]) == oid


@pytest.mark.parametrize('position', [1, 3, 4, 5])
@pytest.mark.parametrize('edge', EDGES)
def test_track_keys_with_one_edge_value_are_the_general_keys(position, edge):
    plain = ['u\x00', 35, 't', 1_700_000_000, 99, 1234]
    plain[position] = edge
    general = [Int(value) if isinstance(value, int) else value
               for value in plain]
    bothWays(trackkeys.makeKey, plain, general)
    if position == 1:
        bothWays(trackkeys.taskKey, ('t', 'u', edge), ('t', 'u', Int(edge)))


@given(notNames, notNames, numbers)
def test_task_keys_from_plain_ints_are_the_general_keys(taskId, userName,
                                                        runId):
    result = bothWays(trackkeys.taskKey, (taskId, userName, runId),
                      (taskId, userName, Int(runId)))
    if result[0] == 'value':
        assert trackkeys.splitTaskKey(result[1]) == (taskId, userName,
                                                     runId)


@given(st.integers(1, 2 ** 63 - 1), st.integers(1, 2 ** 64 - 1))
def test_a_tracks_key_holds_its_oid(num, oid):
    track = Track('t\x00', 7, 'u', {})
    track.timeStamp = 1_700_000_000
    assert trackkeys.oidOf(trackkeys.trackKey(num, track)) == 0
    track._p_oid = p64(oid)
    key = trackkeys.trackKey(num, track)
    assert key == trackkeys.makeKey('u', 7, 't\x00', 1_700_000_000, num,
                                    u64(p64(oid)))
    assert trackkeys.oidOf(key) == oid


@given(st.one_of(st.sampled_from(EDGES), st.integers(-10, 10),
                 st.integers(2 ** 63 - 3, 2 ** 63 + 3)))
def test_run_ids_from_plain_ints_as_from_the_general_check(runId):
    result = bothWays(checkRunId, (runId,), (Int(runId),))
    assert (result[0] == 'value') == (0 <= runId <= MAX_ID)


@given(st.one_of(st.sampled_from([TIME_MIN - 1, TIME_MIN, 0, TIME_MAX,
                                  TIME_MAX + 1] + EDGES),
                 st.integers(TIME_MIN - 5, TIME_MAX + 5)))
def test_time_stamps_from_plain_ints_as_from_the_general_check(value):
    result = bothWays(toTimeStamp, (value,), (Int(value),))
    assert result[0] == 'value' if TIME_MIN <= value <= TIME_MAX else \
        result[:2] == ('error', ValueError)
    bothWays(toTimeStamp, (value, 'since', True), (Int(value), 'since', True))


@pytest.mark.parametrize('data, accepted', [
    ({'a': 1}, True),
    ({}, True),
    (collections.OrderedDict(a=1), True),
    (types.MappingProxyType({'a': 1}), True),
    ([('a', 1)], False),
    ('a', False),
    (None, False),
])
def test_track_data_must_be_a_mapping_dict_or_not(data, accepted):
    result = outcome(checkData, data)
    if accepted:
        assert result == ('value', None)
    else:
        assert result == ('error', TypeError,
                          f'track data must be a mapping (e.g. a dict), '
                          f'not {type(data).__name__}: {data!r}')


@pytest.mark.parametrize('probe', ['a', 'zz', 5, 5.0, b'a', ('a',), None,
                                   float('nan'), ['a']])
@pytest.mark.parametrize('keys', [['a', 'b'], [1, 2], [1.5]])
def test_an_index_answers_alike_before_and_after_learning_its_key_type(
        keys, probe):
    fresh = FieldIndex('state', reverse=False)
    learned = FieldIndex('state', reverse=False)
    for num, key in enumerate(keys, 1):
        fresh.index(num, key)
        learned.index(num, key)
    # Checking a value already indexed is what teaches the type.
    learned.checkValue(keys[0])
    assert outcome(learned.checkValue, probe) == \
        outcome(fresh.checkValue, probe)


def test_an_emptied_index_takes_values_of_another_type():
    index = FieldIndex('state', reverse=False)
    index.index(1, 'a')
    index.checkValue('a')
    with pytest.raises(TypeError, match="cannot be ordered.*use str"):
        index.checkValue(5)
    index.unindex(1, 'a')
    index.checkValue(5)
    index.index(1, 5)
    assert list(index.values()) == [5]
