"""Run the seed doctest (doctests/tracking.txt) first: it opens the tour
as the original's README did. No doctest needs another to have run before
it; tests/test_doctests.py runs each one alone to keep it so."""

SEED = 'tracking.txt'


def pytest_collection_modifyitems(session, config, items):
    items.sort(key=lambda item: 0 if item.path.name == SEED
               and item.path.parent.name == 'doctests' else 1)
