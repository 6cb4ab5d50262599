from uuid import UUID

from notices_api.web.preferences import Preferences, PreferencesUnavailableError


class FakePreferencesStore:
    """The notifier's preferences, in memory; ``down`` makes every call fail."""

    def __init__(self) -> None:
        self.saved: dict[UUID, Preferences] = {}
        self.down = False

    def get(self, user_id: UUID) -> Preferences:
        if self.down:
            raise PreferencesUnavailableError("down")
        return self.saved.get(user_id, Preferences())

    def put(self, user_id: UUID, preferences: Preferences) -> None:
        if self.down:
            raise PreferencesUnavailableError("down")
        self.saved[user_id] = preferences
