"""API keys: an upload key ships inside every copy of an application, so it
is public in effect and may only upload; a read key reads its group's data
and may not upload.

A key is shown once, when it is made; the database keeps its SHA-256 only
(a key has 192 random bits, so a plain hash is enough: there is nothing
to guess). Keys are found by hash, named in lists and on the command line
by a short random key id.
"""

import secrets
import time

from persistent.mapping import PersistentMapping

from cybertools_tracking.hq.model import ensureGroup, keyHash

UPLOAD = 'upload'
READ = 'read'
KINDS = (UPLOAD, READ)
_PREFIX = {UPLOAD: 'ctu_', READ: 'ctr_'}
# "last used" is written at most this often per key: every client of an
# application shares its upload key, and a write per upload would make
# all their uploads conflict on it.
USED_RESOLUTION_S = 3600


def addKey(hq, group, kind, now=None):
    """Make a key of kind for group (creating the group) in the current
    transaction; return (key id, key). ValueError for an unknown kind or
    an empty group name."""
    if kind not in KINDS:
        raise ValueError(f'kind must be one of {", ".join(KINDS)}, '
                         f'not {kind!r}')
    if not isinstance(group, str) or not group.strip():
        raise ValueError(f'group must be a non-empty name, not {group!r}')
    ensureGroup(hq, group)
    while True:
        keyId = secrets.token_hex(4)
        if keyId not in hq['keys']:
            break
    key = _PREFIX[kind] + secrets.token_urlsafe(24)
    digest = keyHash(key)
    hq['keys'][keyId] = PersistentMapping(
        kind=kind, group=group, hash=digest,
        created=int(time.time() if now is None else now))
    hq['hashes'][digest] = keyId
    return keyId, key


def findKey(hq, key):
    """(key id, {'kind', 'group', ...}) for a key, or None when it is
    missing, unknown or revoked."""
    if hq is None or not isinstance(key, str) or not key:
        return None
    keyId = hq['hashes'].get(keyHash(key))
    if keyId is None:
        return None
    info = hq['keys'].get(keyId)
    return None if info is None else (keyId, info)


def touch(hq, keyId, now=None):
    """Record that the key was used (at most every USED_RESOLUTION_S)."""
    now = int(time.time() if now is None else now)
    used = hq['used']
    if now - used.get(keyId, 0) >= USED_RESOLUTION_S:
        used[keyId] = now


def listKeys(hq):
    """[{'id', 'kind', 'group', 'created', 'used'}] by group and id; never
    the key."""
    if hq is None:
        return []
    rows = [{'id': keyId, 'kind': info['kind'], 'group': info['group'],
             'created': info['created'], 'used': hq['used'].get(keyId)}
            for keyId, info in hq['keys'].items()]
    return sorted(rows, key=lambda row: (row['group'], row['id']))


def revokeKey(hq, keyId):
    """Revoke the key with this id; KeyError when there is none."""
    if hq is None or keyId not in hq['keys']:
        raise KeyError(keyId)
    info = hq['keys'][keyId]
    del hq['hashes'][info['hash']]
    del hq['keys'][keyId]
    if keyId in hq['used']:
        del hq['used'][keyId]
