"""Tracker settings: intervals, and the configuration file.

The file is the original's: a ``[General]`` section (filepath,
application_name, application_version, submit_interval_s,
check_interval_s, debug, enabled) and an optional ``[HQ]`` section (host,
api_key). Keyword arguments given to ``load_from_configuration`` win over
the file.
"""

import configparser
import datetime
import numbers
import os

from cybertools_tracking.upload.uploader import checkSettings
from cybertools_tracking.usage.exceptions import (
    ConfigurationError, IntervalError)

GENERAL = 'General'
HQ = 'HQ'


def seconds(value, name='interval'):
    """An interval as seconds (int or float >= 0) from a number or a
    ``datetime.timedelta``; IntervalError otherwise."""
    if isinstance(value, datetime.timedelta):
        value = value.total_seconds()
    if isinstance(value, bool) or not isinstance(value, numbers.Real) \
            or value != value or value < 0 or value == float('inf'):
        raise IntervalError(value, name)
    return value


def _number(text):
    try:
        return int(text)
    except ValueError:
        return float(text)


def _text(text):
    return text


def _boolean(text):
    states = configparser.ConfigParser.BOOLEAN_STATES
    if text.lower() not in states:
        raise ValueError(text)
    return states[text.lower()]


def _interval(text):
    value = _number(text)
    seconds(value)
    return value


_GENERAL_KEYS = {
    'filepath': (_text, 'a file path'),
    'application_name': (_text, 'text'),
    'application_version': (_text, 'text'),
    'submit_interval_s': (_interval, 'a number of seconds >= 0'),
    'check_interval_s': (_interval, 'a number of seconds >= 0'),
    'debug': (_boolean, 'true or false'),
    'enabled': (_boolean, 'true or false'),
}
_HQ_KEYS = {
    'host': (_text, 'a host name or URL'),
    'api_key': (_text, 'text'),
}


def readConfiguration(path):
    """The tracker's keyword arguments from a configuration file.

    A missing or unreadable file, or a value of the wrong kind, is a
    ConfigurationError (a ValueError) naming the file and the key. Keys
    the tracker does not know are left out.
    """
    path = os.fspath(path)
    parser = configparser.ConfigParser(interpolation=None)
    try:
        with open(path, encoding='utf-8') as f:
            parser.read_file(f)
    except FileNotFoundError:
        raise ConfigurationError(
            f'{path}: no such configuration file') from None
    except (OSError, UnicodeDecodeError, configparser.Error) as exc:
        raise ConfigurationError(
            f'{path}: cannot read the configuration '
            f'({type(exc).__name__}: {exc})') from None
    kw = {}
    for section, keys in ((GENERAL, _GENERAL_KEYS), (HQ, _HQ_KEYS)):
        if not parser.has_section(section):
            continue
        for key, text in parser.items(section):
            if key not in keys:
                continue
            convert, kind = keys[key]
            try:
                kw[key] = convert(text.strip())
            except ValueError:
                raise ConfigurationError(
                    f'{path}: [{section}] {key} must be {kind}, not '
                    f'{text!r}') from None
    if 'filepath' in kw:
        if not kw['filepath']:
            raise ConfigurationError(
                f'{path}: [{GENERAL}] filepath must be a file path, not '
                f'empty')
        kw['filepath'] = os.path.expanduser(kw['filepath'])
    return kw


def loadConfiguration(path, **overrides):
    """readConfiguration(path) updated with overrides; a ConfigurationError
    when neither gives a filepath (nor a storage), or when the file's
    [HQ] section is wrong (see ``checkHQSection``)."""
    kw = readConfiguration(path)
    kw.update(overrides)
    if not kw.get('filepath') and kw.get('storage') is None:
        raise ConfigurationError(
            f'{os.fspath(path)}: [{GENERAL}] filepath is missing; add '
            f'"filepath = /path/to/usage.db" or pass filepath=...')
    checkHQSection(path, kw, overrides)
    return kw


def checkHQSection(path, kw, overrides):
    """Check the [HQ] settings kw took from the file at path (overrides
    are the caller's, checked by the tracker). An api_key without a host
    is a ConfigurationError naming the file and key, and so is a host
    the uploader's checkSettings refuses."""
    path = os.fspath(path)
    host, apiKey = kw.get('host'), kw.get('api_key')
    if 'host' in overrides:
        return
    if not host:
        if apiKey is not None:
            raise ConfigurationError(
                f'{path}: [{HQ}] host is missing or empty, but api_key is '
                f'set; add "host = www.example.com" (https is meant unless '
                f'you write http://) or pass host=...')
        if 'host' in kw:
            raise ConfigurationError(
                f'{path}: [{HQ}] host must be a host name or URL, not empty')
        return
    try:
        checkSettings(host, None)
    except ValueError as exc:
        raise ConfigurationError(
            f'{path}: [{HQ}] host must be a host name or URL such as '
            f'www.example.com or http://127.0.0.1:8080: {exc}') from None
