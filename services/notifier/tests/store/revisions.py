"""The revisions of the package's migrations, as the tests expect `migrate` to report them."""

from alembic.script import ScriptDirectory

from notifier.store.db import MIGRATIONS_DIR

SCRIPTS = ScriptDirectory(str(MIGRATIONS_DIR))
HEAD = SCRIPTS.get_current_head()
# Oldest first, as "<revision> (<message>)".
EVERY_REVISION = tuple(
    f"{script.revision} ({script.doc})" for script in reversed(list(SCRIPTS.walk_revisions()))
)
