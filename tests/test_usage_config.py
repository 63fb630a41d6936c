"""load_from_configuration: the [General] and [HQ] sections, overrides,
and errors that name the file and the key."""

import pytest

from cybertools_tracking.usage import (
    AnonymousUsageError, AnonymousUsageTracker, ConfigurationError)
from cybertools_tracking.usage.config import readConfiguration


def write(tmp_path, text, name='tracker.conf'):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_general_and_hq(tmp_path):
    db = tmp_path / 'usage.db'
    conf = write(tmp_path, f'''
[General]
filepath = {db}
application_name = MyApp
application_version = 1.0.0
submit_interval_s = 500
check_interval_s = 2.5
debug = yes
enabled = off
unknown = ignored

[HQ]
host = www.usagetrackerapp.com
api_key = ldfh%ksg23
''')
    assert readConfiguration(conf) == {
        'filepath': str(db), 'application_name': 'MyApp',
        'application_version': '1.0.0', 'submit_interval_s': 500,
        'check_interval_s': 2.5, 'debug': True, 'enabled': False,
        'host': 'www.usagetrackerapp.com', 'api_key': 'ldfh%ksg23'}
    with AnonymousUsageTracker.load_from_configuration(conf, 'u') as t:
        assert t.filepath == str(db) and db.exists()
        assert (t.application_name, t.application_version) == \
            ('MyApp', '1.0.0')
        assert (t.submit_interval_s, t.check_interval_s) == (500, 2.5)
        assert t.enabled is False and t.debug is True
        if not hasattr(t, 'setup_hq'):
            assert t.hq_settings == {'host': 'www.usagetrackerapp.com',
                                     'api_key': 'ldfh%ksg23'}


def test_keywords_override_the_file(tmp_path):
    conf = write(tmp_path, '[General]\nfilepath = /nonexistent/x.db\n'
                           'application_name = FromFile\n')
    other = tmp_path / 'other.db'
    with AnonymousUsageTracker.load_from_configuration(
            conf, 'u', filepath=str(other), application_name='Mine') as t:
        assert t.filepath == str(other) and t.application_name == 'Mine'


def test_missing_file(tmp_path):
    missing = str(tmp_path / 'missing.conf')
    with pytest.raises(ValueError, match='missing.conf: no such '
                                         'configuration file'):
        AnonymousUsageTracker.load_from_configuration(missing, 'u')


@pytest.mark.parametrize('text', ['[General]\napplication_name = x\n',
                                  '[HQ]\nhost = h\n', '',
                                  '[General]\nfilepath =\n'])
def test_missing_filepath(tmp_path, text):
    conf = write(tmp_path, text)
    with pytest.raises(ConfigurationError,
                       match=r'tracker.conf: \[General\] filepath'):
        AnonymousUsageTracker.load_from_configuration(conf, 'u')


@pytest.mark.parametrize('key, value, kind', [
    ('submit_interval_s', 'hourly', 'a number of seconds'),
    ('check_interval_s', '-5', 'a number of seconds'),
    ('debug', 'maybe', 'true or false'),
    ('enabled', '2', 'true or false'),
])
def test_wrong_kind(tmp_path, key, value, kind):
    conf = write(tmp_path, f'[General]\nfilepath = {tmp_path / "x.db"}\n'
                           f'{key} = {value}\n')
    with pytest.raises(ValueError) as info:
        AnonymousUsageTracker.load_from_configuration(conf, 'u')
    message = str(info.value)
    assert 'tracker.conf' in message and f'[General] {key}' in message
    assert kind in message and repr(value) in message
    assert isinstance(info.value, AnonymousUsageError)
    assert not (tmp_path / 'x.db').exists()


def test_unreadable_file(tmp_path):
    conf = write(tmp_path, 'filepath = x.db\n')      # no section header
    with pytest.raises(ConfigurationError, match='cannot read'):
        AnonymousUsageTracker.load_from_configuration(conf, 'u')
