"""The contracts of the usage layer.

The tracker and its trackables keep the original AnonymousUsage API;
every method is described here once, the classes only say which interface
they implement.
"""

from zope.interface import Attribute, Interface


class ITrackable(Interface):
    """A named value of a tracker; each change saves one track.

    A trackable is a task of the tracker's TrackingStorage: its tracks have
    taskId = name, userName = the tracker's uuid, runId = the tracker's
    run, and data {'Count': number} (plus 'State' for states). Its rows
    are those tracks, oldest first, plus changes not yet committed.
    """

    name = Attribute("str: the trackable's name (its taskId).")
    description = Attribute("str: what it tracks, as declared.")
    max_rows = Attribute(
        "int: the newest rows kept; older ones are removed as new ones "
        "are saved. The count is not affected.")
    count = Attribute(
        "number: the trackable's count (for a timer, seconds; for a state, "
        "how many times it changed; for a sequence, completed runs).")
    current_value = Attribute(
        "The value a report shows: the count, or the state for a State.")

    def insert(value):
        """What ``tracker[name] = value`` does (see each kind)."""

    def get_rows():
        """Return every row, oldest first: mappings with the original
        column names UUID, Count, Time (``%d/%m/%Y %H:%M:%S``, local) and,
        for states, State. They include changes not yet on disk."""

    def get_number_of_rows():
        """Return how many rows there are."""

    def get_first(n=1):
        """Return the n oldest rows (a list, oldest first)."""

    def get_last(n=1):
        """Return the n newest rows (a list, oldest first)."""

    def get_count():
        """Return the count."""

    def delete_first():
        """Remove the oldest row; the count stays."""

    def delete_last():
        """Remove the newest row; the count (and a state's state) goes
        back to the new newest row's (0 / NO_STATE when none is left)."""


class IStatistic(ITrackable):
    """A number: ``+= n``, ``-= n``, ``tracker[name] = n``."""

    startup_value = Attribute("number: the count when it was declared.")
    difference_from_startup = Attribute(
        "number: count - startup_value, the change in this session.")

    def __add__(n):
        """Add n (an int or float; TypeError otherwise), save a row and
        return the statistic itself, so ``tracker[name] += n`` works."""

    def __sub__(n):
        """Subtract n, save a row and return the statistic."""

    def set(value):
        """Set the count to value (a number) and save a row."""

    def increment(by=1):
        """Add by and return the new count."""

    def decrement(by=1):
        """Subtract by and return the new count."""

    def get_average(default=None):
        """Return count / number of rows, or default when there are no
        rows."""


class ITimer(IStatistic):
    """A statistic whose count is seconds spent; it only grows.

    Subtracting (``-=``, ``decrement``) raises NotImplementedError.
    """

    elapsed_time_s = Attribute(
        "float: seconds timed since start_timer (pauses left out), 0 when "
        "the timer is not running.")
    total_seconds = Attribute("number: the count.")
    total_minutes = Attribute("float: the count in minutes.")
    total_hours = Attribute("float: the count in hours.")
    total_days = Attribute("float: the count in days.")

    def start_timer():
        """Start timing (again from zero)."""

    def pause_timer():
        """Stop the clock without ending the timing; does nothing unless
        the timer runs."""

    def resume_timer():
        """Restart the clock after pause_timer."""

    def stop_timer():
        """End the timing: add its seconds to the count (one row) and
        return them; None (and nothing changes) if it was never started."""

    def format_time(n_seconds, seconds=True, minutes=True, hours=True,
                    days=True, years=True):
        """Return n_seconds as text like '1 hours 2 minutes 5 seconds';
        units turned off are carried into the smaller ones."""

    def formatted_total_time(**kw):
        """format_time of the count."""

    def formatted_average_time(**kw):
        """format_time of the average (0 without rows)."""

    def strftime(format, average=False):
        """time.strftime of the count (or the average) as a UTC time."""


class IState(ITrackable):
    """A setting's value over time, kept as text (``str(value)``)."""

    state = Attribute(
        "str or NO_STATE: the current state; assigning it inserts.")
    keep_redundant = Attribute(
        "bool: whether setting the same state again saves a row.")

    def set(value):
        """Insert value and return the state."""

    def insert(value):
        """Change the state to str(value) and save a row, unless it is
        already that state and keep_redundant is false."""


class ISequence(ITrackable):
    """How often checkpoints were passed in their order.

    Each checkpoint assigned goes into a window of the last
    len(checkpoints) ones; when the window equals the checkpoints in
    order, the count goes up by one (a row) and the window is cleared.
    """

    checkpoint = Attribute(
        "The last checkpoint passed, or None; assigning one inserts it.")
    sequence = Attribute("tuple: the window, oldest first.")
    checkpoints = Attribute("list: a copy of the declared checkpoints.")

    def insert(checkpoint):
        """Pass a checkpoint; InvalidCheckpointError if it is not one."""

    def set(checkpoint):
        """The same as insert."""

    def get_checkpoints(checkpoint=None):
        """Return a copy of the checkpoints (a list), as the original did;
        with a checkpoint, the checkpoints up to and including it
        (InvalidCheckpointError for one the sequence does not have). The
        window of checkpoints passed so far is ``sequence``."""

    def remove_checkpoint():
        """Drop the newest checkpoint from the window and return it (None
        when the window is empty)."""

    def clear_checkpoints():
        """Empty the window."""

    def advance_to_checkpoint(checkpoint):
        """Pass every checkpoint from the first up to checkpoint, in order;
        return it. InvalidCheckpointError if it is not one."""


