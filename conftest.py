"""Run the seed doctest (doctests/tracking.txt) before everything else."""

SEED = 'tracking.txt'


def pytest_collection_modifyitems(session, config, items):
    items.sort(key=lambda item: 0 if item.path.name == SEED
               and item.path.parent.name == 'doctests' else 1)
