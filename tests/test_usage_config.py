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
        assert t.uploader.url == \
            'https://www.usagetrackerapp.com/usagestats/upload'
        assert t.uploader.api_key == 'ldfh%ksg23'


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


def hq_config(tmp_path, hq_lines):
    return write(tmp_path, f'[General]\nfilepath = {tmp_path / "x.db"}\n'
                           f'[HQ]\n{hq_lines}')


@pytest.mark.parametrize('hq_lines, message', [
    ('api_key = k\n', r'\[HQ\] host is missing or empty, but api_key is '
                      r'set'),
    ('host =\napi_key = k\n', r'\[HQ\] host is missing or empty'),
    ('host =\n', r'\[HQ\] host must be a host name or URL, not empty'),
    ('host = ftp://hq.example\napi_key = k\n',
     r'\[HQ\] host must be a host name or URL .*scheme must be http'),
    ('host = hq.example?x=1\napi_key = k\n',
     r'\[HQ\] host must be a host name or URL .*query'),
])
def test_hq_section_errors_name_the_file_and_key(tmp_path, hq_lines,
                                                 message):
    import threading
    conf = hq_config(tmp_path, hq_lines)
    before = threading.active_count()
    with pytest.raises(ConfigurationError, match=message) as info:
        AnonymousUsageTracker.load_from_configuration(conf, 'u')
    assert str(info.value).startswith(f'{conf}: [HQ] host')
    assert isinstance(info.value, ValueError)
    # Refused before anything was opened.
    assert not (tmp_path / 'x.db').exists()
    assert threading.active_count() == before


def test_a_host_given_as_keyword_completes_the_hq_section(tmp_path):
    conf = hq_config(tmp_path, 'api_key = k\n')
    with AnonymousUsageTracker.load_from_configuration(
            conf, 'u', host='http://127.0.0.1:9') as t:
        if hasattr(t, 'uploader'):
            assert t.uploader.url == 'http://127.0.0.1:9/usagestats/upload'
            assert t.uploader.api_key == 'k'
    # A bad keyword is the caller's ValueError, not the file's.
    with pytest.raises(ValueError, match='scheme must be http') as info:
        AnonymousUsageTracker.load_from_configuration(conf, 'u',
                                                      host='ftp://x')
    assert not isinstance(info.value, ConfigurationError)


def test_a_host_without_api_key_sets_up_uploads_off(tmp_path):
    conf = hq_config(tmp_path, 'host = hq.example\n')
    with AnonymousUsageTracker.load_from_configuration(conf, 'u') as t:
        if hasattr(t, 'uploader'):
            assert t.uploader.blocked() == 'no api key is set'
            assert t.submit_statistics() is False
