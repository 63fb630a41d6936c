"""Dashboard accounts: people who log in to see their group's charts.

Stored in the HQ root in plain BTrees (no persistent class of its own)::

    hq['accounts']   user name -> PersistentMapping(group, salt, hash,
                                  n, r, p, created)
    hq['secret']     the key that signs session cookies (hex), made once

A password is never stored: hashlib.scrypt of it with a salt of the
account's own, and the cost parameters it was hashed with, so they can
rise later without breaking older accounts.
"""

import hashlib
import hmac
import secrets
import time

from BTrees.OOBTree import OOBTree
from persistent.mapping import PersistentMapping

ACCOUNTS = 'accounts'
SECRET = 'secret'
# scrypt's cost: 16 MiB of memory and some tens of milliseconds a try.
SCRYPT = {'n': 2 ** 14, 'r': 8, 'p': 1}
MAX_PASSWORD = 1024
MAX_NAME = 200


def ensureAccounts(hq):
    """The accounts tree and the session secret, created in the caller's
    transaction when missing (an HQ made before accounts existed)."""
    if ACCOUNTS not in hq:
        hq[ACCOUNTS] = OOBTree()
    if SECRET not in hq:
        hq[SECRET] = secrets.token_hex(32)
    return hq[ACCOUNTS]


def sessionSecret(hq):
    """The secret the session cookies are signed with, or None."""
    return None if hq is None else hq.get(SECRET)


def _hash(password, salt, n, r, p):
    return hashlib.scrypt(password.encode('utf-8'), salt=bytes.fromhex(salt),
                          n=n, r=r, p=p, maxmem=64 * 1024 * 1024,
                          dklen=32).hex()


def checkName(value, what):
    if not isinstance(value, str) or not value.strip() \
            or len(value) > MAX_NAME or value != value.strip():
        raise ValueError(f'{what} must be a non-empty name of at most '
                         f'{MAX_NAME} characters without leading or '
                         f'trailing spaces, not {value!r}')
    return value


def addUser(hq, group, user, password, now=None):
    """Create the account user in group, or give an existing one this
    group and password, in the caller's transaction; return True for a
    new account. ValueError for an empty or over-long name or password."""
    checkName(group, 'the group')
    checkName(user, 'the user name')
    if not isinstance(password, str) or not password:
        raise ValueError('the password must not be empty')
    if len(password) > MAX_PASSWORD:
        raise ValueError(f'the password must be at most {MAX_PASSWORD} '
                         f'characters')
    accounts = ensureAccounts(hq)
    salt = secrets.token_hex(16)
    new = user not in accounts
    accounts[user] = PersistentMapping(
        group=group, salt=salt, hash=_hash(password, salt, **SCRYPT),
        created=int(time.time() if now is None else now), **SCRYPT)
    return new


def authenticate(hq, user, password):
    """The group of user when password is theirs, else None. An unknown
    user costs a hash too, so a wrong name answers no faster than a
    wrong password."""
    accounts = hq.get(ACCOUNTS) if hq is not None else None
    account = accounts.get(user) if accounts is not None \
        and isinstance(user, str) else None
    if not isinstance(password, str) or len(password) > MAX_PASSWORD:
        return None
    if account is None:
        _hash(password, '00' * 16, **SCRYPT)
        return None
    tried = _hash(password, account['salt'], n=account['n'],
                  r=account['r'], p=account['p'])
    if hmac.compare_digest(tried, account['hash']):
        return account['group']
    return None


def groupOf(hq, user):
    """The group of an existing account, or None (a deleted account's
    session stops working)."""
    accounts = hq.get(ACCOUNTS) if hq is not None else None
    account = accounts.get(user) if accounts is not None else None
    return None if account is None else account['group']


def listUsers(hq):
    """[(user, group)] by user name; never a hash."""
    accounts = hq.get(ACCOUNTS) if hq is not None else None
    return [] if accounts is None else [
        (user, account['group']) for user, account in accounts.items()]
