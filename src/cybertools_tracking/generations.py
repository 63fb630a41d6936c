"""Schema generations of the saved TrackingStorage.

ZODB saves every persistent object as its class path and its attributes,
so those are a file format. A TrackingStorage records the generation of
that format it was saved in (``_generation``; a storage saved before
generations were recorded has none and is generation 0).

Evolving happens on open: when a storage of an older generation is
loaded, each step below turns its saved state into the next generation's,
in memory, so every reader (read-only ones too) sees the current layout.
The evolved state is stored the next time the storage object is written:
``cybertools-tracking check --repair`` (``evolve``) writes it, and so does
a reindex. A storage of a newer generation than this code knows is
refused when it is loaded (``SchemaError``), never half-read.

A step takes the state dict of one generation and returns the state dict
of the next; each has a test that opens a file of the older generation.
Where a generation changes objects other than the storage (the classes of
its tables' buckets), reading needs no step (the code reads both layouts)
and a store step rewrites those objects when the storage is evolved
(``STORE_STEPS``).
"""

from ZODB.POSException import POSError

GENERATION = 3
GENERATION_ATTRIBUTE = '_generation'


class SchemaError(POSError):
    """A database saved in a layout this code cannot read. A POSError, so
    ZODB raises it as it is from loading the storage, not wrapped in a
    StateLoadError that says nothing."""


def _evolve1(state):
    """Generation 1: the user-track table is stored as ``_userTracks``
    (it was ``_lastTracks``), the name it has everywhere else."""
    state = dict(state)
    if '_lastTracks' in state:
        state['_userTracks'] = state.pop('_lastTracks')
    return state


def _evolve2(state):
    """Generation 2: the track tree, the user-track table, the field
    indexes and the task-user sets keep their buckets packed (see
    ``buckets``), and a run-user table (``runUsers``: run id -> user
    names) replaces the runId index. The code reads plain buckets too, and
    queries a storage without a run-user table through its runId index,
    so an older file is read as it is."""
    return dict(state)


def _evolve3(state):
    """Generation 3: a new track is saved as a record inside its bucket of
    the track tree (see ``records``), not as an object of its own, and
    its user-track table key carries no oid; the run-user table holds a
    run's only user as the name alone, not a set. The code reads the
    tracks an older generation saved as objects beside records, and sets
    of one user, so an older file is read as it is."""
    return dict(state)


STEPS = {1: _evolve1, 2: _evolve2, 3: _evolve3}


def _store2(storage):
    """Rewrite the tables of a generation 1 storage in packed buckets: the
    track tree copied into a new one, every other table rebuilt from the
    tracks (which makes the run-user table and drops the runId index)."""
    storage._tracks = type(storage._tracks)(storage._tracks)
    storage.reindexTracks()


def _store3(storage):
    """Save every track an older generation saved as an object of its own
    as a record in its bucket, then rebuild the tables (their keys lose
    the tracks' oids); the objects are left to a pack to remove."""
    tracks = storage._tracks
    for num, value in list(tracks.items()):
        if type(value) is not tuple:
            record = storage._recordOf(value)
            if record is not value:
                tracks[num] = record
    storage.reindexTracks()


STORE_STEPS = {2: _store2, 3: _store3}


def generationOf(state):
    """The generation a saved storage state (a dict) was written in."""
    return state.get(GENERATION_ATTRIBUTE, 0)


def evolveState(state):
    """The state of the current generation for the saved state of any
    generation up to it; SchemaError for a newer one."""
    found = generationOf(state)
    if not isinstance(found, int) or found > GENERATION or found < 0:
        raise SchemaError(
            f'this tracking storage was saved in schema generation '
            f'{found!r}; this cybertools_tracking reads generations 0 to '
            f'{GENERATION}: upgrade cybertools_tracking to open it')
    for generation in range(found + 1, GENERATION + 1):
        state = STEPS[generation](state)
        state[GENERATION_ATTRIBUTE] = generation
    return state


def storedGeneration(storage):
    """The generation the storage is saved in (the current one for a
    storage that was never loaded from a database)."""
    return getattr(storage, '_v_storedGeneration', GENERATION)


def evolve(storage):
    """Mark a storage loaded from an older generation as changed, so the
    transaction stores it in the current one, and run the store steps of
    the generations after it; return the generation it was stored in."""
    stored = storedGeneration(storage)
    if stored < GENERATION:
        storage._p_changed = True
        for generation in range(stored + 1, GENERATION + 1):
            step = STORE_STEPS.get(generation)
            if step is not None:
                step(storage)
        storage._v_storedGeneration = GENERATION
    return stored