class IChangeWriter(Interface):
    """Gets a tracker's changes (ops, see ``usage.rows``) into its storage.

    The tracker holds its lock (``lock``) around ``record`` so the order of
    ops is the order of the in-memory values.
    """

    runId = Attribute("int: the run the tracker's tracks are saved in.")
    lock = Attribute("The tracker's lock (an RLock).")
    maxPending = Attribute(
        "int: how many uncommitted changes make admit() wait (0: never).")
    uncommitted = Attribute("int: changes recorded but not yet committed.")

    def admit():
        """Called before a change, without the lock: waits while too many
        changes are uncommitted (the caller outpaces the disk)."""

    def record(op):
        """Take one op (called with the lock held). TrackerClosedError
        after close."""

    def pendingFor(name):
        """Return the ops recorded for trackable name and not committed."""

    def pendingRegistrations():
        """Return {name: entry} of registrations not committed."""

    def reading():
        """A context manager giving the TrackingStorage to read. While it
        is open nothing is committed, so stored tracks plus pendingFor()
        is exactly what was recorded."""

    def flush():
        """Commit everything recorded so far; return when it is on disk
        (in the synchronous writer: commit the caller's transaction manager
        if one was given)."""

    def close(stopRun=True):
        """Flush, stop the run (if stopRun and the writer started it) and
        release the connections."""


class IUsageTracker(Interface):
    """The AnonymousUsageTracker: a set of trackables of one user (uuid)."""

    uuid = Attribute("str: the user's identifier (the tracks' userName).")
    filepath = Attribute("str or None: the database file, None when the "
                         "tracker writes into a storage it was given.")
    db = Attribute("The ZODB.DB (None for a storage without a database).")
    run_id = Attribute("int: the run started when the tracker opened.")
    application_name = Attribute("str")
    application_version = Attribute("str")
    submit_interval_s = Attribute("number: seconds between uploads.")
    check_interval_s = Attribute("number: seconds between upload checks.")
    enabled = Attribute(
        "bool: the permission to upload (as in the original); when false "
        "nothing is uploaded, and changes are still recorded locally.")
    states = Attribute("list: the State trackables, by name.")
    statistics = Attribute("list: the Statistic trackables (not timers).")
    timers = Attribute("list: the Timer trackables.")
    sequences = Attribute("list: the Sequence trackables.")

    def track_statistic(name, description='', max_rows=None):
        """Declare a Statistic (restoring its count from the database).

        name: a non-empty str (TableNameError); a name this tracker tracks
        already, or one stored as another kind, is TableConflictError.
        max_rows: an int >= 1, MAX_ROWS_PER_TABLE when None.
        """

    def track_state(name, initial_state, description='', max_rows=None,
                    keep_redundant=False):
        """Declare a State; initial_state (or NO_STATE) is inserted only if
        the database holds no row for it."""

    def track_time(name, description='', max_rows=None):
        """Declare a Timer."""

    def track_sequence(name, checkpoints, description='', max_rows=None):
        """Declare a Sequence; checkpoints: a non-empty list or tuple."""

    def __getitem__(name):
        """Return the trackable, or None if name is not tracked."""

    def __setitem__(name, value):
        """trackable.insert(value); UnknownTrackableError for an unknown
        name. Assigning the trackable itself (``+=``) does nothing more."""

    def registry(internal=False):
        """Return {name: {'type', 'description', 'checkpoints',
        'max_rows'}} from the database, including trackables declared in
        earlier sessions; internal names ('__...') only if asked."""

    def get_table_info(field=None):
        """Return {name: {'type': ..., 'description': ...}} of the
        registry, or {name: value} of one field ('type' or 'description';
        ValueError otherwise)."""

    def get_row_count():
        """Return {name: {'nrows': int}} of the declared trackables."""

    def enable():
        """Allow uploads again; return the original's message
        'Uploading of statistics has been enabled'."""

    def disable():
        """Stop uploads (submit_statistics returns False, the watcher
        sends nothing) until enable(); local statistics keep working.
        Return 'Uploading of statistics has been disabled'."""

    def flush():
        """Commit everything recorded; return when it is on disk."""

    def close():
        """Close the uploader (if any), flush, stop the run, close the
        database the tracker opened. Idempotent."""

    def database_to_csv(path, orderby='type'):
        """Write 'Name,Type,Value,Description' rows for every registered
        trackable, ordered by that column (name, type, value or
        description; ValueError otherwise)."""

    def to_file(path, precision='%.2g'):
        """Write the original's report: CSV sections States (Name,
        Description, State, Number of Changes), Statistics (Name,
        Description, Total, Average), Timers (Name, Description, Average
        Seconds, Total Seconds, Total Minutes, Total Hours, Total Days)
        and Sequences (Name, Description, Sequence, Number of
        Completions), each a title row, a header row, a row per trackable
        and an empty row. precision (a %-format) formats averages and the
        timers' figures; ValueError for one that is not."""
